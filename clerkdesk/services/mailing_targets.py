"""Who a mailing is for: pass holders chosen by pass type, date range and status, one per
household or every member, narrowed by the state of their web login and by earlier mailings.

Recipients are read in household order a batch at a time, as plain values, so a mailing to
100,000 households never holds them all in memory.
"""

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date

import phonenumbers
from peewee import fn

from clerkdesk.models import (
    PASS_STATUSES,
    CommunicationHistory,
    HistoryCategory,
    Household,
    Mailing,
    Member,
    Pass,
    PassType,
    WebAccount,
)

from .errors import ValidationError
from .settings import get_setting
from .validation import is_valid_email

DATE_OPTIONS = ("expiration", "start")
ACCOUNT_STATES = {
    "any": "Any household",
    "has-account": "Has a web account",
    "not-delivered": "Credentials not yet delivered",
    "never-signed-in": "Never signed in",
    "no-account": "Has no web account",
}
HISTORY_RULES = ("skip", "include")
MAX_HIGHLIGHTED = 100_000


@dataclass(frozen=True)
class Targeting:
    pass_types: tuple[str, ...] = ()  # codes; none means every active household
    date_option: str = "expiration"
    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] = ("Actv-New", "Actv-Renew")
    every_member: bool = False  # the seed's match option: Unique HH, or every member
    account_state: str = "any"
    history_categories: tuple[str, ...] = ()  # codes of earlier mailings' categories
    history_rule: str = "skip"
    household_ids: tuple[int, ...] = ()  # "highlighted only": just these households

    def check(self) -> None:
        """A clear message for the first thing wrong; nothing is looked up twice."""
        _one_of("date option", self.date_option, DATE_OPTIONS)
        _one_of("web account state", self.account_state, tuple(ACCOUNT_STATES))
        _one_of("history rule", self.history_rule, HISTORY_RULES)
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError("date range", "The date range ends before it starts.")
        if self.pass_types and not self.statuses:
            raise ValidationError("statuses", "Choose at least one pass status.")
        unknown = [s for s in self.statuses if s not in PASS_STATUSES]
        if unknown:
            raise ValidationError("statuses", f"Unknown pass status “{unknown[0][:40]}”; the "
                                  f"statuses are {', '.join(PASS_STATUSES)}.")
        _known_codes("pass type", self.pass_types, PassType)
        _known_codes("history category", self.history_categories, HistoryCategory)
        if len(self.household_ids) > MAX_HIGHLIGHTED:
            raise ValidationError("highlighted", "Highlight fewer households, or process all.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Targeting":
        values = json.loads(text)
        for key in ("date_from", "date_to"):
            values[key] = date.fromisoformat(values[key]) if values.get(key) else None
        for key in ("pass_types", "statuses", "history_categories", "household_ids"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


@dataclass(frozen=True)
class Recipient:
    household_id: int
    member_id: int | None  # None: the household as a whole (Unique HH)
    client_id: str
    household_name: str
    first: str
    last: str
    city: str
    region: str
    postal: str
    email: str
    email_ok: bool
    phone: str  # E.164, or "" when there is none that can take a text
    account_id: int | None
    web_id: str
    owner_password: bool  # the household chose its own password
    delivered: bool  # credentials went out before
    signed_in: bool

    @property
    def person(self) -> str:
        return f"{self.first} {self.last}".strip() or self.household_name


def households(targeting: Targeting):
    """The active households targeted, as a query of ids."""
    query = Household.select(Household.id).where(Household.status == "active")
    if targeting.pass_types:
        query = query.where(fn.EXISTS(_passes(targeting)))
    query = _by_account_state(query, targeting.account_state)
    if targeting.history_categories:
        earlier = (CommunicationHistory.select(CommunicationHistory.household)
                   .join(Mailing).join(HistoryCategory)
                   .where(HistoryCategory.code.in_(targeting.history_categories)
                          & ~Mailing.rehearsal))
        wanted = Household.id.in_(earlier)
        query = query.where(wanted if targeting.history_rule == "include" else ~wanted)
    if targeting.household_ids:
        query = query.where(Household.id.in_(list(targeting.household_ids)))
    return query


def count(targeting: Targeting) -> int:
    """How many recipients: households, or their members when every member is chosen."""
    if targeting.every_member:
        return Member.select().where(Member.household.in_(households(targeting))).count()
    return households(targeting).count()


def batches(targeting: Targeting, size: int = 500, after_household: int = 0
            ) -> Iterator[list[Recipient]]:
    """The recipients in household order, `size` households at a time."""
    last = after_household
    region = str(get_setting("phone.region"))
    while True:
        ids = [hid for (hid,) in households(targeting).where(Household.id > last)
               .order_by(Household.id).limit(size).tuples()]
        if not ids:
            return
        last = ids[-1]
        yield _recipients(ids, targeting.every_member, region)


def page(targeting: Targeting, after_household: int, size: int) -> list[Recipient]:
    """One page of the records browser, after the last household already shown."""
    return next(batches(targeting, size, after_household), [])


def _passes(targeting: Targeting):
    column = Pass.expiration_date if targeting.date_option == "expiration" else Pass.start_date
    wanted = ((Pass.household == Household.id) & PassType.code.in_(targeting.pass_types)
              & Pass.status.in_(targeting.statuses))
    if targeting.date_from:
        wanted &= column >= targeting.date_from
    if targeting.date_to:
        wanted &= column <= targeting.date_to
    return Pass.select(Pass.id).join(PassType).where(wanted)


def _by_account_state(query, state: str):
    accounts = WebAccount.select(WebAccount.id).where(WebAccount.household == Household.id)
    narrowing = {
        "has-account": fn.EXISTS(accounts.where(WebAccount.status == "active")),
        "not-delivered": fn.EXISTS(accounts.where(WebAccount.credentials_delivered_at.is_null())),
        "never-signed-in": fn.EXISTS(accounts.where(WebAccount.last_login.is_null())),
        "no-account": ~fn.EXISTS(accounts),
    }
    return query.where(narrowing[state]) if state in narrowing else query


def _recipients(ids: list[int], every_member: bool, region: str) -> list[Recipient]:
    homes = {row[0]: row for row in Household.select(
        Household.id, Household.client_id, Household.name, Household.city, Household.region,
        Household.postal_code, Household.email, Household.phone_digits)
        .where(Household.id.in_(ids)).tuples()}
    people: dict[int, list[tuple]] = {}
    for row in (Member.select(Member.household, Member.id, Member.first_name, Member.last_name,
                              Member.email, Member.phone_digits)
                .where(Member.household.in_(ids))
                .order_by(Member.household, Member.is_primary.desc(), Member.id).tuples()):
        people.setdefault(row[0], []).append(row)
    logins = _logins(ids)
    found = []
    for household_id in ids:
        members = people.get(household_id) or [None]
        for person in (members if every_member else members[:1]):
            found.append(_recipient(homes[household_id], person, every_member, logins, region))
    return found


def _logins(ids: list[int]) -> dict[tuple[int, int | None], tuple]:
    """(household, member) → its earliest login's fields; (household, None) → the
    household's own login: its earliest one without a member, else its earliest."""
    found: dict[tuple[int, int | None], tuple] = {}
    by_household: dict[int, list[tuple]] = {}
    for row in (WebAccount.select(WebAccount.household, WebAccount.member, WebAccount.id,
                                  WebAccount.username, WebAccount.email,
                                  WebAccount.password_source,
                                  WebAccount.credentials_delivered_at, WebAccount.last_login)
                .where(WebAccount.household.in_(ids)).order_by(WebAccount.id).tuples()):
        found.setdefault((row[0], row[1]), row)
        by_household.setdefault(row[0], []).append(row)
    for household_id, rows in by_household.items():
        found[(household_id, None)] = next((r for r in rows if r[1] is None), rows[0])
    return found


def _recipient(home: tuple, person: tuple | None, every_member: bool,
               logins: dict, region: str) -> Recipient:
    household_id, client_id, name, city, state, postal, home_email, home_phone = home
    member_id, first, last, email, phone = person[1:] if person else (None, "", "", "", "")
    login = (logins.get((household_id, member_id)) if every_member else None) \
        or logins.get((household_id, None))
    address = (login[4] if login and login[4] else "") or email or home_email
    return Recipient(
        household_id, member_id if every_member else None, client_id, name, first, last,
        city, state, postal, address, bool(address) and is_valid_email(address),
        text_number(phone or home_phone, region),
        login[2] if login else None, login[3] if login else "",
        bool(login) and login[5] == "owner", bool(login) and login[6] is not None,
        bool(login) and login[7] is not None)


def text_number(digits: str, region: str) -> str:
    """The number in E.164 form when it could take a text message, else ""."""
    if not digits:
        return ""
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _one_of(label: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationError(label, f"The {label} is one of {', '.join(allowed)}, "
                              f"not “{str(value)[:40]}”.")


def _known_codes(label: str, codes: tuple[str, ...], model) -> None:
    if not codes:
        return
    known = {code for (code,) in model.select(model.code).where(model.code.in_(codes)).tuples()}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(label, f"Unknown {label} “{str(unknown[0])[:40]}”.")
