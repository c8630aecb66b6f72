"""Which households on file a portal sign-up looks like (seed 000). Four indexed
look-ups find candidates (never a scan, whatever the number of households):

- the email address, folded (the search index's email words, and the email columns);
- the phone number's digits (the phone_digits columns and the search index);
- last name + first name, folded, + birth date (the search index's name words, then members);
- last name + postal code (the search index's name words, then households).

Each candidate is scored by the profile fields that agree (`FIELD_POINTS`):

    email 4 · phone 4 · birth date 3 (same member as the name) · last name 2 ·
    first name 1 (with the last name, on the same member) · postal code 1

- `CLEAR_MATCH` (7) or more: the person already has an account ("exists"). Nothing is created;
  the portal points them to Forgot user name / Forgot password. When that household has no web
  login yet, the request waits in the review queue so a clerk can add one (seed 000).
  Examples: email + full name; phone + full name; full name + birth date + postal code;
  last name + postal code + phone; email + phone.
- Any candidate below that ("review"): unsure — e.g. the same email under another name (a
  shared family address), the same name and birth date (two people share both often enough
  in a large file), the same last name in the same postal code. A clerk decides.
"""

import re
from dataclasses import dataclass
from datetime import date

from peewee import fn

from clerkdesk.models import Household, Member, SearchToken
from clerkdesk.models.search import TOKEN_LENGTH

from .search_index import fold

FIELD_POINTS = {"email": 4, "phone": 4, "first_name": 1, "last_name": 2, "birth_date": 3,
                "postal_code": 1}
FIELD_LABELS = {"email": "email", "phone": "phone", "first_name": "first name",
                "last_name": "last name", "birth_date": "birth date",
                "postal_code": "postal code"}
CLEAR_MATCH = 7
MAX_CANDIDATES = 50  # per look-up; a real duplicate is among the first few
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SignUpRequest:
    first_name: str
    last_name: str
    email: str
    phone: str  # as it will be stored, e.g. "(303) 555-0100"
    postal_code: str
    birth_date: date
    username: str

    @property
    def phone_digits(self) -> str:
        return "".join(c for c in self.phone if c.isdigit())


@dataclass(frozen=True)
class Match:
    household_id: int
    fields: tuple[str, ...]  # keys of FIELD_POINTS that agree, in FIELD_POINTS order

    @property
    def points(self) -> int:
        return sum(FIELD_POINTS[field] for field in self.fields)

    @property
    def clear(self) -> bool:
        return self.points >= CLEAR_MATCH

    @property
    def reasons(self) -> str:
        return ", ".join(FIELD_LABELS[field] for field in self.fields)

    @property
    def in_words(self) -> str:
        """"email, last name and postal code": for sentences."""
        labels = [FIELD_LABELS[field] for field in self.fields]
        return " and ".join(filter(None, (", ".join(labels[:-1]), *labels[-1:])))


def best_match(request: SignUpRequest) -> Match | None:
    """The household the request looks most like (the earlier one on a tie), if any."""
    matches = find_matches(request)
    return matches[0] if matches else None


def find_matches(request: SignUpRequest) -> list[Match]:
    """Every candidate household with the fields that agree, best first."""
    ids = _candidate_ids(request)
    matches = [m for m in (compare(request, profile) for profile in profiles(ids)) if m.fields]
    return sorted(matches, key=lambda m: (-m.points, m.household_id))


def name_key(text: str) -> str:
    """How names are compared: folded to plain letters, punctuation and spaces dropped, as the
    search index holds them ("O'Brien" = "OBRIEN" = "O Brien", "Nguyễn" = "Nguyen")."""
    return "".join(_WORD.findall(fold(text or "")))


