"""The portal API: the contract the organisation's website calls for its households.

Every answer is safe to show on a public page: an unknown user name answers exactly like a
wrong password (and takes as long), and the forgot flows answer the same whether or not an
account exists. Nothing here needs a staff session; every outcome is audited as "portal".
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlencode

from peewee import fn

from clerkdesk.models import Household, Member, WebAccount, database, utcnow

from . import audit, case_notes, email_templates, passwords, portal_sessions, search_index, tokens
from . import sign_up as sign_ups
from .account_links import (  # noqa: F401 - the link flows are part of the portal's API
    SIGN_IN,
    SIGN_UP,
    LinkRefused,
    LinkSignIn,
    redeem_login_link,
    redeem_sign_up_link,
)
from .account_store import (
    RESET,
    account_by_id,
    account_by_username,
    address_of,
    claim_username,
    hash_for,
    is_expired,
    merge_values,
    notice_message,
    save_account,
    store_secret,
)
from .contact_logins import login_id_from_typed
from .email_delivery import DeliveryError, OutgoingEmail, deliver
from .errors import ClerkDeskError, ValidationError
from .household_passwords import MAX_LENGTH, check_new_password, recipe
from .settings import PolicyView, bcrypt_cost, get_setting, password_policy, recent_setting
from .usernames import normalise_username
from .validation import normalise_email

log = logging.getLogger(__name__)
PORTAL = "portal"
WRONG_MESSAGE = "The user name or password is not correct."
FORGOT_USERNAME_ANSWER = ("If that email address is on file, we have sent it the user names "
                          "linked to it. Check your spam folder if it does not arrive.")
SELF_CHANGE_OFF = ("Changing your user name or password online is turned off. "
                   "Please contact the front desk.")
FORGOT_PASSWORD_ANSWER = ("If that user name exists and has an email address on file, we have "
                          "sent it a link to reset the password.")


class Outcome(StrEnum):
    OK = "ok"
    MUST_CHANGE = "must_change"
    WRONG = "wrong"
    FINAL_ATTEMPT_WARNING = "final_attempt_warning"
    LOCKED = "locked"
    DISABLED = "disabled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    message: str
    attempts_left: int | None = None  # only with the final-attempt warning
    account_id: int | None = None  # only when signed in (ok / must_change)

    @property
    def signed_in(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.MUST_CHANGE)


class PortalRefusal(ClerkDeskError):
    """A portal request that cannot be done; the message is safe to show the household."""


def authenticate(username: str, password: str) -> LoginResult:
    """Check a household's sign-in and count failures against the password device."""
    policy = password_policy()
    account = _lookup(username)
    if account is None or not isinstance(password, str) or not password:
        passwords.burn_equivalent_time(password if isinstance(password, str) else "",
                                       bcrypt_cost())
        _audit("unknown" if account is None else "empty", account)
        return LoginResult(Outcome.WRONG, WRONG_MESSAGE)
    if account.locked and not _auto_unlocked(account, policy):
        passwords.burn_equivalent_time(password, bcrypt_cost())
        _audit("locked", account)
        return LoginResult(Outcome.LOCKED, policy.locked_message)
    if not passwords.verify_secret(password, account.password_hash):
        return _count_failure(account, policy)
    return _succeed(account, password, policy)


def change_credentials(username: str, current_password: str, new_username: str,
                       new_password: str, confirm: str | None = None) -> LoginResult:
    """The household changes its user name and password: at first login (must-change), or
    later when the site allows it. The assigned name and password may be kept (seed 001)."""
    result = authenticate(username, current_password)
    if not result.signed_in:
        raise PortalRefusal(result.message)
    account = account_by_id(result.account_id)
    if not account.must_change and not self_change_allowed():
        raise PortalRefusal(SELF_CHANGE_OFF)
    keeping_assigned = account.must_change and new_password == current_password
    return _store_chosen(account, new_username, new_password, confirm, keeping_assigned)


