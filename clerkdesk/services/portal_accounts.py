"""Portal Accounts: every web account in one list, filtered and searched, with the actions a
clerk takes on a login from that list (seed 002, Kennel Connection's Manage Clients; seed 003,
the client portal's quick actions).

Paging is by key (the last row seen), never by OFFSET, so page 2,000 costs what page 1 does.
Without search words the list walks the accounts in user-name order through an index made for
each filter. With search words it walks the household search index (names, emails, user
names, client IDs, phones) from the rarest word, or, when the filter is rarer still (a few
locked accounts), walks the filter and checks the words per account. A rare driver word's
index range is read whole once ("range"), a common one a window at a time ("index"); either
way a household is listed once, at its first matching word, and the other words are checked
per household, a chunk at a time. The key names the walk it belongs to, so a page never
switches order half-way. A page stops after reading SCAN_CAP index rows (or accounts of the
filter) even when it is not full -- every row read counts, whether it matched or not; its key
still leads on, so a very broad search with a narrow filter costs several short pages (the
window reads on) instead of one long wait.
"""

import bisect
import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from peewee import JOIN, PostgresqlDatabase, Tuple, fn

from clerkdesk.models import Household, Member, SearchToken, WebAccount, database

from . import audit, case_notes, email_templates, search_index, tokens, web_accounts
from .account_store import RESET, account_by_id, address_of, merge_values, save_account
from .email_delivery import OutgoingEmail, deliver
from .errors import NotFound, ValidationError
from .household_search import search_terms
from .permissions import Permission, require, require_signed_in
from .session import StaffSession
from .settings import get_setting
from .validation import normalise_email

PAGE = 50
MAX_PAGE = 500
COUNT_CAP = 1_000  # a count past this shows as "1,000+"
# Index rows (or candidate households, or accounts of a filter) one page may read before it
# returns what it has; every row read counts, passing or not, so a narrow filter under a
# broad search gives a short page quickly (the window reads on) instead of a long wait.
SCAN_CAP = 5_000
TOKEN_BATCH = 1_500  # index rows per read at most; the first read asks for about a page
RANGE_BATCH = 2_000  # households per check when a rare word's range is already in memory
# A second word with up to this many index rows is read whole once (~15 ms at 60,000), and
# only when it has no more rows than the driver has households: otherwise checking the
# candidates a chunk at a time (one index seek each, and a page usually needs few) is cheaper.
WORD_SET_CAP = 60_000
# Index rows read to tell which walk is shorter: a short count first, a longer one only when
# every candidate is at least that common (as household_search does). A longer last stage
# (60,000) walks "be tr" from the rarer word but counts "ol be" to no use; over the
# benchmark's 200 searches it came out even, so the counts stay short.
BREADTH_STAGES = (1_000, 20_000)
# A driver word with fewer index rows than this is read whole ("range"); reading 20,000 rows
# into Python costs ~25 ms, more than the batches a page usually needs, so past this the
# word is read a window at a time ("index").
RANGE_CAP = 5_000
AFTER_HOUSEHOLD = 2**62  # in a key: every account of that household was listed

# state -> (label for people, the condition on WebAccount)
STATES: dict[str, str] = {
    "all": "All accounts",
    "active": "Active",
    "disabled": "Deactivated",
    "locked": "Locked",
    "not-delivered": "Credentials not delivered",
    "never-signed-in": "Never signed in",
    "must-change": "Must change password",
}


def _condition(state: str):
    """Each of these is answered by its own index in user-name order (models/web_account)."""
    conditions = {
        "all": None,
        "active": WebAccount.status == "active",
        "disabled": WebAccount.status == "disabled",
        "locked": WebAccount.locked == True,  # noqa: E712 -- peewee builds SQL from ==
        "not-delivered": WebAccount.credentials_delivered_at.is_null(),
        "never-signed-in": WebAccount.last_login.is_null(),
        "must-change": WebAccount.must_change == True,  # noqa: E712
    }
    if state not in conditions:
        raise ValidationError("filter", f"“{state}” is not a filter; choose one of "
                              f"{', '.join(STATES)}.")
    return conditions[state]


@dataclass(frozen=True)
class AccountFilter:
    state: str = "all"
    text: str = ""  # household or member name, email, user name (word prefixes)


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    household_id: int
    client_id: str
    household_name: str
    member_id: int | None
    member: str
    email: str
    status: str
    locked: bool
    must_change: bool
    credentials_delivered_at: datetime | None
    last_login: datetime | None

    @property
    def state(self) -> str:
        """One word for the list: Deactivated, Locked or Active."""
        return "Deactivated" if self.status != "active" else "Locked" if self.locked \
            else "Active"


