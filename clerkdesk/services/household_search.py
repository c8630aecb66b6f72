"""Finding a household while the customer waits: search-as-you-type over names, client ID,
phone (any format), email and web user name, a page at a time.

Each word typed must match the start of one of the household's words. Exact client-ID and
user-name hits come first; the rest follow in the order of the word they matched, which is
the order of the index itself, so a page costs a few index probes however many match.
Paging is by key (the last row seen), never by OFFSET.
"""

import re
from dataclasses import dataclass

from peewee import PostgresqlDatabase, Tuple, fn

from clerkdesk.models import Household, Member, SearchToken, WebAccount, database

from .permissions import require_signed_in
from .search_index import fold
from .session import StaffSession
from .usernames import username_key

PAGE = 50
COUNT_CAP = 10_000
SCAN_CAP = 20_000  # index rows a count may read; past it the count is "at least"
# Index rows read per word to find the rarest one: a short count first, a longer one when
# every word is at least that common, so "ja niem" walks niem's 1,200 rows, not ja's 93,000.
BREADTH_STAGES = (1_000, 25_000)
MAX_QUERY_LENGTH = 200
_PHONE_LIKE = re.compile(r"^[\d()+\-.\s]+$")
_KEEP = re.compile(r"[^a-z0-9@._+-]")


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    client_id: str
    name: str
    primary_member: str
    phone: str
    email: str
    usernames: str
    status: str


@dataclass(frozen=True)
class MatchCount:
    households: int
    exact: bool  # False: at least this many (the count stopped early)

    def __str__(self) -> str:
        plural = "" if self.households == 1 and self.exact else "s"
        return f"{self.households:,}{'' if self.exact else '+'} household{plural}"


@dataclass(frozen=True)
class SearchPage:
    rows: list[HouseholdRow]
    next_key: tuple | None  # pass back to get the following page; None at the end


def search_terms(query: str) -> list[str]:
    """The words to look up: folded to plain lower case; a phone number becomes its digits."""
    text = (query or "")[:MAX_QUERY_LENGTH].strip()
    if not text:
        return []
    if _PHONE_LIKE.match(text) and sum(c.isdigit() for c in text) >= 4:
        digits = re.sub(r"\D", "", text)
        return [digits[1:] if len(digits) == 11 and digits.startswith("1") else digits]
    terms = []
    for word in text.split():
        folded = fold(word)
        term = folded if "@" in folded else re.sub(r"[^a-z0-9]", "", folded)
        term = _KEEP.sub("", term)
        if term:
            terms.append(term)
    return terms


def search(actor: StaffSession, query: str, after: tuple | None = None,
           limit: int = PAGE) -> SearchPage:
    """One page of matches; `after` is the previous page's `next_key`."""
    require_signed_in(actor)
    limit = max(1, min(int(limit), 500))
    terms = search_terms(query)
    if not terms:
        return _browse(after, limit)
    exact = _exact_hits(terms) if after is None else []
    ids, next_key = _prefix_hits(terms, after, limit, skip=set(exact))
    return SearchPage(_rows(exact + ids), next_key)


def count_matches(actor: StaffSession, query: str) -> MatchCount:
    """How many households match; a very broad search stops counting early."""
    require_signed_in(actor)
    terms = search_terms(query)
    if not terms:
        found = Household.select(Household.id).limit(COUNT_CAP + 1).count()
        return MatchCount(min(found, COUNT_CAP), found <= COUNT_CAP)
    scanned = _matching(terms).select(SearchToken.household).limit(SCAN_CAP)
    rows = [row.household_id for row in scanned]
    return MatchCount(len(set(rows)), len(rows) < SCAN_CAP)


def _range(term: str):
    upper = term[:-1] + chr(ord(term[-1]) + 1)
    return (SearchToken.token >= term) & (SearchToken.token < upper)


def _matching(terms: list[str]):
    """Tokens matching the most selective term, for households matching all the terms."""
    driver, *others = _rarest_first(terms) if len(terms) > 1 else terms
    query = SearchToken.select().where(_range(driver))
    for term in others:
        other = SearchToken.alias()
        query = query.where(fn.EXISTS(
            other.select(other.id).where((other.household == SearchToken.household)
                                         & _starts_with(other.token, term))))
    return query