def phone_key(digits: str) -> str:
    """The digits without a North American trunk 1, as the search index holds them."""
    digits = "".join(c for c in digits or "" if c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def postal_key(text: str) -> str:
    return "".join(c for c in (text or "").upper() if c.isalnum())


def _candidate_ids(request: SignUpRequest) -> list[int]:
    found: list[int] = []
    for lookup in (_by_email, _by_phone, _by_name_and_birth, _by_last_name_and_postal):
        for household_id in lookup(request):
            if household_id not in found:
                found.append(household_id)
    return found


def _tokens(kind: str, token: str):
    return (SearchToken.select(SearchToken.household)
            .where((SearchToken.token == token[:TOKEN_LENGTH]) & (SearchToken.kind == kind)))


def _ids(query) -> list[int]:
    return [row[0] for row in query.limit(MAX_CANDIDATES).tuples()]


def _by_email(request: SignUpRequest) -> list[int]:
    # The columns too: a household written without its search words is still found.
    spellings = list({request.email, request.email.lower()})
    return (_ids(_tokens("email", fold(request.email)))
            + _ids(Household.select(Household.id).where(Household.email.in_(spellings)))
            + _ids(Member.select(Member.household).where(Member.email.in_(spellings))))


def _by_phone(request: SignUpRequest) -> list[int]:
    digits = phone_key(request.phone_digits)
    if len(digits) < 8:  # the index also holds every number's last 7 and 4 digits
        return []
    spellings = [digits, "1" + digits]
    return (_ids(_tokens("phone", digits))
            + _ids(Household.select(Household.id).where(Household.phone_digits.in_(spellings)))
            + _ids(Member.select(Member.household).where(Member.phone_digits.in_(spellings))))


def _households_named(last: str, first: str | None = None):
    """Households with a name word equal to the last name (and one equal to the first)."""
    query = _tokens("name", name_key(last))
    if first is not None:
        other = SearchToken.alias()
        query = query.where(fn.EXISTS(
            other.select(other.id).where((other.household == SearchToken.household)
                                         & (other.token == name_key(first)[:TOKEN_LENGTH])
                                         & (other.kind == "name"))))
    return query


def _by_name_and_birth(request: SignUpRequest) -> list[int]:
    if not name_key(request.last_name) or not name_key(request.first_name):
        return []
    indexed = Member.select(Member.household).where(
        (Member.birth_date == request.birth_date)
        & Member.household.in_(_households_named(request.last_name, request.first_name)))
    as_typed = Member.select(Member.household).where(
        (Member.last_name == request.last_name) & (Member.first_name == request.first_name)
        & (Member.birth_date == request.birth_date))
    return _ids(indexed) + _ids(as_typed)


def _by_last_name_and_postal(request: SignUpRequest) -> list[int]:
    wanted = postal_key(request.postal_code)
    if not wanted or not name_key(request.last_name):
        return []
    stored = fn.UPPER(fn.REPLACE(fn.REPLACE(Household.postal_code, " ", ""), "-", ""))
    return _ids(Household.select(Household.id).where(
        Household.id.in_(_households_named(request.last_name)) & (stored == wanted)))


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    birth: date | None
    email: str
    phone: str  # digits
    phone_text: str  # as written on file


@dataclass(frozen=True)
class Profile:
    household_id: int
    name: str
    email: str
    phone: str  # digits
    phone_text: str
    postal: str
    people: tuple[Person, ...]


def profiles(ids: list[int]) -> list[Profile]:
    if not ids:
        return []
    people: dict[int, list[Person]] = {}
    for household_id, first, last, born, email, phone, phone_text in (
            Member.select(Member.household, Member.first_name, Member.last_name,
                          Member.birth_date, Member.email, Member.phone_digits, Member.phone)
            .where(Member.household.in_(ids)).order_by(Member.is_primary.desc(), Member.id)
            .tuples()):
        people.setdefault(household_id, []).append(Person(first, last, as_date(born), email,
                                                           phone, phone_text))
    return [Profile(hid, name, email, phone, phone_text, postal, tuple(people.get(hid, ())))
            for hid, name, email, phone, phone_text, postal in Household.select(
                Household.id, Household.name, Household.email, Household.phone_digits,
                Household.phone, Household.postal_code).where(Household.id.in_(ids)).tuples()]


def as_date(value: object) -> date | None:
    """SQLite may hand a date back as text."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return value if isinstance(value, date) else None


def compare(request: SignUpRequest, profile: Profile) -> Match:
    agree: set[str] = set()
    emails = {profile.email.lower()} | {p.email.lower() for p in profile.people}
    if request.email.lower() in emails:
        agree.add("email")
    phones = {phone_key(profile.phone)} | {phone_key(p.phone) for p in profile.people}
    if phone_key(request.phone_digits) in phones - {""}:
        agree.add("phone")
    last, first = name_key(request.last_name), name_key(request.first_name)
    if last in {name_key(profile.name)} | {name_key(p.last) for p in profile.people}:
        agree.add("last_name")
    namesakes = [p for p in profile.people if name_key(p.last) == last
                 and name_key(p.first) == first]
    if namesakes:
        agree.add("first_name")
        if any(p.birth == request.birth_date for p in namesakes):
            agree.add("birth_date")
    if request.postal_code and postal_key(request.postal_code) == postal_key(profile.postal):
        agree.add("postal_code")
    return Match(profile.household_id, tuple(f for f in FIELD_POINTS if f in agree))
