"""Links and credentials a clerk sends a household, and the portal calls that redeem them.

- A *sign-in link* (seed 003 "Send the client portal login link") signs the account in once.
- A *sign-up link* (seed 002 "generate link") lets an existing household create its own
  portal account, attached to its record; the clerk copies it or emails it.
- *Send Customer Portal Credentials* (seed 004) mails a message the clerk may edit; a
  `<WebPin>` in it becomes a new PIN when it is sent (decision 2), stored only as a hash.

Links are single-use tokens stored hashed (services.tokens); their secret exists only in the
link. The redeeming functions need no staff session and are audited as "portal".
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from clerkdesk.models import Household, Member, WebAccount, database, utcnow

from . import audit, case_notes, email_templates, search_index, tokens, welcome
from .account_store import (
    account_by_id,
    address_of,
    claim_username,
    hash_for,
    merge_values,
    new_owned_account,
    required_address,
    save_account,
    store_secret,
)
from .contact_logins import credential_for
from .email_delivery import OutgoingEmail, deliver
from .email_templates import TemplateView
from .errors import ClerkDeskError, ConflictError, NotFound, ValidationError
from .household_passwords import check_new_password
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting, password_policy, required_portal_url
from .tokens import InvalidToken
from .usernames import normalise_username
from .validation import clean_text, normalise_email
from .web_accounts import AccountView, view

PORTAL = "portal"
SIGN_IN, SIGN_UP = "login", "signup"  # token kinds
SIGN_IN_PATH, SIGN_UP_PATH = "/link-sign-in", "/sign-up"  # the portal pages that redeem them
MAX_SUBJECT, MAX_MESSAGE = 300, 5_000
PIN_FIELD = "<WebPin>"
# Fields a clerk's own credentials message can fill (a reset link belongs to its own email).
MESSAGE_FIELDS = tuple(f for f in email_templates.MERGE_FIELDS if f != "ResetLink")
_MESSAGE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class LinkRefused(ClerkDeskError):
    """A valid link for an account that may not sign in now; the message is safe to show."""


@dataclass(frozen=True)
class LinkSignIn:
    """Who a redeemed link signed in. With `must_change` the portal asks for a new password."""

    account_id: int
    username: str
    must_change: bool


@dataclass(frozen=True)
class SignUpLink:
    link: str
    household_id: int
    expires_at: datetime
    emailed_to: str = ""


@dataclass(frozen=True)
class CredentialsMessage:
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class CredentialsSent:
    address: str
    pin_changed: bool
    account: AccountView


# --- sign-in links --------------------------------------------------------------------------

def send_login_link(actor: StaffSession, account_id: int) -> str:
    """Email the account a single-use, expiring sign-in link; returns the address. Earlier
    sign-in links stop working."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    account = account_by_id(account_id)
    _refuse_unusable(account)
    address = required_address(account)
    lifetime = timedelta(hours=int(get_setting("security.login_link_hours")))
    with database.atomic():  # a failed send stores no link and keeps the earlier ones
        account = account_by_id(account_id)
        tokens.void_for_account(account.id, SIGN_IN)
        link = _link(SIGN_IN_PATH, tokens.issue(SIGN_IN, lifetime, account_id=account.id))
        message = _rendered(email_templates.SIGN_IN_LINK, merge_values(account, ResetLink=link))
        audit.record(actor, "web_account.send_login_link", "web_account", account.id,
                     account.household_id, to=address)
        case_notes.add_system_note(account.household_id, "Web account",
                                   f"A sign-in link was emailed to {address} by "
                                   f"{actor.label}.", actor)
        deliver([OutgoingEmail(address, *message)])
    return address


def redeem_login_link(secret: str) -> LinkSignIn:
    """The portal opens a sign-in link: the account it signs in, once."""
    found = tokens.find_valid(SIGN_IN, secret)
    account = account_by_id(found.web_account_id)
    try:
        _refuse_unusable(account)
    except ConflictError as refusal:
        _portal_audit("portal.link_sign_in", account, outcome="refused")
        raise LinkRefused(_portal_text(account)) from refusal
    with database.atomic():
        tokens.use(found)
        WebAccount.update(last_login=utcnow(), failed_attempts=0).where(
            WebAccount.id == account.id).execute()
        _portal_audit("portal.link_sign_in", account, outcome="ok")
    return LinkSignIn(account.id, account.username, account.must_change)


# --- sign-up links --------------------------------------------------------------------------