def first_login_change(account_id: int, new_username: str, new_password: str,
                       confirm: str | None = None) -> LoginResult:
    """The first-login change for a household the portal has already signed in (by password
    or by a sign-in link), so it need not type the assigned PIN twice. Only an account that
    must change may use it; entering the assigned password again keeps it (seed 001)."""
    account = account_by_id(account_id)
    if not account.must_change or account.status != "active" or account.locked:
        raise PortalRefusal("Your sign-in details cannot be changed here. Sign in again.")
    keeping_assigned = (isinstance(new_password, str) and len(new_password) <= MAX_LENGTH
                        and passwords.verify_secret(new_password, account.password_hash))
    return _store_chosen(account, new_username, new_password, confirm, keeping_assigned)


def self_change_allowed() -> bool:
    """Whether households may change their user name and password after the first login;
    read at most a few seconds ago, since every landing page asks."""
    return bool(recent_setting("portal.allow_self_change"))


@dataclass(frozen=True)
class PortalHome:
    """What the signed-in landing page shows: never a secret, never another household."""
    username: str
    household_name: str
    members: tuple[str, ...]
    must_change: bool
    may_change: bool  # whether the page offers "change your user name or password"


def home(account_id: int) -> PortalHome:
    """The landing page's view: the account's household with its members, primary first."""
    view = portal_sessions.account_view(account_id)
    if view is None:
        raise PortalRefusal("Your account is no longer there. Please contact the front desk.")
    return PortalHome(view.username, view.household_name, view.members, view.must_change,
                      self_change_allowed())


def _store_chosen(account: WebAccount, new_username: str, new_password: str,
                  confirm: str | None, keeping_assigned: bool) -> LoginResult:
    new_username = normalise_username(new_username)
    confirm = new_password if confirm is None else confirm
    if not keeping_assigned:
        check_new_password(new_password, confirm, new_username, password_policy())
    elif new_password != confirm:
        raise ValidationError("confirm", "The passwords do not match.")
    hashed = hash_for(new_password, password_policy())
    with database.atomic():
        account = account_by_id(account.id)
        account.username_key = claim_username(account, new_username)
        account.username = new_username
        store_secret(account, hashed, must_change=False, source="owner")
        search_index.reindex(account.household_id)
        _audit("changed_credentials", account, action="portal.change_credentials")
        case_notes.add_system_note(account.household_id, "Web account",
                                   "Web user name and password changed by the household on "
                                   "the portal.")
    _notify(account)
    return LoginResult(Outcome.OK, "Your sign-in details were changed.", None, account.id)


def forgot_username(email: str) -> str:
    """Email every user name linked to `email`; the answer never says whether any exist."""
    address = normalise_email("email", email)
    accounts = _accounts_for_address(address)
    if accounts:
        _send_user_names(address, accounts)
    else:
        _audit("forgot_username_no_match", None, action="portal.forgot_username")
    return FORGOT_USERNAME_ANSWER


def forgot_password(username: str) -> str:
    """Email a single-use reset link; nothing on the account changes until it is used."""
    account = _lookup(username)
    if account is None or account.status != "active" or not address_of(account):
        _audit("forgot_password_no_match", account, action="portal.forgot_password")
        return FORGOT_PASSWORD_ANSWER
    hour_ago = utcnow() - timedelta(hours=1)
    if tokens.issued_since(RESET, account.id, hour_ago) >= int(
            get_setting("security.forgot_requests_per_hour")):
        _audit("forgot_password_rate_limited", account, action="portal.forgot_password")
        return FORGOT_PASSWORD_ANSWER
    _send_reset_link(account)
    return FORGOT_PASSWORD_ANSWER


def reset_password(token: str, new_password: str, confirm: str | None = None) -> LoginResult:
    """Choose a new password through a reset link; the link works once."""
    found = tokens.find_valid(RESET, token)
    account = account_by_id(found.web_account_id)
    policy = password_policy()
    check_new_password(new_password, new_password if confirm is None else confirm,
                       account.username, policy)
    hashed = hash_for(new_password, policy)
    with database.atomic():
        tokens.use(found)
        account = account_by_id(found.web_account_id)
        store_secret(account, hashed, must_change=False, source="owner")
        account.locked, account.locked_at, account.failed_attempts = False, None, 0
        save_account(account)
        _audit("reset_password", account, action="portal.reset_password")
        case_notes.add_system_note(account.household_id, "Web account",
                                   "Web password reset by the household through a reset link.")
    _notify(account)
    return LoginResult(Outcome.OK, "Your password was changed. You can sign in now.", None,
                       account.id)


