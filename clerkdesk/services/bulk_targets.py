"""Who a bulk assign is for: the scope as households in id order, a batch at a time, each
turned into the people (the primary member, or every member) who get a login.

Batches always end on a household boundary, so "the last household done" is all a run
needs to resume exactly where it stopped.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from peewee import fn

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
    homes = {h.id: h for h in Household.select().where(Household.id.in_(ids))}
    members: dict[int, list[Member]] = {}
    for member in (Member.select().where(Member.household.in_(ids))
                   .order_by(Member.household, Member.is_primary.desc(), Member.id)):
        members.setdefault(member.household_id, []).append(member)
    accounts: dict[tuple[int, int | None], ExistingAccount] = {}
    for account in (WebAccount.select().where(WebAccount.household.in_(ids))
                    .order_by(WebAccount.id.desc())):
        owner = account.member_id if every_member else None
        accounts[(account.household_id, owner)] = ExistingAccount(
            account.id, account.username, account.username_key, account.last_login is not None)
    targets = []
    for household_id in ids:
        home, people = homes[household_id], members.get(household_id, [])
        chosen = people if every_member else people[:1] or [None]
        for member in chosen:
            member_id = member.id if member is not None and every_member else None
            targets.append(_target(home, member, member_id, accounts.get((home.id, member_id))))
    return targets


def _target(home: Household, member: Member | None, member_id: int | None,
            existing: ExistingAccount | None) -> Target:
    email = (member.email if member is not None and member.email else "") or home.email
    phone = (member.phone_digits if member is not None and member.phone_digits else "") \
        or home.phone_digits
    birth = member.birth_date.strftime("%Y%m%d") if member and member.birth_date else ""
    return Target(home.id, member_id, home.client_id, home.name,
                  member.first_name if member else "", member.last_name if member else "",
                  email, phone, home.postal_code, birth, existing)


def suspected_duplicates() -> dict[int, int]:
    """{household id: the earlier household it looks like}: the same name with the same
    email (in any case) or the same phone digits — a family entered twice."""
    found: dict[int, int] = {}
    for key in (fn.LOWER(Household.email), Household.phone_digits):
        groups = (Household.select(fn.MIN(Household.id), fn.LOWER(Household.name), key)
                  .where((Household.status == "active") & (key != ""))
                  .group_by(fn.LOWER(Household.name), key)
                  .having(fn.COUNT(Household.id) > 1))
        for first_id, name, value in groups.tuples():
            twins = (Household.select(Household.id)
                     .where((Household.status == "active") & (fn.LOWER(Household.name) == name)
                            & (key == value) & (Household.id != first_id)))
            for (twin,) in twins.tuples():
                found[twin] = min(found.get(twin, first_id), first_id)
    return found