def _starts_with(token, term: str):
    """Whether a candidate household's word starts with `term`, checked by its own words.
    On PostgreSQL the range form would let the planner, which estimates a short prefix
    range at one row, scan the whole range once per candidate (seconds); a prefix test on
    the household's few words cannot go that way."""
    if isinstance(database.obj, PostgresqlDatabase):
        return fn.SUBSTR(token, 1, len(term)) == term
    return (token >= term) & (token < term[:-1] + chr(ord(term[-1]) + 1))


def _rarest_first(terms: list[str]) -> list[str]:
    for cap in BREADTH_STAGES:
        breadth = {term: _breadth(term, cap) for term in terms}
        if min(breadth.values()) < cap:  # the rarest one was counted to the end
            break
    return sorted(terms, key=breadth.__getitem__)


def _breadth(term: str, cap: int) -> int:
    """How many index rows start with `term`, counted up to `cap`."""
    return SearchToken.select(SearchToken.token).where(_range(term)).limit(cap).count()


def _exact_hits(terms: list[str]) -> list[int]:
    if len(terms) != 1:
        return []
    term = terms[0]
    keys = {term, username_key(term)}
    query = (SearchToken.select(SearchToken.household).distinct()
             .where(SearchToken.kind.in_(("client", "user")) & SearchToken.token.in_(keys)))
    return [row.household_id for row in query.limit(20)]


def _prefix_hits(terms: list[str], after: tuple | None, limit: int,
                 skip: set[int]) -> tuple[list[int], tuple | None]:
    """Walk the index from `after`; a household matching twice is listed once per page."""
    ids: list[int] = []
    seen, key = set(skip), after
    while True:
        query = _matching(terms).select(SearchToken.token, SearchToken.household)
        if key is not None:
            query = query.where(Tuple(SearchToken.token, SearchToken.household) > Tuple(*key))
        batch = list(query.order_by(SearchToken.token, SearchToken.household)
                     .limit(limit * 2).tuples())
        for token, household_id in batch:
            key = (token, household_id)
            if household_id in seen:
                continue
            seen.add(household_id)
            ids.append(household_id)
            if len(ids) == limit:
                return ids, key
        if len(batch) < limit * 2:
            return ids, None


def _browse(after: tuple | None, limit: int) -> SearchPage:
    """No search words: every household in name order."""
    query = Household.select(Household.id, Household.name)
    if after is not None:
        query = query.where(Tuple(Household.name, Household.id) > Tuple(*after))
    found = list(query.order_by(Household.name, Household.id).limit(limit).tuples())
    next_key = (found[-1][1], found[-1][0]) if len(found) == limit else None
    return SearchPage(_rows([hid for hid, _ in found]), next_key)


def _rows(ids: list[int]) -> list[HouseholdRow]:
    """The rows for `ids`, in that order. Plain tuples: building model objects for a page
    cost more than the search itself."""
    if not ids:
        return []
    households = {row[0]: row for row in Household.select(
        Household.id, Household.client_id, Household.name, Household.phone, Household.email,
        Household.status).where(Household.id.in_(ids)).tuples()}
    primaries: dict[int, str] = {}
    for household_id, first, last in (
            Member.select(Member.household, Member.first_name, Member.last_name)
            .where(Member.household.in_(ids))
            .order_by(Member.household, Member.is_primary.desc(), Member.id).tuples()):
        primaries.setdefault(household_id, f"{last}, {first}".strip(", "))
    names: dict[int, list[str]] = {}
    for household_id, username in (WebAccount.select(WebAccount.household, WebAccount.username)
                                   .where(WebAccount.household.in_(ids))
                                   .order_by(WebAccount.id).tuples()):
        names.setdefault(household_id, []).append(username)
    return [_row(households[i], primaries.get(i, ""), names.get(i, [])) for i in ids
            if i in households]


def _row(household: tuple, person: str, usernames: list[str]) -> HouseholdRow:
    household_id, client_id, name, phone, email, status = household
    return HouseholdRow(household_id, client_id, name, person, phone, email,
                        ", ".join(usernames), status)


def row_for(actor: StaffSession, household_id: int) -> HouseholdRow | None:
    """One result row read afresh, so a window can refresh just the household that changed."""
    require_signed_in(actor)
    rows = _rows([household_id])
    return rows[0] if rows else None