def sign_up_link(actor: StaffSession, household_id: int, email: str | None = None
                 ) -> SignUpLink:
    """A single-use, expiring link that lets this household create its own portal account;
    emailed too when an address is given."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    address = _sign_up_address(actor, email)
    lifetime = timedelta(days=int(get_setting("security.sign_up_link_days")))
    portal_url = required_portal_url()
    with database.atomic():  # a failed send leaves no link behind
        household = _household(household_id)
        secret = tokens.issue(SIGN_UP, lifetime, household_id=household.id)
        link = _link(SIGN_UP_PATH, secret, portal_url)
        audit.record(actor, "household.sign_up_link", "household", household.id, household.id,
                     to=address)
        case_notes.add_system_note(household.id, "Web account",
                                   f"A portal sign-up link was made by {actor.label}.", actor)
        if address:
            _email_sign_up(actor, household, link, address)
    return SignUpLink(link, household.id, utcnow() + lifetime, address)


def email_sign_up_link(actor: StaffSession, household_id: int, link: str, email: str
                       ) -> SignUpLink:
    """Email a sign-up link made earlier (the one on the clerk's screen) to `email`."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    address = normalise_email("email", email)
    secret = _secret_in(link)
    found = tokens.find_valid(SIGN_UP, secret)
    if found.household_id != household_id:
        raise InvalidToken()
    with database.atomic():
        household = _household(household_id)
        clean_link = _link(SIGN_UP_PATH, secret)  # never mail text we did not make
        audit.record(actor, "household.sign_up_link", "household", household.id, household.id,
                     to=address)
        _email_sign_up(actor, household, clean_link, address)
    return SignUpLink(clean_link, household_id, found.expires_at, address)


def redeem_sign_up_link(secret: str, username: str, password: str, confirm: str
                        ) -> LinkSignIn:
    """The portal's sign-up page: create the household's account with the user name and
    password it chose. The link works once; a refused name or password does not use it up."""
    found = tokens.find_valid(SIGN_UP, secret)
    _linked_household(found.household_id)
    username = normalise_username(username)
    policy = password_policy()
    check_new_password(password, confirm, username, policy)
    claim_username(None, username)  # the clear message before the slow hash
    hashed = hash_for(password, policy)
    with database.atomic():
        tokens.use(found)
        household = _linked_household(found.household_id)
        account = new_owned_account(household.id, username, hashed)
        search_index.reindex(household.id)
        _portal_audit("portal.sign_up_link", account, outcome="created", username=username)
        case_notes.add_system_note(household.id, "Web account",
                                   f"Web account “{username}” created by the household through "
                                   "a sign-up link.")
    welcome.on_account_activated(account)
    return LinkSignIn(account.id, account.username, False)


# --- Send Customer Portal Credentials ---------------------------------------------------------

def default_credentials_message(actor: StaffSession, account_id: int) -> CredentialsMessage:
    """The message the Send Customer Portal Credentials window starts from: the portal link
    and login ID filled in, `<WebPin>` left for the PIN minted at send time."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    account = account_by_id(account_id)
    values = merge_values(account, WebPin=PIN_FIELD)  # kept as written, filled when sent
    subject, body = _rendered(email_templates.CUSTOMER_CREDENTIALS, values)
    return CredentialsMessage(address_of(account), subject, body)


def send_customer_credentials(actor: StaffSession, account_id: int, to: str, subject: str,
                              message: str) -> CredentialsSent:
    """Send the clerk's message to `to`. A `<WebPin>` in it becomes a new PIN: its hash is
    stored and the must-change flag set in the same transaction as the send, so a failed send
    changes nothing; the old PIN stops working once it has gone."""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    address = normalise_email("to", to)
    subject = clean_text("subject", subject, max_length=MAX_SUBJECT, required=True)
    body = _checked_message(message)
    _check_fields(subject, "subject")
    _check_fields(body, "message")
    account = account_by_id(account_id)
    _refuse_unusable(account)
    carries_pin = PIN_FIELD in subject or PIN_FIELD in body
    pin = credential_for(account) if carries_pin else ""
    outgoing = _clerk_message(account, address, subject, body, pin)
    hashed = hash_for(pin, password_policy()) if carries_pin else None
    with database.atomic():
        account = account_by_id(account_id)
        if hashed is not None:
            store_secret(account, hashed, must_change=True, source="assigned")
            account.credentials_delivered_at = utcnow()
            save_account(account)
        _record_credentials(actor, account, address, carries_pin)
        deliver([outgoing])  # inside the transaction: a failure rolls the new PIN back
    return CredentialsSent(address, carries_pin, view(account))


def _checked_message(message: object) -> str:
    if not isinstance(message, str) or not message.strip():
        raise ValidationError("message", "The message is empty.")
    text = message.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationError("message", f"The message is too long: {len(text):,} characters, "
                              f"at most {MAX_MESSAGE:,}.")
    if _MESSAGE_CONTROL.search(text):
        raise ValidationError("message", "The message contains a control character; retype "
                              "or paste it as plain text.")
    return text


def _check_fields(text: str, where: str) -> None:
    unusable = email_templates.unknown_fields(text) + \
        [f"<{name}>" for name in email_templates.MERGE_FIELDS
         if name not in MESSAGE_FIELDS and f"<{name}>" in text]
    if unusable:
        usable = ", ".join(f"<{name}>" for name in MESSAGE_FIELDS)
        raise ValidationError(where, f"The {where} uses {unusable[0]}, which is not a merge "
                              f"field this message can fill (HTML tags are not allowed "
                              f"either: the email is plain text). Merge fields: {usable}.")


def _clerk_message(account: WebAccount, address: str, subject: str, body: str,
                   pin: str) -> OutgoingEmail:
    values = merge_values(account, WebPin=pin) if pin else merge_values(account)
    filled = email_templates.render(TemplateView("Customer Portal Credentials", subject, body),
                                    values)
    return OutgoingEmail(address, *filled)


def _record_credentials(actor: StaffSession, account: WebAccount, address: str,
                        new_credential: bool) -> None:
    audit.record(actor, "web_account.send_credentials", "web_account", account.id,
                 account.household_id, to=address, new_credential=new_credential)
    what = "with a new PIN (the old one stopped working)" if new_credential else \
        "without a PIN"
    case_notes.add_system_note(account.household_id, "Web account",
                               f"Customer Portal credentials for “{account.username}” emailed "
                               f"to {address} {what} by {actor.label}.", actor)


# --- helpers --------------------------------------------------------------------------------

def _refuse_unusable(account: WebAccount) -> None:
    if account.status != "active":
        raise ConflictError(f"The web account “{account.username}” is disabled. Enable it "
                            "first.")
    if account.locked:
        raise ConflictError(f"The web account “{account.username}” is locked. Unlock it "
                            "first.")


def _portal_text(account: WebAccount) -> str:
    if account.status != "active":
        return "This account is disabled. Please contact the front desk."
    return str(password_policy().locked_message)


def _sign_up_address(actor: StaffSession, email: str | None) -> str:
    if email is None or not email.strip():
        return ""
    require(actor, Permission.WEB_DETAILS_EMAIL)
    return normalise_email("email", email)


def _email_sign_up(actor: StaffSession, household: Household, link: str,
                   address: str) -> None:
    subject, body = _rendered(email_templates.SIGN_UP_LINK, _household_values(household, link))
    case_notes.add_system_note(household.id, "Web account",
                               f"A portal sign-up link was emailed to {address} by "
                               f"{actor.label}.", actor)
    deliver([OutgoingEmail(address, subject, body)])


def _household_values(household: Household, link: str) -> dict[str, str]:
    """Merge values for a household that has no account yet."""
    member = (Member.select().where(Member.household == household)
              .order_by(Member.is_primary.desc(), Member.id).first())
    return {"FirstName": (member.first_name if member else "") or household.name,
            "LastName": (member.last_name if member else "") or household.name,
            "HouseholdName": household.name, "PortalLink": required_portal_url(),
            "ResetLink": link}


def _rendered(template_name: str, values: dict[str, str]) -> tuple[str, str]:
    return email_templates.render(email_templates.get_template(template_name), values)


def _link(path: str, secret: str, portal_url: str | None = None) -> str:
    return f"{portal_url or required_portal_url()}{path}?{urlencode({'token': secret})}"


def _secret_in(link: object) -> str:
    if not isinstance(link, str) or len(link) > 2000:
        raise InvalidToken()
    values = parse_qs(urlsplit(link.strip()).query).get("token") or [""]
    return values[0]


def _household(household_id: object) -> Household:
    household = Household.get_or_none(Household.id == household_id) \
        if isinstance(household_id, int) else None
    if household is None:
        raise NotFound("That household does not exist (any more).")
    return household


def _linked_household(household_id: int | None) -> Household:
    """The household a sign-up link belongs to; one deleted since makes the link invalid."""
    household = Household.get_or_none(Household.id == household_id) \
        if household_id is not None else None
    if household is None:
        raise InvalidToken()
    return household


def _portal_audit(action: str, account: WebAccount, **details: object) -> None:
    with database.atomic():
        audit.record(PORTAL, action, "web_account", account.id, account.household_id,
                     **details)
