"""Portal sign-up with duplicate-account detection, and the clerk's review queue (seed 000).

Before a sign-up creates anything it is compared with the households on file
(`sign_up_matching`):

- `CLEAR_MATCH` or more points: the person already has an account ("exists"). Nothing is
  created; the portal points them to Forgot user name / Forgot password. When that household
  has no web login yet, the request waits in the review queue so a clerk can add one (seed 000).
- Any candidate below that ("review"): unsure; a clerk decides.
- No candidate: a new household and web account are created.

Whatever the outcome the password is hashed once (so the answer's timing says nothing), the
plain password is never stored, and the answer never shows another household's data.
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from peewee import PostgresqlDatabase, fn

from clerkdesk.models import (
    Household,
    Member,
    SignUpReview,
    WebAccount,
    database,
    utcnow,
)

from . import audit, case_notes, search_index
from .account_store import claim_username, hash_for, save_account, store_secret
from .errors import ConflictError, NotFound, ValidationError
from .household_passwords import check_new_password
from .households import normalise_phone
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting, password_policy
from .sign_up_matching import (  # noqa: F401 - the matching is part of this module's API
    CLEAR_MATCH,
    FIELD_LABELS,
    FIELD_POINTS,
    Match,
    Person,
    Profile,
    SignUpRequest,
    as_date,
    best_match,
    compare,
    find_matches,
    name_key,
    phone_key,
    postal_key,
    profiles,
)
from .usernames import normalise_username, username_key
from .validation import clean_text, normalise_email

PORTAL = "portal"
MAX_NAME, MAX_USERNAME, MIN_USERNAME = 100, 100, 3
OLDEST_BIRTH_YEAR = 1900

CREATED_MESSAGE = "Your account is ready. You can sign in with your user name and password."
EXISTS_MESSAGE = ("You already have an account with us, so we have not created a new one. "
                  "Use “Forgot user name” with your email address, then “Forgot password”. "
                  "If you have never had a web login, the front desk will add one to your "
                  "account and let you know.")
REVIEW_MESSAGE = ("Thank you. Before your account is ready the front desk needs to check a "
                  "detail; they will contact you. There is no need to sign up again.")

_NAME_PUNCTUATION = set(" '’‘-.")
_POSTAL = re.compile(r"^[A-Za-z0-9 -]*$")
_USERNAME = re.compile(r"^[\w.@+'-]+$")


class SignUpOutcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    REVIEW = "review"


@dataclass(frozen=True)
class SignUpResult:
    """What the portal shows; the ids are for the portal's own use, never another household's."""

    outcome: SignUpOutcome
    message: str
    household_id: int | None = None  # only when created
    account_id: int | None = None  # only when created
    review_id: int | None = None  # only when held for review


# --- the portal side ------------------------------------------------------------------------

def sign_up(first_name: str, last_name: str, email: str, phone: str, postal_code: str,
            birth_date: date | str | None, username: str, password: str,
            confirm: str) -> SignUpResult:
    """A new household on the portal, unless its profile matches one already on file."""
    request = validate_request(first_name, last_name, email, phone, postal_code, birth_date,
                               username)
    policy = password_policy()
    check_new_password(password, confirm, request.username, policy)
    hashed = hash_for(password, policy)  # before deciding: every outcome costs one hash
    with database.atomic():
        _one_sign_up_per_address(request.email)
        match = best_match(request)
        if match is not None and match.clear and _has_login(match.household_id):
            return _already_exists(match, None)  # the user name they chose does not matter
        _username_free(request.username)
        if match is None:
            return _create_for_portal(request, hashed)
        if match.clear:
            return _already_exists(match, _queue(request, hashed, match).id)
        return _hold_for_review(request, hashed, match)


def validate_request(first_name: object, last_name: object, email: object, phone: object,
                     postal_code: object, birth_date: object, username: object
                     ) -> SignUpRequest:
    """The sign-up as it will be compared and stored, or a ValidationError naming the field."""
    email_text = clean_text("email", email, max_length=320, required=True)
    return SignUpRequest(
        first_name=_person_name("first name", first_name),
        last_name=_person_name("last name", last_name),
        email=normalise_email("email", email_text),
        phone=normalise_phone("phone", _text("phone", phone, 40), str(get_setting("phone.region"))),
        postal_code=_postal_code(postal_code),
        birth_date=_birth_date(birth_date),
        username=_portal_username(username))


def _text(field: str, value: object, max_length: int) -> str:
    return clean_text(field, value, max_length=max_length)


def _person_name(field: str, value: object) -> str:
    """Letters (any script), spaces, apostrophes, hyphens and periods: O'Brien, Nguyễn."""
    text = clean_text(field, value, max_length=MAX_NAME, required=True)
    odd = [c for c in text if c not in _NAME_PUNCTUATION and unicodedata.category(c)[0] not in "LM"]
    if odd or not any(unicodedata.category(c)[0] == "L" for c in text):
        raise ValidationError(field, f"The {field} can only hold letters, spaces, apostrophes, "
                              "hyphens and periods.")
    return text