@dataclass(frozen=True)
class AccountPage:
    rows: list[AccountRow]
    next_key: tuple | None  # pass back for the following page; None at the end


@dataclass(frozen=True)
class AccountCount:
    accounts: int
    exact: bool  # False: at least this many (counting stopped at COUNT_CAP)

    def __str__(self) -> str:
        plural = "" if self.accounts == 1 and self.exact else "s"
        return f"{self.accounts:,}{'' if self.exact else '+'} account{plural}"


# --- reading --------------------------------------------------------------------------------

def account_page(actor: StaffSession, account_filter: AccountFilter,
                 after_key: tuple | None = None, size: int = PAGE) -> AccountPage:
    """One page of accounts; `after_key` is the previous page's `next_key`."""
    require_signed_in(actor)
    ids, next_key = _page_ids(account_filter, after_key, max(1, min(int(size), MAX_PAGE)))
    return AccountPage(_rows(ids), next_key)


def count_accounts(actor: StaffSession, account_filter: AccountFilter) -> AccountCount:
    """How many accounts match, counted up to COUNT_CAP."""
    require_signed_in(actor)
    found, key = 0, None
    while True:
        ids, key = _page_ids(account_filter, key, COUNT_CAP + 1 - found)
        found += len(ids)
        if key is None or found > COUNT_CAP:
            return AccountCount(min(found, COUNT_CAP), found <= COUNT_CAP)


def row_for(actor: StaffSession, account_id: int) -> AccountRow | None:
    """One row read afresh, so a window refreshes just the account an action changed."""
    require_signed_in(actor)
    rows = _rows([account_id])
    return rows[0] if rows else None


def household_for_client(actor: StaffSession, client_id: str) -> tuple[int, str]:
    """(household id, name) for a client ID typed by a clerk."""
    require_signed_in(actor)
    text = (client_id or "").strip()[:40]
    household = Household.get_or_none(Household.client_id == text) if text else None
    if household is None:
        raise NotFound(f"There is no household with the client ID “{text}”.")
    return household.id, household.name


def _page_ids(account_filter: AccountFilter, key: tuple | None, size: int
              ) -> tuple[list[int], tuple | None]:
    condition = _condition(account_filter.state)
    terms = search_terms(account_filter.text)
    if key is None:
        key = _first_key(condition, terms)
    elif not _is_key(key, terms):
        raise ValidationError("page", "That page key does not belong to this list; start "
                              "again from the first page.")
    if key[0] == "user":
        return _by_user_name(condition, terms, key, size)
    return _by_search_index(account_filter.state, terms, key, size)


def _is_key(key: object, terms: list[str]) -> bool:
    """Whether `key` is a next_key this list could have given (keys come back from callers)."""
    if not isinstance(key, tuple) or not key:
        return False
    if key[0] == "user":
        return len(key) == 2 and isinstance(key[1], str)
    return (len(key) == 5 and key[0] in ("range", "index") and key[1] in terms
            and isinstance(key[2], str) and all(isinstance(v, int) for v in key[3:]))


def _first_key(condition, terms: list[str]) -> tuple:
    """Which walk this list takes: user-name order through the filter's index, or the search
    index from its rarest word; a word with few index rows is read whole ("range"), a common
    one a batch at a time ("index")."""
    if not terms:
        return ("user", "")
    if len(terms) == 1 and condition is None:  # nothing to choose between: range or index
        whole = min(RANGE_CAP, BREADTH_STAGES[-1])
        return ("range" if _token_breadth(terms[0], whole) < whole else "index", terms[0],
                "", 0, 0)
    breadth: dict[object, int] = {}
    for cap in BREADTH_STAGES:
        breadth = _breadths(condition, terms, cap)
        if min(breadth.values()) < cap:  # the rarest one was counted to its end
            break
    driver = min(breadth, key=breadth.__getitem__)
    if driver is None:
        return ("user", "")
    return ("range" if breadth[driver] < min(RANGE_CAP, cap) else "index", driver, "", 0, 0)


