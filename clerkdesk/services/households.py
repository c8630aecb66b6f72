"""Households: finding one by client ID, reading it whole, and saving it safely.

Saving uses optimistic locking: the caller says which version it read; if another desk
saved in between, the save is refused with who changed it and when, and nothing is
overwritten.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime

import phonenumbers

from clerkdesk.models import Household, Member, database, utcnow

from . import audit, case_notes, search_index
from .errors import ConflictError, NotFound, ValidationError
from .permissions import Permission, require, require_signed_in
from .session import StaffSession
from .settings import get_setting
from .validation import clean_text, normalise_email

HOUSEHOLD_FIELDS = ("client_id", "name", "address_line1", "address_line2", "city", "region",
                    "postal_code", "phone", "email", "status")
MAX_MEMBERS = 50


@dataclass(frozen=True)
class MemberData:
    id: int | None = None
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None
    email: str = ""
    phone: str = ""
    relationship: str = ""
    is_primary: bool = False


@dataclass(frozen=True)
class HouseholdData:
    client_id: str = ""
    name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    email: str = ""
    status: str = "active"
    members: tuple[MemberData, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class HouseholdDetail:
    id: int
    version: int
    changed_at: datetime
    changed_by: str
    data: HouseholdData


def household_id_for_client(actor: StaffSession, client_id: str) -> int:
    require_signed_in(actor)
    client_id = clean_text("client ID", client_id, max_length=40, required=True)
    household = Household.get_or_none(Household.client_id == client_id)
    if household is None:
        raise NotFound(f"There is no household with client ID “{client_id}”.")
    return household.id


def get_household(actor: StaffSession, household_id: int) -> HouseholdDetail:
    require_signed_in(actor)
    return _detail(_household(household_id))


def save_household(actor: StaffSession, household_id: int | None, version: int | None,
                   data: HouseholdData) -> HouseholdDetail:
    """Create (household_id None) or update a household and its members, all or nothing."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    clean = validate(data)
    with database.atomic():
        if household_id is None:
            household = _create(actor, clean)
        else:
            household = _update(actor, household_id, version, clean)
        _save_members(household, clean.members)
        search_index.reindex(household.id)
    return _detail(household)


def validate(data: HouseholdData) -> HouseholdData:
    """The data as it will be stored, or a ValidationError naming the field to fix."""
    region = str(get_setting("phone.region"))
    members = tuple(_member(m, index, region) for index, m in enumerate(data.members))
    if len(members) > MAX_MEMBERS:
        raise ValidationError("members", f"A household can have at most {MAX_MEMBERS} members.")
    primaries = [m for m in members if m.is_primary]
    if len(primaries) > 1:
        raise ValidationError("members", "Only one member can be the primary member.")
    if members and not primaries:
        members = (replace(members[0], is_primary=True), *members[1:])
    status = data.status if data.status in ("active", "inactive") else None
    if status is None:
        raise ValidationError("status", "The status must be active or inactive.")
    return HouseholdData(
        client_id=clean_text("client ID", data.client_id, max_length=40, required=True),
        name=clean_text("household name", data.name, max_length=200, required=True),
        address_line1=clean_text("address", data.address_line1, max_length=200),
        address_line2=clean_text("address line 2", data.address_line2, max_length=200),
        city=clean_text("city", data.city, max_length=100),
        region=clean_text("state or region", data.region, max_length=100),
        postal_code=clean_text("postal code", data.postal_code, max_length=20),
        phone=normalise_phone("phone", data.phone, region),
        email=normalise_email("email", data.email) if (data.email or "").strip() else "",
        status=status, members=members)


def normalise_phone(field_name: str, text: str, region: str) -> str:
    """A phone number written the usual way for `region`; empty stays empty."""
    text = clean_text(field_name, text, max_length=40)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise ValidationError(field_name, f"“{text}” is not a phone number (numbers without a "
                              f"+country code are read as {region}).")
    same_country = phonenumbers.region_code_for_number(number) == region
    shape = phonenumbers.PhoneNumberFormat.NATIONAL if same_country \
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, shape)


def add_case_note(actor: StaffSession, household_id: int, text: str) -> None:
    require(actor, Permission.HOUSEHOLD_EDIT)
    text = clean_text("note", (text or "").replace("\n", " "), max_length=4000, required=True)
    with database.atomic():
        _household(household_id)
        case_notes.add_note(household_id, text, actor)
        audit.record(actor, "case_note.add", "household", household_id, household_id)


def case_notes_for(actor: StaffSession, household_id: int) -> list[case_notes.CaseNoteView]:
    require_signed_in(actor)
    return case_notes.notes_for(household_id)