def _postal_code(value: object) -> str:
    text = clean_text("postal code", value, max_length=20)
    if not _POSTAL.match(text):
        raise ValidationError("postal code", "The postal code can only hold letters, digits, "
                              "spaces and hyphens.")
    return " ".join(text.upper().split())


def _birth_date(value: object) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        text = clean_text("birth date", value, max_length=10, required=True)
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise ValidationError("birth date", f"“{text}” is not a date; write it as "
                                  "YYYY-MM-DD, e.g. 1984-07-31.") from None
    if not isinstance(value, date):
        raise ValidationError("birth date", "Enter the birth date.")
    if value > date.today() or value.year < OLDEST_BIRTH_YEAR:
        raise ValidationError("birth date", "That birth date is not plausible.")
    return value


def _portal_username(value: object) -> str:
    """Shorter and plainer than a clerk may type: this one comes from the open internet."""
    text = normalise_username(value)
    if not MIN_USERNAME <= len(text) <= MAX_USERNAME:
        raise ValidationError("user name", f"The user name must be {MIN_USERNAME} to "
                              f"{MAX_USERNAME} characters long.")
    if not _USERNAME.match(text):
        raise ValidationError("user name", "The user name can only hold letters, digits and "
                              ". _ - @ + '")
    return text


def _one_sign_up_per_address(email: str) -> None:
    """Two sign-ups for one address at the same moment are decided one after the other, so
    the second sees the first's household (PostgreSQL; SQLite writes one at a time)."""
    if isinstance(database.obj, PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))",
                             (f"sign-up:{email.lower()}",))


def _username_free(username: str) -> None:
    """Free among web accounts and among requests still waiting for a clerk, in any case."""
    claim_username(None, username)
    key = username_key(username)
    waiting = (SignUpReview.select(SignUpReview.username)
               .where((SignUpReview.state == "pending")
                      & (fn.LOWER(SignUpReview.username) == username.lower())))
    if any(username_key(row.username) == key for row in waiting):
        raise ValidationError("user name", f"The user name “{username}” is already taken "
                              "(user names ignore upper and lower case). Choose another.")


def _create_for_portal(request: SignUpRequest, hashed: str) -> SignUpResult:
    household, account = _create_household(request, hashed, "the portal sign-up")
    audit.record(PORTAL, "portal.sign_up", "household", household.id, household.id,
                 outcome="created", username=request.username)
    return SignUpResult(SignUpOutcome.CREATED, CREATED_MESSAGE, household.id, account.id)


def _has_login(household_id: int) -> bool:
    return WebAccount.select().where(WebAccount.household == household_id).exists()


def _already_exists(match: Match, review_id: int | None) -> SignUpResult:
    """One answer whether or not the household has a login: the portal page says nothing
    more about it than that the person is already on file."""
    audit.record(PORTAL, "portal.sign_up", "household", match.household_id, match.household_id,
                 outcome="exists", fields=list(match.fields), review=review_id or "")
    what = ("the request waits for a clerk to add a web login" if review_id else
            "the person was told to use Forgot user name / Forgot password")
    case_notes.add_system_note(match.household_id, "Web sign-up",
                               f"A portal sign-up matched this household ({match.reasons}); "
                               f"no new household was created and {what}.")
    return SignUpResult(SignUpOutcome.EXISTS, EXISTS_MESSAGE)


def _hold_for_review(request: SignUpRequest, hashed: str, match: Match) -> SignUpResult:
    review = _queue(request, hashed, match)
    audit.record(PORTAL, "portal.sign_up", "sign_up_review", review.id, "", outcome="review",
                 fields=list(match.fields))
    return SignUpResult(SignUpOutcome.REVIEW, REVIEW_MESSAGE, review_id=review.id)


def _queue(request: SignUpRequest, hashed: str, match: Match) -> SignUpReview:
    """One waiting request per address and candidate: signing up again replaces it."""
    review = (SignUpReview.select()
              .where((SignUpReview.state == "pending")
                     & (fn.LOWER(SignUpReview.email) == request.email.lower())
                     & (SignUpReview.candidate == match.household_id)).first()
              or SignUpReview())
    review.created_at = utcnow()
    review.first_name, review.last_name = request.first_name, request.last_name
    review.birth_date, review.email = request.birth_date, request.email
    review.phone_digits, review.postal_code = request.phone_digits, request.postal_code
    review.username, review.password_hash = request.username, hashed
    review.candidate, review.score, review.reasons = (match.household_id, len(match.fields),
                                                      match.reasons)
    review.save()
    return review


# --- creating -------------------------------------------------------------------------------

def _create_household(request: SignUpRequest, hashed: str | None, by: str,
                      actor: StaffSession | None = None) -> tuple[Household, WebAccount]:
    """Household, primary member and web account from a sign-up; inside the caller's
    transaction. The client ID is W + the household's number, e.g. W3012."""
    household = Household.create(
        client_id=f"pending-{uuid.uuid4().hex[:24]}", name=request.last_name,
        postal_code=request.postal_code, phone=request.phone,
        phone_digits=request.phone_digits, email=request.email,
        changed_by=actor.label if actor else PORTAL)
    household.client_id = _free_client_id(household.id)
    household.save()
    member = Member.create(household=household, first_name=request.first_name,
                           last_name=request.last_name, birth_date=request.birth_date,
                           email=request.email, phone=request.phone,
                           phone_digits=request.phone_digits, relationship="Head",
                           is_primary=True)
    account = _new_account(household.id, member.id, request.username, hashed)
    search_index.reindex(household.id)
    case_notes.add_system_note(household.id, "Web sign-up",
                               f"Household and web account “{account.username}” created from "
                               f"{by}.", actor)
    return household, account


def _free_client_id(household_id: int) -> str:
    wanted, suffix = f"W{household_id}", 1
    candidate = wanted
    while Household.select().where(Household.client_id == candidate).exists():
        suffix += 1
        candidate = f"{wanted}-{suffix}"
    return candidate


def _new_account(household_id: int, member_id: int | None, username: str,
                 hashed: str | None) -> WebAccount:
    """The household's own login; with per-member logins it belongs to the member."""
    per_member = bool(get_setting("accounts.per_member"))
    account = WebAccount(household=household_id, member=member_id if per_member else None,
                         username=username, username_key=claim_username(None, username),
                         must_change=True)
    save_account(account)
    if hashed:
        store_secret(account, hashed, must_change=False, source="owner")
    return account


# --- the clerk's review queue ---------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    id: int
    created_at: datetime
    person: str
    email: str
    username: str
    candidate_id: int | None
    candidate: str  # "Smith (1234)", or "" when the household is gone
    score: int  # fields that matched
    reasons: str
    clear: bool  # the household is clearly theirs; it only lacks a web login


@dataclass(frozen=True)
class Comparison:
    field: str
    label: str
    requested: str
    on_file: str
    same: bool


@dataclass(frozen=True)
class ReviewDetail:
    id: int
    state: str
    created_at: datetime
    username: str
    candidate_id: int | None
    candidate: str
    rows: tuple[Comparison, ...]  # the request beside the candidate, field by field
    on_file: tuple[tuple[str, str], ...]  # more about the candidate: members, web logins
    reasons: str
    reasons_in_words: str  # "email, last name and postal code"
    clear: bool
    resolved_by: str
    resolved_at: datetime | None


@dataclass(frozen=True)
class ReviewOutcome:
    review_id: int
    state: str
    household_id: int | None
    account_id: int | None
    username: str
    message: str


def pending_reviews(actor: StaffSession) -> list[ReviewRow]:
    """The waiting requests, oldest first."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    reviews = list(SignUpReview.select().where(SignUpReview.state == "pending")
                   .order_by(SignUpReview.created_at, SignUpReview.id))
    names = _household_labels({r.candidate_id for r in reviews if r.candidate_id})
    return [ReviewRow(r.id, r.created_at, f"{r.first_name} {r.last_name}", r.email, r.username,
                      r.candidate_id, names.get(r.candidate_id, ""), r.score, r.reasons,
                      _is_clear(r.reasons)) for r in reviews]


def pending_count(actor: StaffSession) -> int:
    require(actor, Permission.HOUSEHOLD_EDIT)
    return SignUpReview.select().where(SignUpReview.state == "pending").count()


def review_detail(actor: StaffSession, review_id: int) -> ReviewDetail:
    """The request beside the candidate household, compared afresh (it may have changed)."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    review = _review(review_id)
    request = _request_of(review)
    profile = next(iter(profiles([review.candidate_id])), None) if review.candidate_id \
        else None
    match = compare(request, profile) if profile else Match(0, ())
    label = _household_labels({profile.household_id}).get(profile.household_id, "") \
        if profile else ""
    return ReviewDetail(review.id, review.state, review.created_at, review.username,
                        profile.household_id if profile else None, label,
                        _comparison(request, profile, match), _more_on_file(profile),
                        match.reasons if profile else review.reasons, match.in_words,
                        match.clear, review.resolved_by, review.resolved_at)


def link_to_household(actor: StaffSession, review_id: int, household_id: int,
                      username: str | None = None) -> ReviewOutcome:
    """Give the household a web login with the user name and password chosen at sign-up (or
    another user name, when the chosen one was taken meanwhile)."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    require(actor, Permission.WEB_DETAILS_CHANGE)
    chosen = normalise_username(username) if username else None
    with database.atomic():
        review = _resolve(actor, review_id, "linked")
        if not Household.select().where(Household.id == household_id).exists():
            raise NotFound("That household does not exist (any more).")
        account = _new_account(household_id, _namesake(review, household_id),
                               chosen or review.username, review.password_hash)
        _finish(review, household_id, account)
        search_index.reindex(household_id)
        audit.record(actor, "sign_up.link", "sign_up_review", review.id, household_id,
                     username=account.username)
        case_notes.add_system_note(household_id, "Web sign-up",
                                   f"Portal sign-up linked by {actor.label}: web account "
                                   f"“{account.username}” added with the password chosen at "
                                   "sign-up.", actor)
    label = _household_labels({household_id})[household_id]
    return ReviewOutcome(review.id, "linked", household_id, account.id, account.username,
                         f"{label} now has the web login “{account.username}”; the person "
                         "signs in with the password chosen at sign-up.")


def create_new_household(actor: StaffSession, review_id: int) -> ReviewOutcome:
    """The request is a different family after all: a household of its own."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    require(actor, Permission.WEB_DETAILS_CHANGE)
    with database.atomic():
        review = _resolve(actor, review_id, "created")
        household, account = _create_household(
            _request_of(review), review.password_hash,
            f"portal sign-up request {review.id}, approved by {actor.label}", actor)
        _finish(review, household.id, account)
        audit.record(actor, "sign_up.create", "sign_up_review", review.id, household.id,
                     username=account.username)
    return ReviewOutcome(review.id, "created", household.id, account.id, account.username,
                         f"Household {household.name} ({household.client_id}) created with "
                         f"web account “{account.username}”.")


