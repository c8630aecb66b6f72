"""Sign-in links, sign-up links for an existing household, and Send Customer Portal
Credentials (seeds 002, 003, 004), against the real SMTP server on both databases."""

import logging
import re
from datetime import timedelta
from email.header import decode_header, make_header

import pytest

from clerkdesk.models import AuditEvent, CaseNote, Household, Token, WebAccount, utcnow
from clerkdesk.services import account_links, portal, roles, settings, web_accounts
from clerkdesk.services.account_links import LinkRefused
from clerkdesk.services.email_delivery import DeliveryError
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

OWN = "Chosen-At-Home-77"
HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE webaccount; --", 'x" OR "1"="1',
           "a" * 10_000]


@pytest.fixture
def account(clerk, household):
    return web_accounts.create_account(clerk, household, "obrien").id


def _link(message, path: str) -> str:
    found = re.search(rf"(https://portal\.example\.org{re.escape(path)}\?token=\S+)",
                      body_of(message))
    assert found, body_of(message)
    return found[1]


def _secret(link: str) -> str:
    return link.rsplit("token=", 1)[1]


def _expire_all_tokens() -> None:
    Token.update(expires_at=utcnow() - timedelta(seconds=1)).execute()


def _snapshot() -> tuple:
    """Everything a refused call must leave as it was."""
    return ([a.__data__ for a in WebAccount.select().order_by(WebAccount.id)],
            Token.select().count(), CaseNote.select().count())


# --- sign-in links ----------------------------------------------------------------------------

def test_login_link_arrives_and_signs_in_once(clerk, account, mail):
    assert account_links.send_login_link(clerk, account) == "obrien@example.org"
    (message,) = mail.recorder.messages_to("obrien@example.org")[-1:]
    link = _link(message, account_links.SIGN_IN_PATH)
    assert "obrien" in body_of(message)
    signed_in = account_links.redeem_login_link(_secret(link))
    assert signed_in.account_id == account and signed_in.username == "obrien"
    assert WebAccount.get_by_id(account).last_login is not None
    with pytest.raises(InvalidToken):
        account_links.redeem_login_link(_secret(link))
    assert AuditEvent.select().where(AuditEvent.action == "web_account.send_login_link").count()


def test_login_link_expires_and_a_newer_one_replaces_the_older(clerk, account, mail):
    account_links.send_login_link(clerk, account)
    first = _secret(_link(mail.received[-1][1], account_links.SIGN_IN_PATH))
    account_links.send_login_link(clerk, account)
    second = _secret(_link(mail.received[-1][1], account_links.SIGN_IN_PATH))
    with pytest.raises(InvalidToken):
        account_links.redeem_login_link(first)
    _expire_all_tokens()
    with pytest.raises(InvalidToken):
        account_links.redeem_login_link(second)


def test_login_link_lifetime_follows_the_setting(admin, clerk, account, mail):
    settings.set_setting(admin, "security.login_link_hours", 2)
    account_links.send_login_link(clerk, account)
    token = Token.get(Token.kind == account_links.SIGN_IN)
    assert timedelta(hours=1, minutes=59) < token.expires_at - utcnow() <= timedelta(hours=2)


def test_login_link_refused_for_a_disabled_or_locked_account(supervisor, clerk, account, mail):
    account_links.send_login_link(clerk, account)
    secret = _secret(_link(mail.received[-1][1], account_links.SIGN_IN_PATH))
    web_accounts.set_account_active(supervisor, account, False)
    with pytest.raises(LinkRefused, match="disabled"):
        account_links.redeem_login_link(secret)
    web_accounts.set_account_active(supervisor, account, True)
    web_accounts.lock_account(supervisor, account)
    with pytest.raises(LinkRefused, match="locked"):
        account_links.redeem_login_link(secret)
    with pytest.raises(ConflictError, match="locked"):
        account_links.send_login_link(clerk, account)
    web_accounts.unlock_account(supervisor, account)
    assert account_links.redeem_login_link(secret).account_id == account  # not used up