def sign_up(first_name: str, last_name: str, email: str, phone: str, postal_code: str,
            birth_date: object, username: str, password: str,
            confirm: str) -> sign_ups.SignUpResult:
    """A household signs itself up; one that is already on file is not created twice (seed
    000). The rules live in `sign_up`; see there for the matching and its thresholds."""
    return sign_ups.sign_up(first_name, last_name, email, phone, postal_code, birth_date,
                            username, password, confirm)


def link_is_usable(kind: str, token: object) -> bool:
    """Whether a reset, sign-up or sign-in link can still be used, so the page can say so
    before the household types anything. Looking does not use the link up."""
    if kind not in (RESET, SIGN_UP, SIGN_IN):
        raise ValueError(f"unknown link kind {kind!r}")
    try:
        tokens.find_valid(kind, token)
    except tokens.InvalidToken:
        return False
    return True


# --- sign-in steps --------------------------------------------------------------------------

def _lookup(username: object) -> WebAccount | None:
    if isinstance(username, str):  # "(555) 010-2030" finds +15550102030 when IDs are phones
        username = login_id_from_typed(username)
    try:
        return account_by_username(normalise_username(username))
    except ValidationError:
        return None


def _auto_unlocked(account: WebAccount, policy: PolicyView) -> bool:
    minutes = policy.auto_unlock_minutes
    if not minutes or account.locked_at is None:
        return False
    if account.locked_at + timedelta(minutes=minutes) > utcnow():
        return False
    with database.atomic():
        WebAccount.update(locked=False, locked_at=None, failed_attempts=0).where(
            WebAccount.id == account.id).execute()
        _audit("auto_unlocked", account)
    account.locked, account.failed_attempts = False, 0
    return True


def _count_failure(account: WebAccount, policy: PolicyView) -> LoginResult:
    """One statement counts and locks, so concurrent failures never pass the maximum."""
    maximum = policy.max_attempts
    with database.atomic():
        changes = {WebAccount.failed_attempts: WebAccount.failed_attempts + 1}
        if maximum:
            changes[WebAccount.locked] = WebAccount.failed_attempts + 1 >= maximum
        counted = WebAccount.update(changes).where(
            (WebAccount.id == account.id) & (WebAccount.locked == False)  # noqa: E712
        ).execute()
        current = WebAccount.get_by_id(account.id)
        if counted and current.locked:
            current.locked_at = utcnow()
            WebAccount.update(locked_at=current.locked_at).where(
                WebAccount.id == account.id).execute()
        outcome = _failure_outcome(counted, current, policy)
        _audit(outcome.value, account, failed_attempts=current.failed_attempts)
    if outcome is Outcome.LOCKED:
        return LoginResult(outcome, policy.locked_message)
    if outcome is Outcome.FINAL_ATTEMPT_WARNING:
        return LoginResult(outcome, "The user name or password is not correct. You have one "
                           "attempt left before your account is locked.", 1)
    return LoginResult(Outcome.WRONG, WRONG_MESSAGE)


def _failure_outcome(counted: int, current: WebAccount, policy: PolicyView) -> Outcome:
    if not counted or current.locked:
        return Outcome.LOCKED
    left = policy.max_attempts - current.failed_attempts if policy.max_attempts else None
    if left == 1 and policy.final_attempt_warning:
        return Outcome.FINAL_ATTEMPT_WARNING
    return Outcome.WRONG


