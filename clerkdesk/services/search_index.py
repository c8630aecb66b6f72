"""Keeping the household search index in step, and reading it.

Every service that writes a household, a member or a web account calls `reindex` in the same
transaction, so the index never lags; bulk loads call `rebuild` once at the end instead.
"""

import functools
import re
from collections.abc import Iterable, Iterator

from anyascii import anyascii

from clerkdesk.models import Household, Member, SearchToken, WebAccount, database
from clerkdesk.models.search import TOKEN_LENGTH

from .bulk import bulk_insert
from .usernames import username_key

TOKEN_FIELDS = [SearchToken.household, SearchToken.kind, SearchToken.token]

_WORD = re.compile(r"[a-z0-9]+")
_NOT_DIGIT = re.compile(r"\D+")
REBUILD_BATCH = 5_000


def fold(text: str) -> str:
    """Plain lower-case ASCII: "Nguyễn" → "nguyen", "O'Brien" → "o'brien"."""
    text = text or ""
    return (text if text.isascii() else anyascii(text)).lower()


@functools.lru_cache(maxsize=65_536)  # names repeat a lot; folding them is the slow part
def name_tokens(text: str) -> frozenset[str]:
    """Each word, and the words run together ("o'brien" → o, brien, obrien)."""
    words = _WORD.findall(fold(text))
    if len(words) > 1:
        words.append("".join(words))
    return frozenset(words)


def phone_tokens(text: str) -> set[str]:
    """The digits, and their last seven and four, so a local number finds a full one."""
    digits = text if text.isdigit() else _NOT_DIGIT.sub("", text or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) < 4:
        return set()
    return {digits, digits[-7:], digits[-4:]}


def email_tokens(text: str) -> set[str]:
    """The whole address, and its local part with and without punctuation."""
    address = fold(text).strip()
    if not address:
        return set()
    local = address.split("@", 1)[0]
    return {address, local, "".join(_WORD.findall(local))}


@functools.lru_cache(maxsize=65_536)
def _kinded_names(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(("name", word) for word in name_tokens(text))


Person = tuple[str, str, str, str]  # first name, last name, phone, email


def tokens_for(client_id: str, name: str, phone: str, email: str, people: Iterable[Person],
               usernames: Iterable[str], account_emails: Iterable[str] = ()
               ) -> set[tuple[str, str]]:
    """Every (kind, word) a household is found by; `account_emails` are its web accounts'
    own addresses (a login's email when it is not the member's or the household's)."""
    client = fold(client_id).strip()
    tokens = {("client", client), ("client", "".join(_WORD.findall(client)))}
    tokens |= _kinded_names(name)
    tokens.update(("phone", t) for t in phone_tokens(phone))
    tokens.update(("email", t) for t in email_tokens(email))
    for first, last, person_phone, person_email in people:
        tokens |= _kinded_names(first)
        tokens |= _kinded_names(last)
        if person_phone and person_phone != phone:
            tokens.update(("phone", t) for t in phone_tokens(person_phone))
        if person_email and person_email != email:
            tokens.update(("email", t) for t in email_tokens(person_email))
    for username in usernames:
        key = username_key(username)
        tokens.update((("user", key), ("user", "".join(_WORD.findall(fold(key))))))
    for account_email in account_emails:
        if account_email and account_email != email:
            tokens.update(("email", t) for t in email_tokens(account_email))
    return {(kind, token[:TOKEN_LENGTH]) for kind, token in tokens if token}


def household_tokens(household: Household, members: Iterable[Member],
                     accounts: Iterable[WebAccount]) -> set[tuple[str, str]]:
    """The words of a household as stored; `accounts` need their username and email."""
    people = [(m.first_name, m.last_name, m.phone, m.email) for m in members]
    accounts = list(accounts)
    return tokens_for(household.client_id, household.name, household.phone, household.email,
                      people, [a.username for a in accounts], [a.email for a in accounts])


def reindex(household_id: int) -> None:
    """Replace one household's words; call inside the writing service's transaction."""
    SearchToken.delete().where(SearchToken.household == household_id).execute()
    household = Household.get_or_none(Household.id == household_id)
    if household is None:
        return
    members = Member.select().where(Member.household == household_id)
    accounts = WebAccount.select(WebAccount.username, WebAccount.email) \
        .where(WebAccount.household == household_id)
    rows = [(household_id, kind, token)
            for kind, token in household_tokens(household, members, accounts)]
    bulk_insert(SearchToken, TOKEN_FIELDS, rows)


def rebuild(after_id: int = 0) -> int:
    """Index every household with an id above `after_id` (all of them by default)."""
    written = 0
    for households in _batches(after_id):
        with database.atomic():
            reindex_many(households)
        written += len(households)
    return written


def reindex_many(households: list[Household]) -> None:
    """Replace the words of several households at once; inside the caller's transaction."""
    ids = [h.id for h in households]
    members = _group(Member.select().where(Member.household.in_(ids)), "household_id")
    accounts = _group(WebAccount.select(WebAccount.household, WebAccount.username,
                                        WebAccount.email)
                      .where(WebAccount.household.in_(ids)), "household_id")
    rows = [(h.id, kind, token) for h in households
            for kind, token in household_tokens(h, members.get(h.id, []),
                                                accounts.get(h.id, []))]
    SearchToken.delete().where(SearchToken.household.in_(ids)).execute()
    bulk_insert(SearchToken, TOKEN_FIELDS, rows)


def _batches(after_id: int) -> Iterator[list[Household]]:
    last = after_id
    while True:
        batch = list(Household.select().where(Household.id > last).order_by(Household.id)
                     .limit(REBUILD_BATCH))
        if not batch:
            return
        yield batch
        last = batch[-1].id


def _group(rows: Iterable, key: str) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped
