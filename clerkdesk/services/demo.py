"""Demo households: realistic, awkward on purpose, and the same for the same seed and date.

Faker fills small pools of names and addresses once; a seeded `random.Random` then samples
from them, so a hundred thousand households cost seconds, not minutes. The awkward cases a
front desk meets are there on purpose: apostrophes, hyphens, accents, one-letter names, client
IDs shorter than three characters, missing and invalid emails, near-duplicate households.
"""

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from anyascii import anyascii
from peewee import PostgresqlDatabase, SqliteDatabase, fn

from clerkdesk.models import (
    Household,
    Member,
    Pass,
    PassType,
    SearchToken,
    StaffUser,
    database,
)

from . import audit, search_index
from .account_store import account_by_username, hash_for, new_owned_account
from .bulk import bulk_insert
from .errors import ValidationError
from .jobs import CancelToken, Job, Progress, ProgressCallback
from .permissions import ADMINISTRATOR, CLERK, SUPERVISOR, Permission, require
from .search_index import TOKEN_FIELDS, tokens_for
from .session import StaffSession
from .settings import get_setting, password_policy, seed_value
from .staff import add_staff_unchecked
from .write_ahead_log import checkpoint_once

MAX_HOUSEHOLDS = 2_000_000
DEMO_HOUSEHOLDS = 3_000  # what a new demo database starts with (`make run`, `make portal`)
_ADULT_DAYS = (25 * 365, 81 * 365)
_CHILD_DAYS = (0, 21 * 365)
_SIZE_WEIGHTS = (25, 55, 75, 90, 100)  # cumulative: 1 to 5 members
BATCH = 2_000  # households per progress report
COMMIT_EVERY = 20_000  # households per transaction: each SQLite commit costs ~0.1 s
LOCALES = ("en_US", "en_US", "en_GB", "fr_FR", "es_ES", "de_DE", "pl_PL", "it_IT")
AWKWARD_LAST = ("O'Brien", "D'Angelo", "Smith-Jones", "García Márquez", "Ng", "Li", "O",
                "Østergård", "Nguyễn", "MacDonald", "van der Berg", "St. John", "Lee-Chang")
AWKWARD_FIRST = ("Zoë", "José", "Al", "Jo", "É", "Mary-Kate", "Siobhán", "Björn", "J", "Anne Marie")
PASS_TYPES = (
    ("CY-CHILD", "Child Pass"),
    ("CY-MST", "MS/Teen Pass"),
    ("CY-SAS", "School-Age Pass"),
    ("FAM-ANNUAL", "Family Annual Membership"),
    ("SR-FIT", "Senior Fitness Pass"),
    ("SWIM-10", "Swim 10-Visit Pass"),
)
PASS_STATUS_WEIGHTS = {"Actv-New": 35, "Actv-Renew": 35, "Suspended": 8, "Expired": 17,
                       "Cancelled": 5}
DEMO_STAFF = (
    ("admin", "admin-demo-pass", ADMINISTRATOR),
    ("super", "super-demo-pass", SUPERVISOR),
    ("clerk", "clerk-demo-pass", CLERK),
)
DEMO_STAFF_NAMES = {"admin": "Alex Morgan", "super": "Sam Rivera", "clerk": "Casey Lee"}
HOUSEHOLD_FIELDS = [Household.id, Household.client_id, Household.name, Household.address_line1,
                    Household.city, Household.region, Household.postal_code, Household.phone,
                    Household.phone_digits, Household.email, Household.status]
MEMBER_FIELDS = [Member.id, Member.household, Member.first_name, Member.last_name,
                 Member.birth_date, Member.email, Member.phone, Member.phone_digits,
                 Member.relationship, Member.is_primary]
PASS_FIELDS = [Pass.household, Pass.member, Pass.pass_type, Pass.status, Pass.start_date,
               Pass.expiration_date]


@dataclass(frozen=True)
class DemoResult:
    households: int
    members: int
    passes: int
    staff_created: tuple[tuple[str, str, str], ...]  # (user name, password, role) to print


def needs_demo_data() -> bool:
    return not Household.select().exists()


def start_demo(
    actor: StaffSession | None, households: int, seed: int = 1, today: date | None = None
) -> "DemoDataJob":
    """A job adding demo households; a database with staff needs the settings device."""
    if not isinstance(households, int) or not 0 < households <= MAX_HOUSEHOLDS:
        raise ValidationError("households",
                              f"Choose between 1 and {MAX_HOUSEHOLDS:,} demo households.")
    if StaffUser.select().exists():
        require(actor, Permission.SETTINGS_EDIT)
    return DemoDataJob(households, seed, today or date.today(), actor)


class DemoDataJob(Job):
    title = "Creating demo households"

    def __init__(self, households: int, seed: int, today: date,
                 actor: StaffSession | None) -> None:
        self.households, self.seed, self.today, self.actor = households, seed, today, actor

    def run(self, report: ProgressCallback, cancel: CancelToken) -> DemoResult:
        with database.atomic():
            staff = ensure_demo_staff()
            if staff:
                _rehearsal_settings()
            pass_types = ensure_pass_types()
        factory = _HouseholdFactory(self.seed, self.today, pass_types)
        with _bulk_load(empty=needs_demo_data()):
            totals = self._generate(factory, report, cancel)
        _advance_sequences()
        with database.atomic():
            audit.record(self.actor, "demo.generate", "household", "", households=totals[0],
                         seed=self.seed)
        cancel.raise_if_cancelled()
        return DemoResult(*totals, staff)

    def _generate(self, factory: "_HouseholdFactory", report: ProgressCallback,
                  cancel: CancelToken) -> list[int]:
        """Batches of BATCH households, committed every COMMIT_EVERY; a cancel keeps every
        whole batch written so far."""
        next_household = (Household.select(fn.MAX(Household.id)).scalar() or 0) + 1
        next_member = (Member.select(fn.MAX(Member.id)).scalar() or 0) + 1
        totals = [0, 0, 0]
        for group in range(0, self.households, COMMIT_EVERY):
            with database.atomic():
                for start in range(group, min(group + COMMIT_EVERY, self.households), BATCH):
                    if cancel.cancelled:
                        return totals
                    count = min(BATCH, self.households - start)
                    rows = factory.batch(next_household + start, next_member, count)
                    next_member += len(rows[1])
                    _insert(rows)
                    for index in range(3):
                        totals[index] += len(rows[index])
                    report(Progress(start + count, self.households,
                                    f"{start + count:,} of {self.households:,}"))
        return totals


def ensure_demo_staff() -> tuple[tuple[str, str, str], ...]:
    """On a database without staff, add the documented demo sign-ins."""
    if StaffUser.select().exists():
        return ()
    for username, password, role in DEMO_STAFF:
        add_staff_unchecked(username, DEMO_STAFF_NAMES[username], password, role)
    return DEMO_STAFF


def _rehearsal_settings() -> None:
    """A new demo database captures its mail (nothing leaves) and has a pretend portal."""
    seed_value("email.mode", "capture")
    seed_value("email.from_address", "frontdesk@example.org")
    seed_value("portal.url", "https://portal.example.org")


def ensure_pass_types() -> dict[str, int]:
    for code, description in PASS_TYPES:
        PassType.get_or_create(code=code, defaults={"description": description})
    return {row.code: row.id for row in PassType.select()}


@contextmanager
def _bulk_load(empty: bool) -> Iterator[None]:
    """Loading SQLite from empty: build the secondary indexes once at the end instead of
    updating them row by row, and checkpoint the log once instead of every 1,000 pages."""
    if not isinstance(database.obj, SqliteDatabase):
        yield
        return
    dropped = _drop_secondary_indexes() if empty else []
    with checkpoint_once():
        try:
            yield
        finally:
            for create in dropped:
                database.execute_sql(create)


def _drop_secondary_indexes() -> list[str]:
    tables = [m._meta.table_name for m in (Household, Member, Pass, SearchToken)]
    marks = ", ".join("?" for _ in tables)
    rows = database.execute_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) AND sql NOT LIKE 'CREATE UNIQUE%'", tables).fetchall()
    for name, _ in rows:
        database.execute_sql(f'DROP INDEX "{name}"')
    return [create for _, create in rows]


def _insert(rows: tuple[list, list, list, list]) -> None:
    households, members, passes, tokens = rows
    bulk_insert(Household, HOUSEHOLD_FIELDS, households)
    bulk_insert(Member, MEMBER_FIELDS, members)
    bulk_insert(Pass, PASS_FIELDS, passes)
    bulk_insert(SearchToken, TOKEN_FIELDS, tokens)


def _advance_sequences() -> None:
    """Explicit ids leave PostgreSQL's serial sequences behind; move them past the new rows."""
    if not isinstance(database.obj, PostgresqlDatabase):
        return
    for model in (Household, Member):
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


class _HouseholdFactory:
    def __init__(self, seed: int, today: date, pass_types: dict[str, int]) -> None:
        self.random = random.Random(seed)
        self.today = today
        self.pass_type_ids = [pass_types[code] for code, _ in PASS_TYPES]
        self.statuses = list(PASS_STATUS_WEIGHTS)
        self.status_weights = list(PASS_STATUS_WEIGHTS.values())
        from faker import Faker  # imported here: it costs 0.1 s of every program start

        fake = Faker(list(dict.fromkeys(LOCALES)))
        fake.seed_instance(seed)
        self.first_names = [fake.first_name() for _ in range(1500)] + list(AWKWARD_FIRST) * 4
        self.last_names = [fake.last_name() for _ in range(1500)] + list(AWKWARD_LAST) * 4
        us = fake["en_US"]
        self.streets = [us.street_address() for _ in range(1500)]
        self.places = [(us.city(), us.state_abbr(), us.postcode()) for _ in range(400)]

    def batch(self, first_id: int, first_member_id: int, count: int
              ) -> tuple[list, list, list, list]:
        households, members, passes, tokens = [], [], [], []
        member_id = first_member_id
        for household_id in range(first_id, first_id + count):
            if households and self.random.random() < 0.005:
                row = self._near_duplicate(households[-1], household_id)
            else:
                row = self._household(household_id)
            households.append(row)
            people = self._members(row, member_id)
            members.extend(people)
            member_id += len(people)
            passes.extend(self._passes(household_id, people))
            tokens.extend((household_id, kind, token) for kind, token in tokens_for(
                row[1], row[2], row[8], row[9], [(p[2], p[3], p[7], p[5]) for p in people], ()))
        # The last field (the primary member's first name) only feeds the members.
        return [row[:-1] for row in households], members, passes, tokens

    def _household(self, household_id: int) -> tuple:
        pick = self.random.choice
        last = pick(self.last_names)
        first = pick(self.first_names)
        city, state, postcode = pick(self.places)
        phone, digits = self._phone()
        email = self._email(first, last, household_id)
        return (household_id, str(household_id), last, pick(self.streets), city, state, postcode,
                phone, digits, email, "active" if self.random.random() < 0.97 else "inactive",
                first)

    def _near_duplicate(self, original: tuple, household_id: int) -> tuple:
        """The same family entered twice: other case in the email, the phone written otherwise."""
        digits = original[8]
        phone = f"{digits[:3]}.{digits[3:6]}.{digits[6:]}" if len(digits) == 10 else original[7]
        return (household_id, str(household_id), original[2], original[3].upper(), *original[4:7],
                phone, digits, original[9].upper(), "active", original[11])

    def _members(self, household: tuple, first_member_id: int) -> list[tuple]:
        household_id, last, primary_first = household[0], household[2], household[11]
        size = self.random.choices((1, 2, 3, 4, 5), cum_weights=_SIZE_WEIGHTS)[0]
        rows = []
        for position in range(size):
            relationship = ("Head", "Spouse")[position] if position < 2 else "Child"
            first = primary_first if position == 0 else self.random.choice(self.first_names)
            days_old = self.random.randrange(*(_ADULT_DAYS if position < 2 else _CHILD_DAYS))
            born = (self.today - timedelta(days=days_old)).isoformat()
            email = household[9] if position == 0 else ""
            rows.append((first_member_id + position, household_id, first, last, born, email,
                         household[7] if position == 0 else "", household[8] if position == 0
                         else "", relationship, position == 0))
        return rows

    def _passes(self, household_id: int, people: list[tuple]) -> list[tuple]:
        if self.random.random() > 0.65:
            return []
        rows = []
        for _ in range(self.random.choice((1, 1, 1, 2))):
            start = self.today - timedelta(days=self.random.randint(0, 330))
            member = self.random.choice(people)[0]
            status = self.random.choices(self.statuses, self.status_weights)[0]
            rows.append((household_id, member, self.random.choice(self.pass_type_ids), status,
                         start.isoformat(), (start + timedelta(days=365)).isoformat()))
        return rows

    def _phone(self) -> tuple[str, str]:
        area = self.random.choice(("212", "303", "415", "512", "617", "702", "808", "919"))
        number = self.random.randrange(200 * 40_000, 1000 * 40_000)  # exchange, line, style
        exchange, line, style = f"{number // 40_000}", f"{number // 4 % 10_000:04d}", number % 4
        shown = (f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}",
                 f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}")[style]
        return shown, f"{area}{exchange}{line}"

    def _email(self, first: str, last: str, household_id: int) -> str:
        roll = self.random.random()
        if roll < 0.08:
            return ""
        local = f"{_plain(first)}.{_plain(last)}{household_id % 1000}".strip(".") or "family"
        # example.* domains are reserved: a misconfigured demo can never mail a real person.
        domain = self.random.choice(("example.com", "example.org", "example.net"))
        if roll < 0.12:
            return self.random.choice((f"{local}@", f"{local}.{domain}", f"{local}@example",
                                       f"{local} @{domain}"))
        return f"{local}@{domain}"


_NOT_PLAIN = re.compile(r"[^a-z0-9]+")


def _plain(name: str) -> str:
    return _NOT_PLAIN.sub("", anyascii(name).lower())


DEMO_PORTAL_SIGN_IN = ("demo-family", "portal-demo-pass")
PRETEND_PORTAL = "https://portal.example.org"


def ensure_demo_portal_account() -> tuple[str, str]:
    """A documented household sign-in for trying the portal on the demo database (the
    first household's), made once; returns (user name, password) as first set."""
    username, password = DEMO_PORTAL_SIGN_IN
    if account_by_username(username) is None:
        household = Household.select().order_by(Household.id).first()
        if household is None:
            raise ValidationError("households", "Add demo households first.")
        with database.atomic():
            account = new_owned_account(household.id, username,
                                        hash_for(password, password_policy()))
            search_index.reindex(household.id)
            audit.record(None, "demo.portal_account", "web_account", account.id, household.id)
    return DEMO_PORTAL_SIGN_IN


def point_demo_links_at(portal_url: str) -> None:
    """Links in the demo's captured emails lead to the portal being served, not to the
    pretend address a new demo database starts with."""
    if get_setting("portal.url") == PRETEND_PORTAL:
        seed_value("portal.url", portal_url)