def audit_for(actor: StaffSession, household_id: int) -> list[audit.AuditView]:
    require_signed_in(actor)
    return audit.recent(200, household_id=household_id)


def _create(actor: StaffSession, data: HouseholdData) -> Household:
    _client_id_free(data.client_id, None)
    household = Household.create(**_columns(data), changed_by=actor.label)
    audit.record(actor, "household.create", "household", household.id, household.id,
                 name=data.name)
    return household


def _update(actor: StaffSession, household_id: int, version: int | None,
            data: HouseholdData) -> Household:
    current = _household(household_id)
    _client_id_free(data.client_id, household_id)
    changed = [name for name in HOUSEHOLD_FIELDS if getattr(current, name) != getattr(data, name)]
    saved = Household.update(**_columns(data), version=Household.version + 1,
                             changed_at=utcnow(), changed_by=actor.label).where(
        (Household.id == household_id) & (Household.version == version)).execute()
    if saved != 1:
        raise StaleHousehold(current)
    audit.record(actor, "household.update", "household", household_id, household_id,
                 fields=changed)
    return Household.get_by_id(household_id)


class StaleHousehold(ConflictError):
    """Another desk saved this household after it was read."""

    def __init__(self, current: Household) -> None:
        when = current.changed_at.strftime("%Y-%m-%d %H:%M") + " UTC"
        super().__init__(f"{current.changed_by or 'Someone'} changed this household at {when}, "
                         "after you opened it. Reload to see their changes; your edits are "
                         "still on screen.")
        self.changed_by = current.changed_by
        self.changed_at = current.changed_at


def _save_members(household: Household, members: tuple[MemberData, ...]) -> None:
    existing = {m.id for m in Member.select(Member.id).where(Member.household == household)}
    kept = {m.id for m in members if m.id is not None}
    unknown = kept - existing
    if unknown:
        raise NotFound("A member being edited was removed at another desk. Reload first.")
    Member.delete().where((Member.household == household)
                          & Member.id.not_in(list(kept) or [0])).execute()
    for member in members:
        values = {name: getattr(member, name) for name in (
            "first_name", "last_name", "birth_date", "email", "phone", "relationship",
            "is_primary")}
        values["phone_digits"] = _digits(member.phone)
        if member.id is None:
            Member.create(household=household, **values)
        else:
            Member.update(**values).where(Member.id == member.id).execute()


def _member(member: MemberData, index: int, region: str) -> MemberData:
    where = f"member {index + 1}"
    first = clean_text(f"{where}: first name", member.first_name, max_length=100)
    last = clean_text(f"{where}: last name", member.last_name, max_length=100)
    if not first and not last:
        raise ValidationError("members", f"Give {where} a first or last name.")
    email = (member.email or "").strip()
    born = member.birth_date
    if born is not None and (born > date.today() or born.year < 1900):
        raise ValidationError("members", f"The birth date of {where} is not plausible.")
    return MemberData(
        member.id, first, last, born,
        normalise_email(f"{where}: email", email) if email else "",
        normalise_phone(f"{where}: phone", member.phone, region),
        clean_text(f"{where}: relationship", member.relationship, max_length=40),
        bool(member.is_primary))


def _client_id_free(client_id: str, household_id: int | None) -> None:
    holder = Household.get_or_none(Household.client_id == client_id)
    if holder is not None and holder.id != household_id:
        raise ValidationError("client_id", f"Client ID “{client_id}” belongs to another "
                              f"household ({holder.name}).")


def _columns(data: HouseholdData) -> dict:
    values = {name: getattr(data, name) for name in HOUSEHOLD_FIELDS}
    values["phone_digits"] = _digits(data.phone)
    return values


def _digits(phone: str) -> str:
    return "".join(c for c in phone or "" if c.isdigit())


def _household(household_id: int) -> Household:
    household = Household.get_or_none(Household.id == household_id)
    if household is None:
        raise NotFound("That household does not exist (any more).")
    return household


def _detail(household: Household) -> HouseholdDetail:
    members = tuple(
        MemberData(m.id, m.first_name, m.last_name, m.birth_date, m.email, m.phone,
                   m.relationship, m.is_primary)
        for m in Member.select().where(Member.household == household).order_by(
            Member.is_primary.desc(), Member.id))
    data = HouseholdData(*(getattr(household, name) for name in HOUSEHOLD_FIELDS),
                         members=members)
    return HouseholdDetail(household.id, household.version, household.changed_at,
                           household.changed_by, data)