@pytest.mark.parametrize("bad", ["", "x", "' OR 1=1 --", "<script>", "a" * 10_000, None])
def test_tampered_login_links_are_refused(account, mail, bad):
    with pytest.raises(InvalidToken):
        account_links.redeem_login_link(bad)


def test_login_link_failure_to_send_changes_nothing(clerk, account, mail):
    mail.stop()
    before = _snapshot()
    with pytest.raises(DeliveryError):
        account_links.send_login_link(clerk, account)
    assert _snapshot() == before


def test_login_link_needs_an_address_and_a_portal_address(admin, clerk, account, mail):
    Household.update(email="").execute()
    with pytest.raises(ValidationError, match="no email address"):
        account_links.send_login_link(clerk, account)
    Household.update(email="obrien@example.org").execute()
    settings.set_setting(admin, "portal.url", "")
    with pytest.raises(ValidationError, match="portal address"):
        account_links.send_login_link(clerk, account)
    assert Token.select().count() == 0 and mail.received == []


# --- sign-up links ----------------------------------------------------------------------------

def test_sign_up_link_creates_the_account_on_that_household(clerk, household, mail):
    made = account_links.sign_up_link(clerk, household, None)
    assert made.link.startswith("https://portal.example.org/sign-up?token=")
    assert made.emailed_to == "" and mail.received == []
    signed_in = account_links.redeem_sign_up_link(_secret(made.link), "Siobhan-OB", OWN, OWN)
    row = WebAccount.get_by_id(signed_in.account_id)
    assert row.household_id == household and row.username == "Siobhan-OB"
    assert not row.must_change and row.password_source == "owner"
    assert portal.authenticate("siobhan-ob", OWN).outcome is Outcome.OK
    assert Household.select().count() == 1  # attached, not a new household
    with pytest.raises(InvalidToken):  # reused
        account_links.redeem_sign_up_link(_secret(made.link), "another-name", OWN, OWN)
    assert WebAccount.select().count() == 1


def test_sign_up_link_emailed_arrives_with_the_link(clerk, household, mail):
    made = account_links.sign_up_link(clerk, household, "Siobhan@Example.org")
    (message,) = mail.recorder.messages_to("Siobhan@example.org")
    assert _link(message, account_links.SIGN_UP_PATH) == made.link
    assert "Siobhán" in body_of(message)
    assert made.emailed_to == "Siobhan@example.org"


def test_a_link_on_screen_can_be_emailed_afterwards(clerk, household, mail):
    made = account_links.sign_up_link(clerk, household)
    sent = account_links.email_sign_up_link(clerk, household, made.link, "obrien@example.org")
    (message,) = mail.recorder.messages_to("obrien@example.org")
    assert _link(message, account_links.SIGN_UP_PATH) == made.link == sent.link
    other = Household.create(client_id="2002", name="Smyth")
    with pytest.raises(InvalidToken):  # only to the household it was made for
        account_links.email_sign_up_link(clerk, other.id, made.link, "smyth@example.org")
    with pytest.raises(InvalidToken):
        account_links.email_sign_up_link(clerk, household, "https://evil.example/?token=abc",
                                         "obrien@example.org")


def test_expired_sign_up_link_is_refused(clerk, household, mail):
    made = account_links.sign_up_link(clerk, household)
    _expire_all_tokens()
    with pytest.raises(InvalidToken):
        account_links.redeem_sign_up_link(_secret(made.link), "late-comer", OWN, OWN)
    assert WebAccount.select().count() == 0


def test_sign_up_link_for_a_household_deleted_since_is_refused(clerk, household, mail):
    made = account_links.sign_up_link(clerk, household)
    Household.delete_by_id(household)
    with pytest.raises(InvalidToken):
        account_links.redeem_sign_up_link(_secret(made.link), "orphan", OWN, OWN)
    assert WebAccount.select().count() == 0


