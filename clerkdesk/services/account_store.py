"""What every change to a web account shares: finding it, storing a new secret, addressing
the household, and the notice that never holds a password. Used by the clerk-side services
and by the portal API alike."""

from datetime import datetime, timedelta

from peewee import IntegrityError

from clerkdesk.models import Household, Member, WebAccount, utcnow

from . import email_templates, passwords, tokens
from .email_delivery import OutgoingEmail
from .errors import NotFound, ValidationError
from .household_passwords import mint_temporary_password, recipe
from .pin_rules import mint_pin
from .settings import PolicyView, get_setting
from .usernames import username_key

RESET = "reset"


def account_by_id(account_id: object) -> WebAccount:
    account = WebAccount.get_or_none(WebAccount.id == account_id) \
        if isinstance(account_id, int) else None
    if account is None:
        raise NotFound("That web account does not exist (any more). Reload and try again.")
    return account


def account_by_username(username: str) -> WebAccount | None:
    return WebAccount.get_or_none(WebAccount.username_key == username_key(username))


def claim_username(account: WebAccount | None, username: str) -> str:
    """The key for `username`, refused when another account holds it in any case."""
    key = username_key(username)
    holder = WebAccount.get_or_none(WebAccount.username_key == key)
    if holder is not None and (account is None or holder.id != account.id):
        raise ValidationError("user name", f"The user name “{username}” is already taken "
                              "(user names ignore upper and lower case). Choose another.")
    return key


def save_account(account: WebAccount) -> None:
    """Save; a unique-index clash from a concurrent desk becomes the same clear message."""
    account.changed_at = utcnow()
    try:
        account.save()
    except IntegrityError:
        raise ValidationError("user name", f"The user name “{account.username}” was just "
                              "taken at another desk. Choose another.") from None


def store_secret(account: WebAccount, hashed: str, *, must_change: bool, source: str) -> None:
    """Set a new password hash; unused reset links die with the old password."""
    now = utcnow()
    account.password_hash = hashed
    account.pin_rule = ""  # a PIN still to be minted at delivery is no longer wanted
    account.must_change = must_change
    account.password_source = source
    account.password_changed_at = now
    account.password_expires_at = now + timedelta(
        days=int(get_setting("security.temporary_password_days"))) if must_change else None
    save_account(account)
    tokens.void_for_account(account.id, RESET)


def new_owned_account(household_id: int, username: str, hashed: str) -> WebAccount:
    """A household's new account with the password it chose itself (already hashed)."""
    account = WebAccount(household=household_id, username=username,
                         username_key=claim_username(None, username))
    save_account(account)
    store_secret(account, hashed, must_change=False, source="owner")
    return account


def fresh_credential(account: WebAccount) -> str:
    """What a household is sent when nobody typed a password: the PIN its bulk-assign rule
    asks for, else a temporary password."""
    return mint_pin(account.pin_rule) if account.pin_rule else mint_temporary_password()


def hash_for(secret: str, policy: PolicyView) -> str:
    return passwords.hash_secret(secret, recipe(policy))


def address_of(account: WebAccount) -> str:
    """Where this login's mail goes: its own address, its member's, else the household's."""
    if account.email:
        return account.email
    if account.member_id is not None:
        member = Member.get_or_none(Member.id == account.member_id)
        if member is not None and member.email:
            return member.email
    return account.household.email


def required_address(account: WebAccount) -> str:
    """The address mail for this account goes to; a clear refusal when there is none."""
    address = address_of(account)
    if not address:
        raise ValidationError("email", "This household has no email address on file. Add one "
                              "in Household Maintenance first.")
    return address


def merge_values(account: WebAccount, **extra: str) -> dict[str, str]:
    household: Household = account.household
    member = account.member if account.member_id else _primary_member(household)
    first = member.first_name if member and member.first_name else household.name
    values = {
        "WebID": account.username,
        "FirstName": first,
        "LastName": member.last_name if member and member.last_name else household.name,
        "HouseholdName": household.name,
        "PortalLink": str(get_setting("portal.url")),
    }
    values.update(extra)
    return values


def notice_message(account: WebAccount) -> OutgoingEmail | None:
    """The after-change notice; it never holds the password."""
    address = address_of(account)
    if not address:
        return None
    template = email_templates.get_template(email_templates.CHANGE_NOTICE)
    # The notice must go out even before a portal address is set.
    values = {key: value or "-" for key, value in merge_values(account).items()}
    subject, body = email_templates.render(template, values)
    return OutgoingEmail(address, subject, body)


def is_expired(account: WebAccount, now: datetime | None = None) -> bool:
    expires = account.password_expires_at
    return bool(account.must_change and expires and expires <= (now or utcnow()))


def _primary_member(household: Household) -> Member | None:
    return (Member.select().where(Member.household == household)
            .order_by(Member.is_primary.desc(), Member.id).first())
