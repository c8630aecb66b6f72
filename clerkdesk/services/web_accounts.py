"""Clerk-side web-account services (Web Details, Portal Accounts, the CLI).

Each is gated by its permission device and audited. Nothing here returns, logs or audits a
current password or its hash: AccountView has no such field, and the only plain secret that
ever leaves is a freshly minted temporary password, returned once to the caller.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from clerkdesk.models import Household, Member, WebAccount, database, utcnow

from . import audit, case_notes, email_templates, search_index, welcome
from .account_store import (
    account_by_id,
    account_by_username,
    address_of,
    claim_username,
    fresh_credential,
    hash_for,
    is_expired,
    merge_values,
    notice_message,
    required_address,
    save_account,
    store_secret,
)
from .email_delivery import DeliveryError, OutgoingEmail, deliver
from .errors import NotFound, ValidationError
from .household_passwords import check_new_password, mint_temporary_password
from .permissions import Permission, require, require_signed_in
from .session import StaffSession
from .settings import password_policy
from .usernames import normalise_username

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountView:
    """What anyone may see of a web account: never the password, its hash or its length."""

    id: int
    household_id: int
    member_id: int | None
    username: str
    status: str
    must_change: bool
    failed_attempts: int
    locked: bool
    locked_at: datetime | None
    last_login: datetime | None
    password_set: bool
    password_expires_at: datetime | None
    password_expired: bool
    credentials_delivered_at: datetime | None
    email: str
    created_at: datetime
    changed_at: datetime

    @property
    def state(self) -> str:
        """One word for lists: disabled, locked or active."""
        return "disabled" if self.status != "active" else "locked" if self.locked else "active"


@dataclass(frozen=True)
class CredentialEmailResult:
    account: AccountView
    address: str
    sent: bool
    problem: str = ""


def view(account: WebAccount) -> AccountView:
    return AccountView(
        account.id, account.household_id, account.member_id, account.username, account.status,
        account.must_change, account.failed_attempts, account.locked, account.locked_at,
        account.last_login, account.password_hash is not None, account.password_expires_at,
        is_expired(account), account.credentials_delivered_at, address_of(account),
        account.created_at, account.changed_at)


# --- reading --------------------------------------------------------------------------------

def get_account(actor: StaffSession, account_id: int) -> AccountView:
    require_signed_in(actor)
    return view(account_by_id(account_id))


def find_account(actor: StaffSession, username: str) -> AccountView:
    require_signed_in(actor)
    account = account_by_username(normalise_username(username))
    if account is None:
        raise NotFound(f"There is no web account with the user name “{username}”.")
    return view(account)


def account_for(actor: StaffSession, household_id: int, member_id: int | None = None
                ) -> AccountView | None:
    """The household's login (or the member's, with per-member accounts), if it has one."""
    require_signed_in(actor)
    query = WebAccount.select().where(WebAccount.household == household_id)
    if member_id is not None:
        query = query.where(WebAccount.member == member_id)
    account = query.order_by(WebAccount.id).first()
    return view(account) if account else None


# --- creating and changing ------------------------------------------------------------------

def create_account(actor: StaffSession, household_id: int, username: str,
                   password: str | None = None, confirm: str | None = None, *,
                   member_id: int | None = None, must_change: bool = True) -> AccountView:
    """A login for a household (or one member). Without a password the household sets one
    through Forgot password (seed 000); with one, it is the password given at registration."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    username = normalise_username(username)
    policy = password_policy()
    if password:
        check_new_password(password, confirm, username, policy,
                           chosen_by_household=not must_change)
    hashed = hash_for(password, policy) if password else None
    with database.atomic():
        household = _household(household_id, member_id)
        account = WebAccount(household=household, member=member_id, username=username,
                             username_key=claim_username(None, username), must_change=True)
        save_account(account)
        if hashed:
            store_secret(account, hashed, must_change=must_change,
                         source="assigned" if must_change else "owner")
        search_index.reindex(household.id)
        audit.record(actor, "web_account.create", "web_account", account.id, household.id,
                     username=username, set_at_creation=bool(hashed))
        case_notes.add_system_note(household.id, "Web account",
                                   f"Web account “{username}” created by {actor.label}.", actor)
    welcome.on_account_activated(account)
    return view(account)


def set_username(actor: StaffSession, account_id: int, username: str) -> AccountView:
    require(actor, Permission.WEB_DETAILS_CHANGE)
    return update_web_details(actor, account_id, WebDetailsChange(username=username))


def set_password(actor: StaffSession, account_id: int, password: str, confirm: str, *,
                 must_change: bool = True) -> AccountView:
    """A password the clerk typed (new + re-entered). With must-change it is temporary and
    expires; without, it is the household's own, chosen at the counter."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    change = WebDetailsChange(password=password or "", confirm=confirm or "",
                              must_change=must_change)
    if not change.password:
        check_new_password(password, confirm, "", password_policy())
    return update_web_details(actor, account_id, change)


def issue_temporary_password(actor: StaffSession, account_id: int) -> str:
    """Mint, store (must change, expiring) and return a password once, to read out."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    account = account_by_id(account_id)
    temporary = mint_temporary_password()
    hashed = hash_for(temporary, password_policy())
    with database.atomic():
        account = account_by_id(account_id)
        store_secret(account, hashed, must_change=True, source="assigned")
        _record_password_change(actor, account, "temporary password issued")
    _send_notice(account)
    return temporary


