"""Staff accounts: the first administrator, sign-in with lockout, and staff administration."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from clerkdesk.models import Role, StaffUser, database, utcnow

from . import audit, passwords
from .errors import ConflictError, NotFound, SignInFailed, ValidationError
from .permissions import ADMINISTRATOR, CLERK, SUPERVISOR, Permission, require
from .session import StaffSession
from .settings import bcrypt_cost, get_setting
from .unit_of_work import transactional
from .validation import clean_text, fold_key

_USERNAME = re.compile(r"^[\w.@+-]+$")
ROLE_ALIASES = {"admin": ADMINISTRATOR, "administrator": ADMINISTRATOR,
                "supervisor": SUPERVISOR, "clerk": CLERK}
WRONG_CREDENTIALS = "The user name or password is not correct."


@dataclass(frozen=True)
class StaffView:
    username: str
    display_name: str
    role: str
    active: bool
    locked: bool
    last_sign_in: datetime | None


def needs_first_administrator() -> bool:
    """True on a new database: nobody can sign in until an administrator exists."""
    return not StaffUser.select().exists()


@transactional
def create_first_administrator(
    username: str, display_name: str, password: str, confirm: str
) -> StaffSession:
    """Create the first administrator; refused once any staff account exists."""
    if not needs_first_administrator():
        raise ConflictError("An administrator already exists. Sign in with that account.")
    staff = _create(username, display_name, password, confirm, ADMINISTRATOR)
    audit.record(staff.username, "staff.create_first_admin", "staff", staff.id)
    return _session(staff)


@transactional
def add_staff(
    actor: StaffSession,
    username: str,
    display_name: str,
    password: str,
    role: str,
    confirm: str | None = None,
) -> StaffView:
    require(actor, Permission.STAFF_ADMIN)
    staff = _create(username, display_name, password, password if confirm is None else confirm,
                    role)
    audit.record(actor, "staff.add", "staff", staff.id, username=staff.username, role=role)
    return _view(staff)


def add_staff_unchecked(username: str, display_name: str, password: str, role: str) -> None:
    """Add staff with no actor: only for seeding the demo database inside its own job."""
    staff = _create(username, display_name, password, password, role)
    audit.record(None, "staff.add", "staff", staff.id, username=staff.username, role=role)


def list_staff(actor: StaffSession) -> list[StaffView]:
    require(actor, Permission.STAFF_ADMIN)
    query = StaffUser.select(StaffUser, Role).join(Role).order_by(StaffUser.username_key)
    return [_view(staff) for staff in query]


@transactional
def set_staff_active(actor: StaffSession, username: str, active: bool) -> StaffView:
    require(actor, Permission.STAFF_ADMIN)
    staff = _find(username)
    if not active and staff.id == actor.staff_id:
        raise ConflictError("You cannot disable your own account while signed in with it.")
    if not active:
        _keep_an_administrator(excluding=staff.id)
    staff.active = active
    staff.save()
    audit.record(actor, "staff.enable" if active else "staff.disable", "staff", staff.id)
    return _view(staff)


@transactional
def set_staff_role(actor: StaffSession, username: str, role: str) -> StaffView:
    require(actor, Permission.STAFF_ADMIN)
    staff = _find(username)
    new_role = _role(role)
    if staff.role.name == ADMINISTRATOR and new_role.name != ADMINISTRATOR:
        _keep_an_administrator(excluding=staff.id)
    old = staff.role.name
    staff.role = new_role
    staff.save()
    audit.record(actor, "staff.set_role", "staff", staff.id, old=old, new=new_role.name)
    return _view(staff)


@transactional
def unlock_staff(actor: StaffSession, username: str) -> StaffView:
    require(actor, Permission.STAFF_ADMIN)
    staff = _find(username)
    staff.failed_attempts, staff.locked_until = 0, None
    staff.save()
    audit.record(actor, "staff.unlock", "staff", staff.id)
    return _view(staff)


@transactional
def reset_staff_password(
    actor: StaffSession, username: str, password: str, confirm: str
) -> StaffView:
    require(actor, Permission.STAFF_ADMIN)
    staff = _find(username)
    _check_new_password(password, confirm, staff.username)
    staff.password_hash = passwords.hash_secret(password, _recipe())
    staff.password_changed_at = utcnow()
    staff.failed_attempts, staff.locked_until = 0, None
    staff.save()
    audit.record(actor, "staff.reset_password", "staff", staff.id)
    return _view(staff)


def sign_in(username: str, password: str) -> StaffSession:
    """Check a staff sign-in; raises SignInFailed with a message for each outcome."""
    if not (username or "").strip():
        raise SignInFailed("empty", "Enter your user name.")
    if not password:
        raise SignInFailed("empty", "Enter your password.")
    staff = StaffUser.get_or_none(StaffUser.username_key == fold_key(username.strip()))
    if staff is None:
        passwords.burn_equivalent_time(password, bcrypt_cost())
        _audit_sign_in(username.strip()[:150], "unknown_user")
        raise SignInFailed("invalid", WRONG_CREDENTIALS)
    if staff.locked_until and staff.locked_until > utcnow():
        passwords.burn_equivalent_time(password, bcrypt_cost())
        _audit_sign_in(staff.username, "locked")
        raise SignInFailed("locked", _locked_message(staff.locked_until))
    # The hash is checked outside any transaction: it is slow and needs no lock.
    if not passwords.verify_secret(password, staff.password_hash):
        _count_failure(staff)
    if not staff.active:
        _audit_sign_in(staff.username, "disabled")
        raise SignInFailed("disabled", "This staff account is disabled. Ask an administrator.")
    _record_success(staff, password)
    return _session(staff)


def sign_out(session: StaffSession) -> None:
    with database.atomic():
        audit.record(session, "staff.sign_out", "staff", session.staff_id)


def _count_failure(staff: StaffUser) -> None:
    """Count a wrong password atomically and lock at the limit; always raises SignInFailed."""
    limit = int(get_setting("staff.max_failed_sign_ins"))
    locked_until = None
    with database.atomic():
        StaffUser.update(failed_attempts=StaffUser.failed_attempts + 1).where(
            StaffUser.id == staff.id
        ).execute()
        if StaffUser.get_by_id(staff.id).failed_attempts >= limit:
            locked_until = utcnow() + timedelta(minutes=int(get_setting("staff.lockout_minutes")))
            StaffUser.update(locked_until=locked_until, failed_attempts=0).where(
                StaffUser.id == staff.id
            ).execute()
        outcome = "wrong" if locked_until is None else "locked_out"
        audit.record(staff.username, "staff.sign_in", "staff", staff.id, outcome=outcome)
    # Raised after the commit: raising inside atomic() would roll the count back.
    if locked_until is not None:
        raise SignInFailed("locked", _locked_message(locked_until))
    raise SignInFailed("invalid", WRONG_CREDENTIALS)


def _record_success(staff: StaffUser, password: str) -> None:
    updates = {"failed_attempts": 0, "locked_until": None, "last_sign_in": utcnow()}
    if passwords.needs_rehash(staff.password_hash, _recipe()):
        updates["password_hash"] = passwords.hash_secret(password, _recipe())
    with database.atomic():
        StaffUser.update(**updates).where(StaffUser.id == staff.id).execute()
        audit.record(staff.username, "staff.sign_in", "staff", staff.id, outcome="ok")


def _audit_sign_in(username: str, outcome: str) -> None:
    with database.atomic():
        audit.record(username, "staff.sign_in", "staff", "", outcome=outcome)


def _locked_message(until: datetime) -> str:
    minutes = max(1, round((until - utcnow()).total_seconds() / 60))
    return (
        "This staff account is locked after too many wrong passwords. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
        "or ask an administrator to unlock it."
    )


def _create(username: str, display_name: str, password: str, confirm: str, role: str
            ) -> StaffUser:
    username = clean_text("user name", username, max_length=150, required=True)
    if not _USERNAME.match(username):
        raise ValidationError(
            "user name",
            "A staff user name may hold letters, digits and . _ @ + - only (no spaces).",
        )
    display_name = clean_text("display name", display_name, max_length=150)
    role_row = _role(role)
    _check_new_password(password, confirm, username)
    if StaffUser.select().where(StaffUser.username_key == fold_key(username)).exists():
        raise ValidationError("user name", f"A staff member called “{username}” already exists.")
    return StaffUser.create(
        username=username,
        username_key=fold_key(username),
        display_name=display_name or username,
        password_hash=passwords.hash_secret(password, _recipe()),
        role=role_row,
    )


def _check_new_password(password: str, confirm: str, username: str) -> None:
    minimum = int(get_setting("staff.min_password_length"))
    if not isinstance(password, str) or not password:
        raise ValidationError("password", "Enter a password.")
    if password != confirm:
        raise ValidationError("confirm", "The two passwords do not match.")
    if len(password) < minimum:
        raise ValidationError("password", f"The password must be at least {minimum} characters.")
    if fold_key(password) == fold_key(username):
        raise ValidationError("password", "The password cannot be the user name.")
    if "\x00" in password:
        raise ValidationError("password", "The password contains a NUL character.")


def _keep_an_administrator(excluding: int) -> None:
    others = (
        StaffUser.select()
        .join(Role)
        .where((Role.name == ADMINISTRATOR) & StaffUser.active & (StaffUser.id != excluding))
    )
    if not others.exists():
        raise ConflictError("This is the last active administrator; add another one first.")


def _find(username: str) -> StaffUser:
    key = fold_key((username or "").strip())
    staff = StaffUser.select(StaffUser, Role).join(Role).where(StaffUser.username_key == key)
    found = staff.first()
    if found is None:
        raise NotFound(f"There is no staff member called “{username}”.")
    return found


def _role(name: str) -> Role:
    wanted = (name or "").strip()
    wanted = ROLE_ALIASES.get(wanted.casefold(), wanted)
    role = Role.get_or_none(Role.name == wanted)
    if role is None:
        names = ", ".join(r.name for r in Role.select().order_by(Role.name))
        raise ValidationError("role", f"There is no role “{name}”. Roles: {names}.")
    return role


def _recipe() -> passwords.HashRecipe:
    return passwords.HashRecipe(cost=bcrypt_cost(), case_sensitive=True)


def _session(staff: StaffUser) -> StaffSession:
    return StaffSession(staff.id, staff.username, staff.display_name)


def _view(staff: StaffUser) -> StaffView:
    locked = bool(staff.locked_until and staff.locked_until > utcnow())
    return StaffView(staff.username, staff.display_name, staff.role.name, staff.active, locked,
                     staff.last_sign_in)


def role_of(session: StaffSession) -> str:
    """The role the signed-in staff member holds now (it may have changed since sign-in)."""
    role = Role.select(Role.name).join(StaffUser).where(StaffUser.id == session.staff_id).first()
    return role.name if role else ""