def refuse(actor: StaffSession, review_id: int, reason: str) -> ReviewOutcome:
    """Turn the request down; its password hash is dropped at once."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    reason = clean_text("reason", (reason or "").replace("\n", " "), max_length=500,
                        required=True)
    with database.atomic():
        review = _resolve(actor, review_id, "refused")
        review.password_hash = None
        review.save()
        audit.record(actor, "sign_up.refuse", "sign_up_review", review.id,
                     review.candidate_id or "", reason=reason)
    return ReviewOutcome(review.id, "refused", None, None, review.username,
                         "The sign-up request was refused.")


def _resolve(actor: StaffSession, review_id: int, state: str) -> SignUpReview:
    """Claim the pending request in one statement, so two desks cannot both resolve it."""
    review = _review(review_id)
    claimed = SignUpReview.update(state=state, resolved_by=actor.label,
                                  resolved_at=utcnow()).where(
        (SignUpReview.id == review.id) & (SignUpReview.state == "pending")).execute()
    if claimed != 1:
        done = SignUpReview.get_by_id(review.id)
        when = done.resolved_at.strftime("%Y-%m-%d %H:%M") + " UTC" if done.resolved_at else ""
        raise ConflictError(f"This sign-up request was already {done.state} by "
                            f"{done.resolved_by or 'someone'} {when}. Refresh the list.".strip())
    return SignUpReview.get_by_id(review.id)


def _finish(review: SignUpReview, household_id: int, account: WebAccount) -> None:
    """The hash now lives on the account only."""
    review.household, review.account, review.password_hash = household_id, account.id, None
    review.save()


def _review(review_id: object) -> SignUpReview:
    review = SignUpReview.get_or_none(SignUpReview.id == review_id) \
        if isinstance(review_id, int) else None
    if review is None:
        raise NotFound("That sign-up request does not exist (any more). Refresh the list.")
    return review


def _request_of(review: SignUpReview) -> SignUpRequest:
    return SignUpRequest(review.first_name, review.last_name, review.email,
                         _phone_from_digits(review.phone_digits), review.postal_code,
                         as_date(review.birth_date), review.username)


def _phone_from_digits(digits: str) -> str:
    """The stored digits written the usual way again (a national number, else with +)."""
    region = str(get_setting("phone.region"))
    for text in (digits, "+" + digits):
        try:
            return normalise_phone("phone", text, region) if digits else ""
        except ValidationError:
            continue
    return digits


def _namesake(review: SignUpReview, household_id: int) -> int | None:
    """The member the request names, for per-member logins."""
    for member in Member.select().where(Member.household == household_id).order_by(Member.id):
        if (name_key(member.first_name), name_key(member.last_name)) == (
                name_key(review.first_name), name_key(review.last_name)):
            return member.id
    return None


def _is_clear(reasons: str) -> bool:
    keys = {key for key, label in FIELD_LABELS.items() if label in reasons.split(", ")}
    return sum(FIELD_POINTS[key] for key in keys) >= CLEAR_MATCH


def _household_labels(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {hid: f"{name} ({client})" for hid, name, client in Household.select(
        Household.id, Household.name, Household.client_id).where(Household.id.in_(ids)).tuples()}


def _comparison(request: SignUpRequest, profile: Profile | None,
                match: Match) -> tuple[Comparison, ...]:
    person = _closest_person(request, profile)
    on_file = {
        "first_name": person.first if person else "",
        "last_name": person.last if person else (profile.name if profile else ""),
        "birth_date": person.birth.isoformat() if person and person.birth else "",
        "email": _same_or_first(request.email.lower(), [profile.email, *(
            p.email for p in profile.people)] if profile else [], str.lower),
        "phone": _same_or_first(phone_key(request.phone_digits), [profile.phone_text, *(
            p.phone_text for p in profile.people)] if profile else [], phone_key),
        "postal_code": profile.postal if profile else "",
    }
    requested = {"first_name": request.first_name, "last_name": request.last_name,
                 "birth_date": request.birth_date.isoformat() if request.birth_date else "",
                 "email": request.email, "phone": request.phone,
                 "postal_code": request.postal_code}
    return tuple(Comparison(field, FIELD_LABELS[field].capitalize(), requested[field],
                            on_file[field], field in match.fields)
                 for field in ("first_name", "last_name", "birth_date", "email", "phone",
                               "postal_code"))


def _closest_person(request: SignUpRequest, profile: Profile | None) -> Person | None:
    """The member most like the request: same name and birth date, same name, same last name,
    else the first."""
    if profile is None or not profile.people:
        return None
    first, last = name_key(request.first_name), name_key(request.last_name)

    def likeness(person: Person) -> int:
        same_last = name_key(person.last) == last
        same_name = same_last and name_key(person.first) == first
        return same_last + same_name * 2 + (same_name and person.birth == request.birth_date)

    return max(profile.people, key=likeness)


def _same_or_first(wanted: str, values: list[str], key) -> str:
    values = [v for v in values if v]
    return next((v for v in values if key(v) == wanted), values[0] if values else "")


def _more_on_file(profile: Profile | None) -> tuple[tuple[str, str], ...]:
    if profile is None:
        return (("Household", "The household this request looked like no longer exists."),)
    household = Household.get_by_id(profile.household_id)
    members = "; ".join(f"{p.first} {p.last}".strip()
                        + (f" ({p.birth.isoformat()})" if p.birth else "")
                        for p in profile.people) or "none"
    logins = ", ".join(a.username for a in WebAccount.select(WebAccount.username)
                       .where(WebAccount.household == household.id).order_by(WebAccount.id))
    address = ", ".join(part for part in (household.address_line1, household.city,
                                          household.region) if part)
    return (("Client ID", household.client_id), ("Address", address or "—"),
            ("Members", members), ("Web logins", logins or "none yet"),
            ("Status", household.status))