def _breadths(condition, terms: list[str], cap: int) -> dict[object, int]:
    """Index rows per word (and accounts of the filter, keyed None), each counted only up
    to the smallest count so far: past it a word cannot be the rarest, and counting the
    common ones of "maria har" to 20,000 each was a third of such a page's time. Longer
    words first (usually rarer); on a tie the one counted first leads."""
    breadth: dict[object, int] = {}
    for term in sorted(terms, key=len, reverse=True):
        breadth[term] = _token_breadth(term, cap)
        cap = min(cap, breadth[term])
    if condition is not None:
        breadth[None] = _filter_breadth(condition, cap)
    return breadth


def _filter_breadth(condition, cap: int) -> int:
    return WebAccount.select(WebAccount.id).where(condition).limit(cap).count()


def _token_breadth(term: str, cap: int) -> int:
    return SearchToken.select(SearchToken.token).where(_token_range(SearchToken, term)) \
        .limit(cap).count()


def _token_range(token_model, term: str):
    upper = term[:-1] + chr(ord(term[-1]) + 1)
    return (token_model.token >= term) & (token_model.token < upper)


def _household_has_word(household_field, term: str):
    """EXISTS: the household has a word starting with `term` (one seek of its own words).
    On PostgreSQL a prefix test, not a range: see household_search._starts_with."""
    other = SearchToken.alias()
    if isinstance(database.obj, PostgresqlDatabase):
        starts = fn.SUBSTR(other.token, 1, len(term)) == term
    else:
        starts = _token_range(other, term)
    return fn.EXISTS(other.select(other.id).where((other.household == household_field)
                                                  & starts))


def _by_user_name(condition, terms: list[str], key: tuple, size: int
                  ) -> tuple[list[int], tuple | None]:
    """Accounts in user-name order through the filter's index; words checked per account,
    a window of accounts at a time, so a page stops after SCAN_CAP accounts however few
    have the words."""
    query = WebAccount.select(WebAccount.id, WebAccount.username_key)
    if condition is not None:
        query = query.where(condition)
    if not terms:
        found = list(query.where(WebAccount.username_key > key[1])
                     .order_by(WebAccount.username_key).limit(size).tuples())
        next_key = ("user", found[-1][1]) if len(found) == size else None
        return [account_id for account_id, _ in found], next_key
    query = query.select_extend(functools.reduce(operator.and_, [
        _household_has_word(WebAccount.household, term) for term in terms]))
    ids, after, scanned, limit = [], key[1], 0, size + 8
    while scanned < SCAN_CAP:
        limit = min(limit, SCAN_CAP - scanned)
        window = list(_raw(query.where(WebAccount.username_key > after)
                           .order_by(WebAccount.username_key).limit(limit)))
        scanned, before = scanned + len(window), len(ids)
        for account_id, username_key, has_words in window:
            if has_words:
                ids.append(account_id)
                if len(ids) == size:
                    return ids, ("user", username_key)
        if len(window) < limit:
            return ids, None
        after = window[-1][1]
        limit = _next_batch(size - len(ids), (len(ids) - before) / len(window), TOKEN_BATCH)
    return ids, ("user", after)


def _by_search_index(state: str, terms: list[str], key: tuple, size: int
                     ) -> tuple[list[int], tuple | None]:
    """Households in the order of the driver word's index rows, each listed once (at its
    first matching word), and their accounts that pass the filter, in id order."""
    mode, driver, token, household_id, account_id = key
    ids = _accounts_passing(state, [household_id], account_id).get(household_id, []) \
        if token else []
    if len(ids) >= size:
        return ids[:size], (mode, driver, token, household_id, ids[size - 1])
    others = [term for term in terms if term != driver]
    read = _range_reader(driver, others) if mode == "range" else _batch_reader(driver, others)
    most = RANGE_BATCH if mode == "range" else TOKEN_BATCH
    position, scanned = (token, household_id), 0
    batch_size = size - len(ids) + 8  # most households pass: a page's worth first
    while scanned < SCAN_CAP:
        pairs, accounts, position, finished, read_rows = read(
            position, min(batch_size, SCAN_CAP - scanned), state)
        scanned, before = scanned + read_rows, len(ids)
        for word, home in pairs:
            for number, account in enumerate(accounts.get(home, ())):
                ids.append(account)
                if len(ids) == size:
                    last = AFTER_HOUSEHOLD if number == len(accounts[home]) - 1 else account
                    return ids, (mode, driver, word, home, last)
        if finished:
            return ids, None
        batch_size = _next_batch(size - len(ids), (len(ids) - before) / max(read_rows, 1),
                                 most)
    return ids, (mode, driver, *position, AFTER_HOUSEHOLD)