def _succeed(account: WebAccount, password: str, policy: PolicyView) -> LoginResult:
    if account.status != "active":
        _audit("disabled", account)
        return LoginResult(Outcome.DISABLED, "This account is disabled. Please contact the "
                           "front desk.")
    if is_expired(account):
        _audit("expired", account)
        return LoginResult(Outcome.EXPIRED, "Your temporary password has expired. Use “Forgot "
                           "password” or ask the front desk for a new one.")
    updates = {"failed_attempts": 0, "last_login": utcnow()}
    if passwords.needs_rehash(account.password_hash, recipe(policy)):
        updates["password_hash"] = passwords.hash_secret(password, recipe(policy))
    with database.atomic():
        WebAccount.update(**updates).where(WebAccount.id == account.id).execute()
        outcome = Outcome.MUST_CHANGE if account.must_change else Outcome.OK
        _audit(outcome.value, account)
    if outcome is Outcome.MUST_CHANGE:
        return LoginResult(outcome, "Welcome! Please choose your own user name and password "
                           "(you may keep the ones you were given).", None, account.id)
    return LoginResult(outcome, "Signed in.", None, account.id)


# --- forgot flows ---------------------------------------------------------------------------

def _accounts_for_address(address: str) -> list[WebAccount]:
    wanted = address.lower()
    own = WebAccount.select().where(fn.LOWER(WebAccount.email) == wanted)
    by_member = (WebAccount.select().join(Member, on=(WebAccount.member == Member.id))
                 .where((WebAccount.email == "") & (fn.LOWER(Member.email) == wanted)))
    by_household = (WebAccount.select().join(Household)
                    .where((WebAccount.email == "") & WebAccount.member.is_null()
                           & (fn.LOWER(Household.email) == wanted)))
    found = {a.id: a for query in (own, by_member, by_household) for a in query
             if a.status == "active"}
    return sorted(found.values(), key=lambda a: a.username_key)


def _send_user_names(address: str, accounts: list[WebAccount]) -> None:
    values = merge_values(accounts[0], WebID="\n".join(f"    {a.username}" for a in accounts))
    subject, body = email_templates.render(
        email_templates.get_template(email_templates.FORGOT_USER_NAME), values)
    if not _send(OutgoingEmail(address, subject, body), accounts[0], "forgot_username"):
        return
    with database.atomic():
        for household_id in sorted({a.household_id for a in accounts}):
            case_notes.add_system_note(household_id, "Forgot user name",
                                       f"Forgot user name: the user names were emailed to "
                                       f"{address}.")
        _audit("sent", accounts[0], action="portal.forgot_username")


def _send_reset_link(account: WebAccount) -> None:
    portal_url = str(get_setting("portal.url")).rstrip("/")
    if not portal_url:
        log.error("Forgot password for account %s: no portal address is set", account.id)
        return
    minutes = int(get_setting("security.reset_token_minutes"))
    with database.atomic():
        secret = tokens.issue(RESET, timedelta(minutes=minutes), account_id=account.id)
    link = f"{portal_url}/reset?{urlencode({'token': secret})}"
    values = merge_values(account, ResetLink=link)
    subject, body = email_templates.render(
        email_templates.get_template(email_templates.PASSWORD_RESET), values)
    address = address_of(account)
    if not _send(OutgoingEmail(address, subject, body), account, "forgot_password"):
        return
    with database.atomic():
        case_notes.add_system_note(account.household_id, "Forgot password",
                                   f"Forgot password: a reset link was emailed to {address}.")
        _audit("sent", account, action="portal.forgot_password")


def _send(message: OutgoingEmail, account: WebAccount, what: str) -> bool:
    """Send; a failure is logged and audited, and no case note says it was sent (seed 000)."""
    try:
        deliver([message])
    except (DeliveryError, ValidationError) as error:
        log.error("%s email for account %s not sent: %s", what, account.id, error)
        with database.atomic():
            _audit("email_failed", account, action=f"portal.{what}", problem=str(error))
        return False
    return True


def _notify(account: WebAccount) -> None:
    message = notice_message(account)
    if message is not None:
        _send(message, account, "change_notice")


def _audit(outcome: str, account: WebAccount | None, action: str = "portal.sign_in",
           **details: object) -> None:
    with database.atomic():
        audit.record(PORTAL, action, "web_account", account.id if account else "",
                     account.household_id if account else "", outcome=outcome, **details)
