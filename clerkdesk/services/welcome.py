"""The welcome email (seeds 002 and 003): when an account becomes active and the site wants
it, the household is emailed its user name and a link to choose its password, never a password.

The link is a reset-kind token with a longer lifetime, so the portal redeems it with
`portal.reset_password`. Sending voids the account's earlier reset links: the household's
newest email is always the one that works.
"""

import logging
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlencode

from clerkdesk.models import WebAccount, database

from . import audit, case_notes, email_templates, tokens
from .account_store import RESET, account_by_id, merge_values, required_address
from .email_delivery import OutgoingEmail, deliver
from .errors import ClerkDeskError, ConflictError
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting, required_portal_url

log = logging.getLogger(__name__)
WELCOME_SETTING = "accounts.welcome_email"
SET_PASSWORD_PATH = "/reset"  # the portal's reset page: the same API takes the token


class HasId(Protocol):
    id: int


def on_account_activated(account: HasId) -> None:
    """Hook for web_accounts: an account was created active or enabled again. Sends the
    welcome email when the setting is on; a failure is recorded, never raised, because the
    activation itself stands."""
    if not get_setting(WELCOME_SETTING):
        return
    try:
        _send_welcome(account.id, None)
    except ClerkDeskError as error:
        log.warning("Welcome email for web account %s not sent: %s", account.id, error)
        _record_unsent(account.id, error)


def send_welcome(account_id: int) -> str:
    """Email the welcome message now; returns the address. Raises when it cannot go out."""
    return _send_welcome(account_id, None)


def resend_welcome(actor: StaffSession, account_id: int) -> str:
    """The clerk's "Resend welcome email"; works whether or not the setting is on."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    return _send_welcome(account_id, actor)


def _send_welcome(account_id: int, actor: StaffSession | None) -> str:
    account = account_by_id(account_id)
    address = _checked_address(account)
    portal_url = required_portal_url()
    lifetime = timedelta(days=int(get_setting("security.welcome_link_days")))
    with database.atomic():  # a failed send rolls back the new link and keeps the old ones
        account = account_by_id(account_id)
        tokens.void_for_account(account.id, RESET)
        secret = tokens.issue(RESET, lifetime, account_id=account.id)
        link = f"{portal_url}{SET_PASSWORD_PATH}?{urlencode({'token': secret})}"
        template = email_templates.get_template(email_templates.WELCOME)
        subject, body = email_templates.render(template, merge_values(account, ResetLink=link))
        audit.record(actor, "web_account.welcome", "web_account", account.id,
                     account.household_id, to=address, outcome="sent")
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"Welcome email with a choose-your-password link sent to "
                                   f"{address}{_by(actor)}.", actor)
        deliver([OutgoingEmail(address, subject, body)])
    return address


def _checked_address(account: WebAccount) -> str:
    if account.status != "active":
        raise ConflictError(f"The web account “{account.username}” is disabled. Enable it "
                            "before sending a welcome email.")
    return required_address(account)


def _record_unsent(account_id: int, error: ClerkDeskError) -> None:
    account = WebAccount.get_or_none(WebAccount.id == account_id)
    if account is None:
        return
    with database.atomic():
        audit.record(None, "web_account.welcome", "web_account", account.id,
                     account.household_id, outcome="not_sent", problem=error.message)
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"The welcome email could not be sent: {error.message}")


def _by(actor: StaffSession | None) -> str:
    return f" by {actor.label}" if actor else ""