def test_a_refused_name_or_password_does_not_use_up_the_sign_up_link(clerk, household, mail):
    web_accounts.create_account(clerk, household, "taken")
    secret = _secret(account_links.sign_up_link(clerk, household).link)
    with pytest.raises(ValidationError, match="already taken"):
        account_links.redeem_sign_up_link(secret, "TAKEN", OWN, OWN)
    with pytest.raises(ValidationError, match="most common"):
        account_links.redeem_sign_up_link(secret, "fresh", "password123", "password123")
    with pytest.raises(ValidationError, match="do not match"):
        account_links.redeem_sign_up_link(secret, "fresh", OWN, OWN + "x")
    for hostile in ("", "a\tb", "x" * 10_001):
        with pytest.raises(ValidationError):
            account_links.redeem_sign_up_link(secret, hostile, OWN, OWN)
    assert WebAccount.select().count() == 1
    assert account_links.redeem_sign_up_link(secret, "<b>'Ó Briain'</b>", OWN, OWN)
    assert WebAccount.get(WebAccount.username == "<b>'Ó Briain'</b>")  # stored as text


def test_sign_up_link_refuses_a_bad_address_and_unknown_household(clerk, household, mail):
    for bad in [*HOSTILE, "not-an-address"]:
        with pytest.raises(ValidationError):
            account_links.sign_up_link(clerk, household, bad)
    with pytest.raises(NotFound):
        account_links.sign_up_link(clerk, 999_999, None)
    assert Token.select().count() == 0 and mail.received == []


# --- Send Customer Portal Credentials ---------------------------------------------------------

def test_default_message_holds_the_link_the_login_id_and_the_pin_field(clerk, account, mail):
    default = account_links.default_credentials_message(clerk, account)
    assert default.to == "obrien@example.org"
    assert "https://portal.example.org" in default.body
    assert "obrien" in default.body and "<WebPin>" in default.body
    assert default.subject


def test_sent_pin_signs_in_and_is_nowhere_at_rest(clerk, account, mail, db_url, caplog):
    caplog.set_level(logging.DEBUG)
    default = account_links.default_credentials_message(clerk, account)
    sent = account_links.send_customer_credentials(
        clerk, account, "other@example.org", "Your login", default.body + "\nSee you soon!")
    assert sent.pin_changed and sent.address == "other@example.org"
    (message,) = mail.recorder.messages_to("other@example.org")
    body = body_of(message)
    assert "See you soon!" in body and "<WebPin>" not in body
    pin = re.search(r"PIN:\s+(\S+)", body)[1]
    assert portal.authenticate("obrien", pin).outcome is Outcome.MUST_CHANGE
    row = WebAccount.get_by_id(account)
    assert row.credentials_delivered_at is not None and row.must_change
    ours = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert pin not in ours
    assert pin.encode() not in stored_bytes(db_url)


def test_sending_again_mints_a_new_pin_and_the_old_one_stops(clerk, account, mail):
    default = account_links.default_credentials_message(clerk, account)
    pins = []
    for _ in range(2):
        account_links.send_customer_credentials(clerk, account, default.to, default.subject,
                                                default.body)
        pins.append(re.search(r"PIN:\s+(\S+)", body_of(mail.received[-1][1]))[1])
    assert pins[0] != pins[1]
    assert portal.authenticate("obrien", pins[0]).outcome is Outcome.WRONG
    assert portal.authenticate("obrien", pins[1]).outcome is Outcome.MUST_CHANGE


def test_a_message_without_the_pin_field_changes_no_password(clerk, account, mail):
    web_accounts.set_password(clerk, account, OWN, OWN, must_change=False)
    sent = account_links.send_customer_credentials(
        clerk, account, "obrien@example.org", "Your login ID",
        "Hello <FirstName>, your login ID is <WebID>.")
    assert not sent.pin_changed
    assert "Siobhán" in body_of(mail.received[-1][1])
    assert portal.authenticate("obrien", OWN).outcome is Outcome.OK