# A reader gives: the (word, household) pairs to list, their accounts that pass the filter,
# the position reached, whether the walk ended, and how many index rows (or candidate
# households) it read to get them -- what SCAN_CAP counts.
Reader = Callable[[tuple, int, str], tuple[list[tuple[str, int]], dict[int, list[int]],
                                           tuple, bool, int]]


def _range_reader(driver: str, others: list[str]) -> Reader:
    """A rare driver word: its whole range is read once (a few thousand index rows, one
    range scan), and each household kept at its first word there."""
    candidates: list[tuple[str, int]] = []
    seen: set[int] = set()
    for word, home in _raw(SearchToken.select(SearchToken.token, SearchToken.household)
                           .where(_token_range(SearchToken, driver))
                           .order_by(SearchToken.token, SearchToken.household)):
        if home not in seen:
            seen.add(home)
            candidates.append((word, home))

    word_sets = {term: _households_with(term, min(len(candidates), WORD_SET_CAP))
                 for term in others}
    common = [term for term, homes in word_sets.items() if homes is None]
    rare = [homes for homes in word_sets.values() if homes is not None]

    def read(position: tuple, limit: int, state: str):
        start = bisect.bisect_right(candidates, position)
        chunk = candidates[start:start + limit]
        homes = [home for _, home in chunk if all(home in having for having in rare)]
        homes = _having_words(homes, common)
        accounts = _accounts_passing(state, homes) if homes else {}
        end = chunk[-1] if chunk else position
        return chunk, accounts, end, start + limit >= len(candidates), len(chunk)

    return read


def _households_with(term: str, cap: int) -> set[int] | None:
    """The households with a word starting with `term`, read in one range scan; None when
    the word has more than `cap` index rows (it is then checked a chunk of households at a
    time)."""
    rows = list(_raw(SearchToken.select(SearchToken.household)
                     .where(_token_range(SearchToken, term)).limit(cap + 1)))
    return None if len(rows) > cap else {home for (home,) in rows}


def _batch_reader(driver: str, others: list[str]) -> Reader:
    """A common driver word: the next `limit` index rows after `position`, then the other
    words for the households among them."""
    def read(position: tuple, limit: int, state: str):
        window = _token_window(driver, position, limit)
        pairs = _once_each(window)
        having = set(_having_words(sorted({home for _, home in pairs}), others))
        pairs = [pair for pair in pairs if pair[1] in having]
        # The filter before the first-match test: under a narrow filter most households
        # drop out here, and need no second look at their words.
        accounts = _accounts_passing(state, sorted({home for _, home in pairs})) \
            if pairs else {}
        kept = _first_matches(driver, [pair for pair in pairs if pair[1] in accounts])
        end = tuple(window[-1]) if window else position
        return kept, accounts, end, len(window) < limit, len(window)

    return read


def _having_words(homes: list[int], others: list[str]) -> list[int]:
    """Those of `homes` that also have a word starting with each of `others`."""
    for term in others:
        if not homes:
            break
        having = {home for (home,) in _for_households(
            'SELECT DISTINCT household_id FROM search_token WHERE household_id IN ({homes}) '
            'AND token >= {mark} AND token < {mark}', homes, _bounds(term))}
        homes = [home for home in homes if home in having]
    return homes


def _next_batch(missing: int, pass_rate: float, most: int) -> int:
    """Enough index rows for the accounts still missing at the pass rate seen so far (a
    narrow filter or a second word lowers it), with a margin; bounded both ways."""
    wanted = missing / max(pass_rate, 0.02) * 1.25 + 8
    return int(min(max(wanted, 16), most))


# The filters again, tested in Python on (status, locked, must change, not delivered,
# never signed in): given the filter in SQL next to "household IN (…)", SQLite walks the
# filter's index (30,000 deactivated accounts) instead of the households' few, 100× slower.
_PASSES = {
    "all": lambda row: True,
    "active": lambda row: row[0] == "active",
    "disabled": lambda row: row[0] == "disabled",
    "locked": lambda row: bool(row[1]),
    "must-change": lambda row: bool(row[2]),
    "not-delivered": lambda row: bool(row[3]),
    "never-signed-in": lambda row: bool(row[4]),
}


