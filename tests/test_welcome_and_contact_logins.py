"""The welcome email when an account becomes active (seeds 002, 003), and per-contact logins
whose login ID is the phone number with a PIN minted at delivery (seed 004)."""

import logging
import re
from datetime import timedelta

import pytest

from clerkdesk.models import CaseNote, Member, Token, WebAccount, utcnow
from clerkdesk.services import (
    account_links,
    contact_logins,
    portal,
    roles,
    settings,
    web_accounts,
    welcome,
)
from clerkdesk.services.errors import (
    ConflictError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from clerkdesk.services.portal import Outcome
from clerkdesk.services.tokens import InvalidToken
from tests.conftest import stored_bytes
from tests.smtp_server import body_of

PHONE = "(202) 555-0143"
LOGIN_ID = "+12025550143"
OWN = "Chosen-At-Home-77"


@pytest.fixture
def welcome_on(admin, mail):
    settings.set_setting(admin, welcome.WELCOME_SETTING, True)


@pytest.fixture
def phone_ids(admin, mail):
    settings.set_setting(admin, "accounts.login_id_is_phone", True)


@pytest.fixture
def contact(household):
    return Member.create(household=household, first_name="Aoife", last_name="O'Brien",
                         phone=PHONE, email="aoife@example.org").id


def _set_password_link(message) -> str:
    found = re.search(r"https://portal\.example\.org/reset\?token=(\S+)", body_of(message))
    assert found, body_of(message)
    return found[1]


def _welcomes(mail, address: str) -> list:
    return [m for m in mail.recorder.messages_to(address) if "Welcome" in str(m["Subject"])]


# --- the welcome email ------------------------------------------------------------------------

def test_no_welcome_email_while_the_setting_is_off(clerk, household, mail):
    assert settings.get_setting(welcome.WELCOME_SETTING) is False
    web_accounts.create_account(clerk, household, "obrien")
    assert mail.received == []


def test_an_account_created_active_gets_a_set_password_link(clerk, household, welcome_on,
                                                             mail, db_url, caplog):
    caplog.set_level(logging.DEBUG)
    account = web_accounts.create_account(clerk, household, "obrien")
    (message,) = _welcomes(mail, "obrien@example.org")
    body = body_of(message)
    assert "obrien" in body and "password" in body.lower()
    token = _set_password_link(message)
    assert portal.reset_password(token, OWN).outcome is Outcome.OK
    assert portal.authenticate("obrien", OWN).outcome is Outcome.OK
    with pytest.raises(InvalidToken):
        portal.reset_password(token, "Another-Choice-88")
    assert token.encode() not in stored_bytes(db_url)
    assert any("Welcome email" in n.text for n in CaseNote.select())
    assert WebAccount.get_by_id(account.id).password_hash is not None


def test_the_welcome_never_holds_a_password(clerk, household, welcome_on, mail):
    web_accounts.create_account(clerk, household, "obrien", "Typed-At-Desk-12",
                                "Typed-At-Desk-12")
    (message,) = _welcomes(mail, "obrien@example.org")
    assert "Typed-At-Desk-12" not in body_of(message)


def test_the_welcome_link_lives_longer_than_a_reset_link(admin, clerk, household, welcome_on,
                                                         mail):
    settings.set_setting(admin, "security.welcome_link_days", 3)
    web_accounts.create_account(clerk, household, "obrien")
    lifetime = Token.get().expires_at - utcnow()
    assert timedelta(days=2, hours=23) < lifetime <= timedelta(days=3)
    Token.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    with pytest.raises(InvalidToken):
        portal.reset_password(_set_password_link(_welcomes(mail, "obrien@example.org")[0]), OWN)


def test_enabling_again_sends_a_welcome_disabling_does_not(supervisor, clerk, household,
                                                            welcome_on, mail):
    account = web_accounts.create_account(clerk, household, "obrien").id
    web_accounts.set_account_active(supervisor, account, False)
    assert len(_welcomes(mail, "obrien@example.org")) == 1
    web_accounts.set_account_active(supervisor, account, True)
    first, second = _welcomes(mail, "obrien@example.org")
    with pytest.raises(InvalidToken):  # the newest welcome is the one that works
        portal.reset_password(_set_password_link(first), OWN)
    assert portal.reset_password(_set_password_link(second), OWN).outcome is Outcome.OK
    web_accounts.update_web_details(supervisor, account, web_accounts.WebDetailsChange(
        active=True))  # already active: no welcome
    assert len(_welcomes(mail, "obrien@example.org")) == 2


def test_a_welcome_that_cannot_go_out_does_not_stop_the_account(clerk, household, welcome_on,
                                                                 mail):
    mail.stop()
    account = web_accounts.create_account(clerk, household, "obrien")
    assert WebAccount.get_by_id(account.id).status == "active"
    assert Token.select().count() == 0
    assert any("welcome email could not be sent" in n.text for n in CaseNote.select())


def test_clerk_resends_the_welcome_even_with_the_setting_off(clerk, household, mail):
    account = web_accounts.create_account(clerk, household, "obrien").id
    assert welcome.resend_welcome(clerk, account) == "obrien@example.org"
    (message,) = _welcomes(mail, "obrien@example.org")
    assert portal.reset_password(_set_password_link(message), OWN).outcome is Outcome.OK


def test_resend_welcome_refusals(admin, supervisor, clerk, household, mail):
    account = web_accounts.create_account(clerk, household, "obrien").id
    web_accounts.set_account_active(supervisor, account, False)
    with pytest.raises(ConflictError, match="disabled"):
        welcome.resend_welcome(clerk, account)
    with pytest.raises(NotFound):
        welcome.resend_welcome(clerk, 999_999)
    roles.set_grant(admin, "Clerk", "web_details.email", False)
    with pytest.raises(PermissionDenied):
        welcome.resend_welcome(clerk, account)
    assert mail.received == [] and Token.select().count() == 0


# --- per-contact logins by phone number ------------------------------------------------------

def test_contact_login_is_the_phone_number_in_one_spelling(clerk, contact, phone_ids):
    made = contact_logins.create_contact_login(clerk, contact)
    row = WebAccount.get_by_id(made.id)
    assert row.username == LOGIN_ID and row.member_id == contact
    assert row.password_hash is None and row.pin_rule == contact_logins.CONTACT_PIN_RULE
    assert contact_logins.login_id_from_typed("202.555.0143") == LOGIN_ID
    assert contact_logins.login_id_from_typed("obrien") == "obrien"


def test_the_portal_signs_a_contact_in_with_the_number_as_they_type_it(clerk, contact,
                                                                       phone_ids):
    made = contact_logins.create_contact_login(clerk, contact)
    web_accounts.set_password(clerk, made.id, OWN, OWN, must_change=False)
    for typed in ("(202) 555-0143", "202.555.0143", "+1 202 555 0143"):
        assert portal.authenticate(typed, OWN).outcome == Outcome.OK
    assert portal.authenticate("(202) 555-0144", OWN).outcome != Outcome.OK


def test_contact_login_needs_the_setting(clerk, contact, mail):
    with pytest.raises(ConflictError, match="turned off"):
        contact_logins.create_contact_login(clerk, contact)
    assert contact_logins.login_id_from_typed(PHONE) == PHONE
    assert WebAccount.select().count() == 0


def test_the_region_setting_reads_local_numbers(admin, clerk, household, phone_ids):
    settings.set_setting(admin, "phone.region", "GB")
    member = Member.create(household=household, first_name="Niamh", phone="020 7946 0018")
    assert contact_logins.create_contact_login(clerk, member.id).username == "+442079460018"


@pytest.mark.parametrize("phone", ["", "12", "(555) 010-2030", "<script>", "'; DROP TABLE x;--",
                                   "☎☎☎", "9" * 40])
def test_contacts_without_a_valid_phone_are_refused(clerk, household, phone_ids, phone):
    member = Member.create(household=household, first_name="Aoife", phone=phone)
    with pytest.raises(ValidationError, match="no valid phone number"):
        contact_logins.create_contact_login(clerk, member.id)
    assert WebAccount.select().count() == 0


def test_a_phone_number_is_one_login_only(clerk, household, contact, phone_ids):
    contact_logins.create_contact_login(clerk, contact)
    twin = Member.create(household=household, first_name="Ciara", phone="+1 202-555-0143")
    with pytest.raises(ValidationError, match="already the login ID"):
        contact_logins.create_contact_login(clerk, twin.id)
    with pytest.raises(ValidationError, match="already has a portal login"):
        contact_logins.create_contact_login(clerk, contact)
    assert WebAccount.select().count() == 1


def test_contact_login_refusals(admin, clerk, contact, phone_ids):
    for bad in (999_999, "1", None):
        with pytest.raises(NotFound):
            contact_logins.create_contact_login(clerk, bad)
    roles.set_grant(admin, "Clerk", "web_details.change", False)
    with pytest.raises(PermissionDenied):
        contact_logins.create_contact_login(clerk, contact)
    assert WebAccount.select().count() == 0


def test_send_credentials_to_a_contact_mints_a_six_digit_pin_each_time(clerk, contact,
                                                                       phone_ids, mail,
                                                                       db_url, caplog):
    caplog.set_level(logging.DEBUG)
    account = contact_logins.create_contact_login(clerk, contact).id
    default = account_links.default_credentials_message(clerk, account)
    assert default.to == "aoife@example.org" and LOGIN_ID in default.body
    pins = []
    for _ in range(2):
        account_links.send_customer_credentials(clerk, account, default.to, default.subject,
                                                default.body)
        body = body_of(mail.recorder.messages_to("aoife@example.org")[-1])
        pins.append(re.search(r"PIN:\s+(\S+)", body)[1])
    assert all(re.fullmatch(r"[1-9]\d{5}", pin) for pin in pins) and pins[0] != pins[1]
    typed = contact_logins.login_id_from_typed(PHONE)
    assert portal.authenticate(typed, pins[1]).outcome is Outcome.MUST_CHANGE
    assert portal.authenticate(typed, pins[0]).outcome is Outcome.WRONG
    ours = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    exposed = stored_bytes(db_url)
    for pin in pins:
        assert pin not in ours and pin.encode() not in exposed


def test_a_new_contact_login_gets_the_welcome_when_it_is_on(clerk, contact, phone_ids,
                                                             welcome_on, mail):
    contact_logins.create_contact_login(clerk, contact)
    (message,) = _welcomes(mail, "aoife@example.org")
    assert LOGIN_ID in body_of(message)