@pytest.mark.parametrize(("to", "subject", "message", "field"), [
    ("not-an-address", "Hi", "PIN <WebPin>", "to"),
    ("<script>@x.org", "Hi", "PIN <WebPin>", "to"),
    ("a@example.org'; DROP TABLE webaccount; --", "Hi", "PIN <WebPin>", "to"),
    ("a@example.org", "", "PIN <WebPin>", "subject"),
    ("a@example.org", "   ", "PIN <WebPin>", "subject"),
    ("a@example.org", "x" * 10_000, "PIN <WebPin>", "subject"),
    ("a@example.org", "Hi\r\nBcc: all@example.org", "PIN <WebPin>", "subject"),
    ("a@example.org", "<script>alert(1)</script>", "PIN <WebPin>", "subject"),
    ("a@example.org", "Hi", "", "message"),
    ("a@example.org", "Hi", "PIN <WebPin> " + "y" * 10_000, "message"),
    ("a@example.org", "Hi", "PIN <WebPin> <Password>", "message"),
    ("a@example.org", "Hi", "<b>PIN</b> <WebPin>", "message"),
    ("a@example.org", "Hi", "Reset at <ResetLink>", "message"),
    ("a@example.org", "Hi", "PIN <WebPin>\x00", "message"),
])
def test_bad_input_is_refused_clearly_and_changes_nothing(clerk, account, mail, to, subject,
                                                          message, field):
    before = _snapshot()
    with pytest.raises(ValidationError) as refused:
        account_links.send_customer_credentials(clerk, account, to, subject, message)
    assert refused.value.field == field
    assert refused.value.message and "Traceback" not in refused.value.message
    assert _snapshot() == before and mail.received == []


def test_hostile_but_harmless_text_is_sent_as_plain_text(clerk, account, mail):
    subject = "'; DROP TABLE webaccount; -- \"Ó Briain\" 🎉"
    account_links.send_customer_credentials(clerk, account, "obrien@example.org", subject,
                                            "Dear 'Siobhán' & \"family\": a < b, PIN <WebPin>")
    message = mail.received[-1][1]
    assert str(make_header(decode_header(message["Subject"]))) == subject
    assert "a < b" in body_of(message)
    assert WebAccount.select().count() == 1


def test_a_failed_send_keeps_the_old_password(clerk, account, mail):
    web_accounts.set_password(clerk, account, OWN, OWN, must_change=False)
    mail.recorder.reject.add("bounce@example.org")
    before = _snapshot()
    with pytest.raises(DeliveryError):
        account_links.send_customer_credentials(clerk, account, "bounce@example.org", "Hi",
                                                "PIN <WebPin>")
    assert _snapshot() == before
    assert portal.authenticate("obrien", OWN).outcome is Outcome.OK


def test_credentials_refused_for_a_disabled_account(supervisor, clerk, account, mail):
    web_accounts.set_account_active(supervisor, account, False)
    with pytest.raises(ConflictError, match="disabled"):
        account_links.send_customer_credentials(clerk, account, "obrien@example.org", "Hi",
                                                "PIN <WebPin>")


# --- permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "device"), [
    (lambda a, i, h: account_links.send_login_link(a, i), "web_details.email"),
    (lambda a, i, h: account_links.default_credentials_message(a, i), "web_details.email"),
    (lambda a, i, h: account_links.send_customer_credentials(
        a, i, "obrien@example.org", "Hi", "PIN <WebPin>"), "web_details.email"),
    (lambda a, i, h: account_links.sign_up_link(a, h), "web_details.change"),
    (lambda a, i, h: account_links.sign_up_link(a, h, "obrien@example.org"),
     "web_details.email"),
])
def test_each_action_needs_its_permission_device(admin, clerk, account, household, mail, call,
                                                 device):
    roles.set_grant(admin, "Clerk", device, False)
    before = _snapshot()
    with pytest.raises(PermissionDenied) as refused:
        call(clerk, account, household)
    assert refused.value.permission == device
    assert _snapshot() == before and mail.received == []
