"""Per-contact logins whose login ID is the contact's phone number (seed 004, MobiWork).

With the setting `accounts.login_id_is_phone` on, a member (contact) gets a web account of
their own whose user name is their phone number in E.164 form (+15550102030): one spelling,
however the number was typed, so it stays unique like every user name. The password is a PIN,
minted only when the credentials are sent (decision 2); the account keeps just the rule.
"""

import re

import phonenumbers

from clerkdesk.models import Member, WebAccount, database

from . import audit, case_notes, search_index, welcome
from .account_store import claim_username, fresh_credential, save_account
from .errors import ConflictError, NotFound, ValidationError
from .permissions import Permission, require
from .pin_rules import mint_pin
from .session import StaffSession
from .settings import get_setting
from .usernames import username_key
from .web_accounts import AccountView, view

CONTACT_PIN_RULE = "digits:6"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def phone_login_id(phone: str, region: str | None = None) -> str | None:
    """The E.164 login ID for a phone number as typed, or None when it is not a valid number."""
    if not isinstance(phone, str) or not phone.strip() or len(phone) > 40:
        return None
    try:
        number = phonenumbers.parse(phone, region or str(get_setting("phone.region")))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def login_id_from_typed(text: str) -> str:
    """What the portal should look up when a household types its login ID: with phone login
    IDs on, "(555) 010-2030" and "555.010.2030" both mean +15550102030; other text is kept."""
    if not get_setting("accounts.login_id_is_phone"):
        return text
    return phone_login_id(text) or text


def is_phone_login(account: WebAccount) -> bool:
    return account.member_id is not None and bool(_E164.match(account.username))


def credential_for(account: WebAccount) -> str:
    """The secret a delivery mints: a phone login always gets a new PIN of the contact rule,
    every other login what its own rule asks for (see `fresh_credential`)."""
    if is_phone_login(account) and not account.pin_rule:
        return mint_pin(CONTACT_PIN_RULE)
    return fresh_credential(account)


def create_contact_login(actor: StaffSession, member_id: int) -> AccountView:
    """The member's own web account, login ID = phone number, PIN minted at delivery."""
    require(actor, Permission.WEB_DETAILS_CHANGE)
    if not get_setting("accounts.login_id_is_phone"):
        raise ConflictError("Phone-number login IDs are turned off. An administrator can turn "
                            "on “A contact's login ID is their phone number” in Settings → "
                            "Accounts.")
    with database.atomic():
        member = _member(member_id)
        login_id = _login_id_of(member)
        _refuse_taken(member, login_id)
        account = WebAccount(household=member.household_id, member=member.id,
                             username=login_id, username_key=claim_username(None, login_id),
                             must_change=True, pin_rule=CONTACT_PIN_RULE)
        save_account(account)
        search_index.reindex(member.household_id)
        audit.record(actor, "web_account.create", "web_account", account.id,
                     member.household_id, username=login_id, member=member.id,
                     login_id_is_phone=True)
        case_notes.add_system_note(member.household_id, "Web account",
                                   f"Portal login “{login_id}” created for {_name(member)} by "
                                   f"{actor.label}; the PIN is made when the credentials are "
                                   "sent.", actor)
    welcome.on_account_activated(account)
    return view(account)


def _member(member_id: object) -> Member:
    member = Member.get_or_none(Member.id == member_id) if isinstance(member_id, int) else None
    if member is None:
        raise NotFound("That contact does not exist (any more). Reload and try again.")
    return member


def _login_id_of(member: Member) -> str:
    login_id = phone_login_id(member.phone)
    if login_id is None:
        shown = f" (“{member.phone}” is not a valid number)" if member.phone else ""
        raise ValidationError("phone", f"{_name(member)} has no valid phone number on file"
                              f"{shown}. Add one in Household Maintenance first.")
    return login_id


def _refuse_taken(member: Member, login_id: str) -> None:
    own = WebAccount.get_or_none(WebAccount.member == member.id)
    if own is not None:
        raise ValidationError("member", f"{_name(member)} already has a portal login "
                              f"(“{own.username}”).")
    holder = WebAccount.get_or_none(WebAccount.username_key == username_key(login_id))
    if holder is not None:
        raise ValidationError("phone", f"The phone number {login_id} is already the login ID "
                              f"of another portal account ({holder.household.name}). Each "
                              "login needs a phone number of its own.")


def _name(member: Member) -> str:
    return " ".join(part for part in (member.first_name, member.last_name) if part) or \
        "This contact"
