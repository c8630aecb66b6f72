"""Who a bulk assign is for: the scope as households in id order, a batch at a time, each
turned into the people (the primary member, or every member) who get a login.

Batches always end on a household boundary, so "the last household done" is all a run
needs to resume exactly where it stopped.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from peewee import SQL, fn

from clerkdesk.models import BulkAssignItem, Household, Member, Pass, PassType, WebAccount

from .errors import ValidationError

SCOPES = ("all", "without-account", "pass-holders")
ACTIVE_PASS_STATUSES = ("Actv-New", "Actv-Renew")


@dataclass(frozen=True)
class Scope:
    kind: str = "without-account"
    pass_types: tuple[str, ...] = ()  # codes, for "pass-holders"
    every_member: bool = False
    retry_of: int | None = None  # only the households of that run's exceptions

    def check(self) -> None:
        if self.kind not in SCOPES:
            raise ValidationError("scope", f"The scope is one of {', '.join(SCOPES)}.")
        if self.kind == "pass-holders" and not self.pass_types:
            raise ValidationError("pass types", "Choose at least one pass type.")
        known = {code for (code,) in PassType.select(PassType.code).tuples()}
        unknown = [code for code in self.pass_types if code not in known]
        if unknown:
            raise ValidationError("pass types", f"Unknown pass type: {', '.join(unknown)}.")


@dataclass(frozen=True)
class ExistingAccount:
    id: int
    username: str
    username_key: str
    used: bool  # signed in at least once: a live login


@dataclass(frozen=True)
class Target:
    household_id: int
    member_id: int | None  # None: the household's own login (primary member only)
    client_id: str
    household_name: str
    first: str
    last: str
    email: str
    phone: str  # digits
    postal: str
    birth: str  # YYYYMMDD or ""
    existing: ExistingAccount | None

    @property
    def person(self) -> str:
        return f"{self.first} {self.last}".strip() or self.household_name


def pass_type_choices() -> list[tuple[str, str]]:
    """(code, description) of every pass type, for choosing the pass-holder scope."""
    return list(PassType.select(PassType.code, PassType.description)
                .order_by(PassType.code).tuples())


def households_in_scope(scope: Scope):
    """The active households the scope covers, as a query of ids."""
    query = Household.select(Household.id).where(Household.status == "active")
    if scope.kind == "without-account" and not scope.every_member:
        query = query.where(~fn.EXISTS(WebAccount.select(WebAccount.id)
                                       .where(WebAccount.household == Household.id)))
    if scope.kind == "pass-holders":
        query = query.where(fn.EXISTS(
            Pass.select(Pass.id).join(PassType)
            .where((Pass.household == Household.id) & PassType.code.in_(scope.pass_types)
                   & Pass.status.in_(ACTIVE_PASS_STATUSES)
                   & (Pass.expiration_date >= date.today()))))
    if scope.retry_of is not None:
        query = query.where(Household.id.in_(
            BulkAssignItem.select(BulkAssignItem.household)
            .where((BulkAssignItem.run == scope.retry_of)
                   & (BulkAssignItem.outcome == "exception"))))
    return query


def count_households(scope: Scope) -> int:
    return households_in_scope(scope).count()


def batches(scope: Scope, after_household: int, size: int) -> Iterator[tuple[int, list[Target]]]:
    """(last household id of the batch, its targets) in household order."""
    last = after_household
    while True:
        ids = [hid for (hid,) in households_in_scope(scope).where(Household.id > last)
               .order_by(Household.id).limit(size).tuples()]
        if not ids:
            return
        last = ids[-1]
        yield last, _targets(ids, scope.every_member)


def _targets(ids: list[int], every_member: bool) -> list[Target]:
    """Plain tuples, not model objects: building those cost more than the queries."""
    homes = {row[0]: row for row in Household.select(
        Household.id, Household.client_id, Household.name, Household.email,
        Household.phone_digits, Household.postal_code).where(Household.id.in_(ids)).tuples()}
    members: dict[int, list[tuple]] = {}
    for row in (Member.select(Member.household, Member.id, Member.first_name, Member.last_name,
                              Member.email, Member.phone_digits, Member.birth_date)
                .where(Member.household.in_(ids))
                .order_by(Member.household, Member.is_primary.desc(), Member.id).tuples()):
        members.setdefault(row[0], []).append(row)
    accounts = _existing_accounts(ids, every_member)
    targets = []
    for household_id in ids:
        people = members.get(household_id, [])
        for person in (people if every_member else people[:1] or [None]):
            member_id = person[1] if person is not None and every_member else None
            targets.append(_target(homes[household_id], person, member_id,
                                   accounts.get((household_id, member_id))))
    return targets


def _existing_accounts(ids: list[int], every_member: bool
                       ) -> dict[tuple[int, int | None], ExistingAccount]:
    accounts: dict[tuple[int, int | None], ExistingAccount] = {}
    for account_id, household_id, member_id, username, key, last_login in (
            WebAccount.select(WebAccount.id, WebAccount.household, WebAccount.member,
                              WebAccount.username, WebAccount.username_key,
                              WebAccount.last_login)
            .where(WebAccount.household.in_(ids)).order_by(WebAccount.id.desc()).tuples()):
        owner = member_id if every_member else None
        accounts[(household_id, owner)] = ExistingAccount(account_id, username, key,
                                                          last_login is not None)
    return accounts


def _target(home: tuple, person: tuple | None, member_id: int | None,
            existing: ExistingAccount | None) -> Target:
    household_id, client_id, name, home_email, home_phone, postal = home
    _, _, first, last, email, phone, birth = person or (0, 0, "", "", "", "", None)
    return Target(household_id, member_id, client_id, name, first, last,
                  email or home_email, phone or home_phone, postal,
                  _birth_text(birth), existing)


def _birth_text(birth: object) -> str:
    """YYYYMMDD; SQLite hands a date back as text, PostgreSQL as a date."""
    return str(birth).replace("-", "")[:8] if birth else ""


def suspected_duplicates() -> dict[int, int]:
    """{household id: the earlier household it looks like}: the same name with the same
    email (in any case) or the same phone digits — a family entered twice. One sorted pass
    per rule (a window function), whatever the number of households."""
    found: dict[int, int] = {}
    for key in (fn.LOWER(Household.email), Household.phone_digits):
        first = fn.MIN(Household.id).over(partition_by=[fn.LOWER(Household.name), key])
        grouped = (Household.select(Household.id.alias("id"), first.alias("first_id"))
                   .where((Household.status == "active") & (key != "")))
        twins = (Household.select(SQL("twin.id"), SQL("twin.first_id"))
                 .from_(grouped.alias("twin"))
                 .where(SQL("twin.id <> twin.first_id")))
        for twin, first_id in twins.tuples():
            found[twin] = min(found.get(twin, first_id), first_id)
    return found