def _raw(query) -> Iterable[tuple]:
    """The rows as the driver gives them: peewee's per-value conversion cost more than the
    query itself on the thousands of index rows a search reads."""
    return database.execute(query)


def _for_households(sql: str, homes: list[int], params: list) -> Iterable[tuple]:
    """`sql` with {homes} as an IN list of `homes` and {mark} placeholders for `params`.
    Written out because peewee builds an IN list of 2,000 ids in ~30 ms, the query's own
    time ten times over; only ids and bound values go in, never text typed by anyone."""
    mark = database.obj.param
    text = sql.format(homes=", ".join([mark] * len(homes)), mark=mark)
    return database.execute_sql(text, [*homes, *params])


def _bounds(term: str) -> list[str]:
    return [term, term[:-1] + chr(ord(term[-1]) + 1)]


def _accounts_passing(state: str, homes: list[int], after_account: int = 0
                      ) -> dict[int, list[int]]:
    """Each household's accounts that pass the filter, in id order."""
    passes = _PASSES[state]
    accounts: dict[int, list[int]] = {}
    for home, account, *flags in _for_households(
            "SELECT household_id, id, status, locked, must_change, "
            "credentials_delivered_at IS NULL, last_login IS NULL FROM web_account "
            "WHERE household_id IN ({homes}) AND id > {mark} ORDER BY household_id, id",
            homes, [after_account]):
        if passes(flags):
            accounts.setdefault(home, []).append(account)
    return accounts


def _token_window(driver: str, position: tuple, limit: int) -> list[tuple]:
    """The next `limit` (word, household) index rows of the driver's range after
    `position`. The other words are checked afterwards, once per household and in household
    order (`_having_words`): a household has several words in a range, and an EXISTS per
    index row probed each of them, in random order, once per row."""
    # The row-value test alone is a filter to SQLite, not where its index range starts; the
    # plain lower bound starts the range at the last word seen, however deep the page.
    start, upper = max(driver, position[0]), driver[:-1] + chr(ord(driver[-1]) + 1)
    query = (SearchToken.select(SearchToken.token, SearchToken.household)
             .where((SearchToken.token >= start) & (SearchToken.token < upper)
                    & (Tuple(SearchToken.token, SearchToken.household) > Tuple(*position)))
             .order_by(SearchToken.token, SearchToken.household).limit(limit))
    return list(_raw(query))


def _once_each(window: list[tuple]) -> list[tuple[str, int]]:
    """The window's (word, household) pairs; a word listed under two kinds (its index rows
    are neighbours) comes back once. The rows are the driver's tuples, so a dict drops the
    repeats in C, in order (a Python loop comparing neighbours cost ~1.5 µs a row)."""
    return list(dict.fromkeys(window))


def _first_matches(driver: str, batch: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (word, household) pairs where that word is the household's first match. Skipping
    the later matches is what keeps a household matching "smith" and "smithers" off two
    pages."""
    if not batch:
        return []
    homes = sorted({home for _, home in batch})
    first = dict(_for_households(
        "SELECT household_id, MIN(token) FROM search_token WHERE household_id IN ({homes}) "
        "AND token >= {mark} AND token < {mark} GROUP BY household_id", homes,
        _bounds(driver)))
    return [(word, home) for word, home in batch if first.get(home) == word]


def _rows(ids: list[int]) -> list[AccountRow]:
    """The rows for `ids`, in that order: plain tuples, a page costs three queries."""
    if not ids:
        return []
    found = {row[0]: row for row in (
        WebAccount.select(WebAccount.id, WebAccount.username, WebAccount.household,
                          Household.client_id, Household.name, WebAccount.member,
                          Member.first_name, Member.last_name, WebAccount.email, Member.email,
                          Household.email, WebAccount.status, WebAccount.locked,
                          WebAccount.must_change, WebAccount.credentials_delivered_at,
                          WebAccount.last_login)
        .join(Household).switch(WebAccount)
        .join(Member, JOIN.LEFT_OUTER, on=(WebAccount.member == Member.id))
        .where(WebAccount.id.in_(ids)).tuples())}
    primaries = _primary_members({row[2] for row in found.values() if row[5] is None})
    return [_row(found[i], primaries) for i in ids if i in found]


def _primary_members(household_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    if not household_ids:
        return names
    for home, first, last in (Member.select(Member.household, Member.first_name,
                                            Member.last_name)
                              .where(Member.household.in_(sorted(household_ids)))
                              .order_by(Member.household, Member.is_primary.desc(), Member.id)
                              .tuples()):
        names.setdefault(home, _person(first, last))
    return names


def _person(first: str | None, last: str | None) -> str:
    return f"{last or ''}, {first or ''}".strip(", ")


def _row(row: tuple, primaries: dict[int, str]) -> AccountRow:
    (account_id, username, home, client_id, name, member_id, first, last, own_email,
     member_email, household_email, status, locked, must_change, delivered, last_login) = row
    person = _person(first, last) if member_id is not None else primaries.get(home, "")
    # Where its mail goes, as account_store.address_of decides it.
    email = own_email or (member_email if member_id is not None else "") or household_email
    return AccountRow(account_id, username, home, client_id, name, member_id, person,
                      email or "", status, bool(locked), bool(must_change), delivered,
                      last_login)


# --- actions --------------------------------------------------------------------------------

def change_email(actor: StaffSession, account_id: int, email: str) -> AccountRow:
    """Set the address this login's mail goes to (a typo at sign-up, a new address). Empty
    means "use the member's or the household's address"."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    address = normalise_email("email", email) if (email or "").strip() else ""
    with database.atomic():
        account = account_by_id(account_id)
        old = account.email
        if address == old:
            return _fresh_row(account.id)
        account.email = address
        save_account(account)
        search_index.reindex(account.household_id)  # found by its own address, not the old
        audit.record(actor, "web_account.set_email", "web_account", account.id,
                     account.household_id, old=old, new=address)
        case_notes.add_system_note(
            account.household_id, "Web account",
            f"Email address of web account “{account.username}” changed from "
            f"“{old or 'the household’s'}” to “{address or 'the household’s'}” by "
            f"{actor.label}.", actor)
    return _fresh_row(account_id)


def set_active(actor: StaffSession, account_id: int, active: bool) -> AccountRow:
    """Activate, or deactivate so the household cannot sign in (the login stays)."""
    web_accounts.set_account_active(actor, account_id, bool(active))
    return _fresh_row(account_id)


def send_reset_email(actor: StaffSession, account_id: int) -> str:
    """Email a single-use password-reset link, as the portal's Forgot password does; returns
    the address. Nothing on the account changes until the household uses the link."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    account = account_by_id(account_id)
    if account.status != "active":
        raise ValidationError("status", "This account is deactivated; activate it first, or "
                              "the household could not sign in after resetting.")
    address = address_of(account)
    if not address:
        raise ValidationError("email", "This account has no email address; add one first.")
    portal_url = str(get_setting("portal.url")).rstrip("/")
    if not portal_url:
        raise ValidationError("portal.url", "The portal address is not set (Settings → "
                              "Portal), so a reset link cannot be made.")
    minutes = int(get_setting("security.reset_token_minutes"))
    with database.atomic():
        secret = tokens.issue(RESET, timedelta(minutes=minutes), account_id=account.id)
        link = f"{portal_url}/reset?{urlencode({'token': secret})}"
        subject, body = email_templates.render(
            email_templates.get_template(email_templates.PASSWORD_RESET),
            merge_values(account, ResetLink=link))
        audit.record(actor, "web_account.send_reset", "web_account", account.id,
                     account.household_id, address=address)
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"A password reset link was emailed to {address} by "
                                   f"{actor.label}.", actor)
        deliver([OutgoingEmail(address, subject, body)])  # a failure rolls all of it back
    return address


def create_client_password(actor: StaffSession, account_id: int) -> str:
    """Seed 003, "Create your client's password": mint one, store only its hash with
    must-change set, and return it once for the clerk to show. Audited, never logged."""
    return web_accounts.issue_temporary_password(actor, account_id)


def email_client_password(actor: StaffSession, account_id: int, password: str
                          ) -> web_accounts.CredentialEmailResult:
    """Email the password just created (and the user name) through the credentials emails."""
    return web_accounts.email_credentials(actor, account_id, password, password)


def delete_portal_account(actor: StaffSession, account_id: int) -> str:
    """Remove the login; the household record stays. Returns the household's name."""
    account = account_by_id(account_id)
    name = account.household.name
    web_accounts.delete_account(actor, account_id)
    return name


def _fresh_row(account_id: int) -> AccountRow:
    rows = _rows([account_id])
    if not rows:
        raise NotFound("That web account does not exist (any more). Reload and try again.")
    return rows[0]