def set_must_change(actor: StaffSession, account_id: int, must_change: bool) -> AccountView:
    require(actor, Permission.WEB_DETAILS_CHANGE)
    return update_web_details(actor, account_id, WebDetailsChange(must_change=must_change))


def lock_account(actor: StaffSession, account_id: int) -> AccountView:
    require(actor, Permission.WEB_ACCOUNT_UNLOCK)
    return update_web_details(actor, account_id, WebDetailsChange(locked=True))


def unlock_account(actor: StaffSession, account_id: int) -> AccountView:
    require(actor, Permission.WEB_ACCOUNT_UNLOCK)
    return update_web_details(actor, account_id, WebDetailsChange(locked=False))


def set_account_active(actor: StaffSession, account_id: int, active: bool) -> AccountView:
    require(actor, Permission.WEB_ACCOUNT_DISABLE)
    return update_web_details(actor, account_id, WebDetailsChange(active=active))


def delete_account(actor: StaffSession, account_id: int) -> None:
    """Remove the portal login; the household record stays."""
    require(actor, Permission.WEB_ACCOUNT_DISABLE)
    with database.atomic():
        account = account_by_id(account_id)
        audit.record(actor, "web_account.delete", "web_account", account.id,
                     account.household_id, username=account.username)
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"Web account “{account.username}” deleted by "
                                   f"{actor.label}.", actor)
        account.delete_instance()
        search_index.reindex(account.household_id)


# --- the Web Details dialog's Done ------------------------------------------------------------

@dataclass(frozen=True)
class WebDetailsChange:
    """What the clerk changed in Web Details; None or empty means "leave as it is"."""

    username: str | None = None
    password: str = ""
    confirm: str = ""
    must_change: bool | None = None
    locked: bool | None = None
    active: bool | None = None


def update_web_details(actor: StaffSession, account_id: int,
                       change: WebDetailsChange) -> AccountView:
    """Apply every change at once: each needs its permission, and one refusal changes nothing."""
    account = account_by_id(account_id)
    wanted = _wanted_changes(account, change)
    for permission in _permissions_for(wanted):
        require(actor, permission)
    username = normalise_username(change.username) if "username" in wanted else None
    hashed, must_change = None, True if change.must_change is None else change.must_change
    if "password" in wanted:
        policy = password_policy()
        check_new_password(change.password, change.confirm, username or account.username,
                           policy, chosen_by_household=not must_change)
        hashed = hash_for(change.password, policy)
    with database.atomic():
        account = account_by_id(account_id)
        if username is not None:
            _apply_username(actor, account, username)
        if hashed is not None:
            store_secret(account, hashed, must_change=must_change,
                         source="assigned" if must_change else "owner")
            _record_password_change(actor, account, "set by clerk")
        _apply_flags(actor, account, wanted, change)
    if "active" in wanted and change.active:
        welcome.on_account_activated(account)
    if username is not None or hashed is not None:
        _send_notice(account)
    return view(account)


def _wanted_changes(account: WebAccount, change: WebDetailsChange) -> set[str]:
    wanted = set()
    if change.username is not None and change.username.strip() != account.username:
        wanted.add("username")
    if change.password or change.confirm:
        wanted.add("password")
    if change.must_change is not None and change.must_change != account.must_change:
        wanted.add("must_change")
    if change.locked is not None and change.locked != account.locked:
        wanted.add("locked")
    if change.active is not None and change.active != (account.status == "active"):
        wanted.add("active")
    return wanted


def _permissions_for(wanted: set[str]) -> list[Permission]:
    needed = {"username": Permission.WEB_DETAILS_CHANGE,
              "password": Permission.WEB_DETAILS_CHANGE,
              "must_change": Permission.WEB_DETAILS_CHANGE,
              "locked": Permission.WEB_ACCOUNT_UNLOCK,
              "active": Permission.WEB_ACCOUNT_DISABLE}
    return sorted({needed[name] for name in wanted})


def _apply_username(actor: StaffSession, account: WebAccount, username: str) -> None:
    old = account.username
    account.username_key = claim_username(account, username)
    account.username = username
    save_account(account)
    search_index.reindex(account.household_id)
    audit.record(actor, "web_account.set_username", "web_account", account.id,
                 account.household_id, old=old, new=username)
    case_notes.add_system_note(account.household_id, "Web account",
                               f"Web user name changed from “{old}” to “{username}” by "
                               f"{actor.label}.", actor)


def _apply_flags(actor: StaffSession, account: WebAccount, wanted: set[str],
                 change: WebDetailsChange) -> None:
    if "must_change" in wanted and "password" not in wanted:
        account.must_change = change.must_change
        if not change.must_change:
            account.password_expires_at = None
        audit.record(actor, "web_account.set_must_change", "web_account", account.id,
                     account.household_id, must_change=change.must_change)
    if "locked" in wanted:
        account.locked = change.locked
        account.locked_at = utcnow() if change.locked else None
        if not change.locked:
            account.failed_attempts = 0
        _note_flag(actor, account, "lock" if change.locked else "unlock",
                   "locked" if change.locked else "unlocked")
    if "active" in wanted:
        account.status = "active" if change.active else "disabled"
        _note_flag(actor, account, "enable" if change.active else "disable",
                   "enabled" if change.active else "disabled")
    save_account(account)


def _note_flag(actor: StaffSession, account: WebAccount, action: str, done: str) -> None:
    audit.record(actor, f"web_account.{action}", "web_account", account.id,
                 account.household_id)
    case_notes.add_system_note(account.household_id, "Web account",
                               f"Web account “{account.username}” {done} by {actor.label}.",
                               actor)


# --- emailing credentials -------------------------------------------------------------------

def email_credentials(actor: StaffSession, account_id: int, password: str = "",
                      confirm: str = "", *, mint_if_empty: bool = False,
                      keep_change_if_unsent: bool = False) -> CredentialEmailResult:
    """"Email User Name and Password to Household": two emails, user name then password.

    The password is the one the clerk just typed, or a temporary one minted now (only with
    `mint_if_empty`, after the clerk agreed). The new hash is stored and both emails sent in
    one transaction: if the mail cannot go out, the password is not changed, unless the clerk
    chose `keep_change_if_unsent`.
    """
    require(actor, Permission.WEB_DETAILS_EMAIL)
    if password:
        require(actor, Permission.WEB_DETAILS_CHANGE)
    account = account_by_id(account_id)
    address = required_address(account)
    policy = password_policy()
    if password:
        check_new_password(password, confirm, account.username, policy, chosen_by_household=False)
    elif not mint_if_empty:
        raise ValidationError("password", "Type a new password to email, or agree to send a "
                              "freshly minted temporary one (the current password cannot be "
                              "read or sent).")
    secret = password or fresh_credential(account)
    messages = _credential_messages(account, address, secret)
    hashed = hash_for(secret, policy)
    try:
        with database.atomic():
            account = account_by_id(account_id)
            store_secret(account, hashed, must_change=True, source="assigned")
            account.credentials_delivered_at = utcnow()
            save_account(account)
            _record_password_change(actor, account, f"user name and password emailed to "
                                    f"{address}")
            deliver(messages)  # inside the transaction: a failure rolls the change back
    except DeliveryError as error:
        if not (keep_change_if_unsent and password):  # a minted one nobody received is useless
            raise
        return _keep_unsent_change(actor, account_id, hashed, address, error)
    return CredentialEmailResult(view(account), address, sent=True)


def _credential_messages(account: WebAccount, address: str, secret: str
                         ) -> list[OutgoingEmail]:
    """Both emails rendered before anything changes: a bad template stops it all."""
    values = merge_values(account, WebPin=secret)
    messages = []
    for name in (email_templates.USER_NAME_EMAIL, email_templates.PASSWORD_EMAIL):
        subject, body = email_templates.render(email_templates.get_template(name), values)
        messages.append(OutgoingEmail(address, subject, body))
    return messages


def _keep_unsent_change(actor: StaffSession, account_id: int, hashed: str, address: str,
                        error: DeliveryError) -> CredentialEmailResult:
    with database.atomic():
        account = account_by_id(account_id)
        store_secret(account, hashed, must_change=True, source="assigned")
        _record_password_change(actor, account, "changed; its email could not be sent "
                                f"({error.message})")
    return CredentialEmailResult(view(account), address, sent=False, problem=error.message)


# --- helpers --------------------------------------------------------------------------------

def _record_password_change(actor: StaffSession, account: WebAccount, how: str) -> None:
    audit.record(actor, "web_account.set_password", "web_account", account.id,
                 account.household_id, how=how)
    case_notes.add_system_note(account.household_id, "Web account",
                               f"Web password {how} by {actor.label}.", actor)


def _send_notice(account: WebAccount) -> None:
    """Tell the household its sign-in changed; best effort, recorded either way."""
    try:
        message = notice_message(account)
        if message is not None:
            deliver([message])
    except (DeliveryError, ValidationError) as error:
        log.warning("Change notice for web account %s not sent: %s", account.id, error)
        with database.atomic():
            case_notes.add_system_note(account.household_id, "Web account",
                                       f"The change notice could not be emailed: {error}")


def _household(household_id: int, member_id: int | None) -> Household:
    household = Household.get_or_none(Household.id == household_id)
    if household is None:
        raise NotFound("That household does not exist (any more).")
    if member_id is not None and not Member.select().where(
            (Member.id == member_id) & (Member.household == household)).exists():
        raise NotFound("That member does not belong to this household.")
    return household
