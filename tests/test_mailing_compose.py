"""Composing a mailing: mailing templates (never the program's own emails), the sample
recipient, and a test message that goes out now but mints nothing and changes no account."""

import email
from datetime import date, timedelta

import pytest

from clerkdesk.models import (
    AuditEvent,
    EmailTemplate,
    Household,
    Member,
    Pass,
    PassType,
    WebAccount,
)
from clerkdesk.services import mailing_compose
from clerkdesk.services import settings as site_settings
from clerkdesk.services.email_templates import PASSWORD_RESET, get_template
from clerkdesk.services.errors import NotFound, PermissionDenied, ValidationError
from clerkdesk.services.mailing_drafts import PIN_PLACEHOLDER, MessageDraft
from clerkdesk.services.mailing_targets import Targeting
from tests.smtp_server import body_of

CREDENTIALS = MessageDraft("Your portal login", "Dear <FirstName>,\nUser name: <WebID>\n"
                           "PIN: <WebPin>\nSign in at <PortalLink>\n")
HOSTILE = ["", "   ", "x" * 10_000, "<script>alert(1)</script>", "'; DROP TABLE webaccount; --",
           "Nom\u0000nul", "Line\nbreak"]


def make_household(number, *, pass_code="CY-CHILD", email="", login=True):
    home = Household.create(client_id=f"{number:05}", name=f"Family {number}", email=email)
    Member.create(household=home, first_name=f"Ann{number}", last_name=f"Last{number}",
                  is_primary=True)
    kind, _ = PassType.get_or_create(code=pass_code)
    Pass.create(household=home, pass_type=kind, status="Actv-New",
                start_date=date.today(), expiration_date=date.today() + timedelta(days=90))
    if login:
        WebAccount.create(household=home, username=f"user{number}",
                          username_key=f"user{number}", pin_rule="digits:6",
                          password_hash="$2b$04$unchanged-hash-for-test")
    return home.id


def template_rows():
    return sorted((t.name, t.subject, t.body) for t in EmailTemplate.select())


def test_save_and_load_a_mailing_template(supervisor):
    saved = mailing_compose.save_mailing_template(supervisor, " Go-live ", "Hello <FirstName>",
                                                  "Your login: <WebID> / <WebPin>")
    assert saved.name == "Go-live"
    assert "Go-live" in mailing_compose.mailing_template_names()
    assert PASSWORD_RESET not in mailing_compose.mailing_template_names()
    loaded = mailing_compose.load_template("Go-live")
    assert (loaded.subject, loaded.body) == ("Hello <FirstName>", "Your login: <WebID> / <WebPin>")
    assert AuditEvent.select().where(AuditEvent.action == "mailing_template.save").count() == 1
    mailing_compose.save_mailing_template(supervisor, "Go-live", "Second", "Body two")
    assert mailing_compose.load_template("Go-live").subject == "Second"


def test_system_templates_cannot_be_overwritten_or_loaded(supervisor):
    before = get_template(PASSWORD_RESET)
    for name in (PASSWORD_RESET, PASSWORD_RESET.upper()):
        with pytest.raises(ValidationError, match="program's own emails"):
            mailing_compose.save_mailing_template(supervisor, name, "Hi", "Body")
    assert get_template(PASSWORD_RESET) == before
    with pytest.raises(NotFound):
        mailing_compose.load_template(PASSWORD_RESET)
    with pytest.raises(NotFound):
        mailing_compose.load_template("No such template")


@pytest.mark.parametrize(("name", "subject", "body"), [
    ("T", "Hi", "Dear <Nickname>"),  # unknown merge field
    ("T", "Hi", "<b>bold</b>"),  # HTML reads as an unknown merge field: plain text only
    ("T", "Hi", "Reset at <ResetLink>"),  # only the forgot-password email can fill it
    ("T", "PIN <WebPin>", "Body"),  # a PIN in every inbox list
    ("T", "Hi", "x" * 100_001),
    ("T", "", "Body"),
    ("T", "Hi", ""),
    ("", "Hi", "Body"),
    ("x" * 101, "Hi", "Body"),
    ("Tab\tname", "Hi", "Body"),
    ("T", "Line\nbreak", "Body"),
    ("T", None, "Body"),
    ("T", "Hi", None),
])
def test_bad_templates_are_refused_and_change_nothing(supervisor, name, subject, body):
    before = template_rows()
    with pytest.raises(ValidationError):
        mailing_compose.save_mailing_template(supervisor, name, subject, body)
    assert template_rows() == before


def test_hostile_but_harmless_text_is_kept_as_text(supervisor):
    body = "'; DROP TABLE emailtemplate; -- Siobhán 😀 a < b > c " + "x" * 10_000
    mailing_compose.save_mailing_template(supervisor, "Ünïcode <b>", "Ça va? '; --", body)
    loaded = mailing_compose.load_template("Ünïcode <b>")
    assert loaded.body == body and loaded.subject == "Ça va? '; --"


def test_clerk_cannot_save_a_mailing_template_or_send_a_test(clerk, mail):
    with pytest.raises(PermissionDenied):
        mailing_compose.save_mailing_template(clerk, "T", "Hi", "Body")
    with pytest.raises(PermissionDenied):
        mailing_compose.send_test(clerk, CREDENTIALS, "me@example.org")
    assert not mail.recorder.received


def test_sample_recipient_is_the_first_targeted(supervisor):
    assert mailing_compose.sample_recipient(Targeting()) is None
    first = make_household(1)
    second = make_household(2, pass_code="CY-MST")
    assert mailing_compose.sample_recipient(Targeting()).household_id == first
    only_mst = Targeting(pass_types=("CY-MST",))
    assert mailing_compose.sample_recipient(only_mst).household_id == second
    with pytest.raises(ValidationError):
        mailing_compose.sample_recipient(Targeting(pass_types=("NOPE",)))


def test_send_test_goes_out_once_with_the_placeholder_and_mints_nothing(supervisor, mail):
    first = make_household(1, email="h1@example.org")
    chosen = make_household(2, email="h2@example.org")
    hashes = {a.id: (a.password_hash, a.must_change) for a in WebAccount.select()}
    sent = mailing_compose.send_test(supervisor, CREDENTIALS, " Me@Example.org ", chosen)
    assert sent.to == "Me@example.org" and "127.0.0.1" in sent.via
    assert sent.sample == "Ann2 Last2"
    [(recipients, message)] = mail.recorder.received
    assert recipients == ["Me@example.org"]  # the household itself gets nothing
    assert message["Subject"] == "[TEST] Your portal login"
    body = body_of(message)
    assert "Dear Ann2," in body and "User name: user2" in body and PIN_PLACEHOLDER in body
    assert "https://portal.example.org" in body
    assert {a.id: (a.password_hash, a.must_change) for a in WebAccount.select()} == hashes
    assert WebAccount.get(WebAccount.household == first).credentials_delivered_at is None
    assert AuditEvent.select().where(AuditEvent.action == "mailing.test").count() == 1


def test_send_test_without_a_household_uses_the_first_or_a_sample(supervisor, mail):
    mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org")
    assert "Dear Sam," in body_of(mail.recorder.received[0][1])
    make_household(7)
    mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org")
    assert "Dear Ann7," in body_of(mail.recorder.received[1][1])


def test_send_test_prefers_a_household_with_a_login_and_says_when_one_has_none(
        supervisor, mail):
    without = make_household(1, login=False)
    make_household(2)
    mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org")
    assert "User name: user2" in body_of(mail.recorder.received[0][1])
    with pytest.raises(ValidationError, match="has no web login yet"):
        mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org", without)
    news = MessageDraft("News", "Dear <FirstName>, the pool opens Monday.")
    mailing_compose.send_test(supervisor, news, "me@example.org", without)
    assert "Dear Ann1," in body_of(mail.recorder.received[1][1])


def test_send_test_of_a_text_only_message_mails_the_text(supervisor, mail):
    make_household(1)
    text = MessageDraft("", "", channels="text", text_body="Hi <FirstName>, PIN <WebPin>")
    mailing_compose.send_test(supervisor, text, "me@example.org")
    message = mail.recorder.received[0][1]
    assert message["Subject"] == "[TEST] Text message"
    assert f"Hi Ann1, PIN {PIN_PLACEHOLDER}" in body_of(message)


@pytest.mark.parametrize("to", [*HOSTILE, "not-an-address", "a@b@c.org", "x" * 400 + "@e.org"])
def test_send_test_refuses_a_bad_address(supervisor, mail, to):
    with pytest.raises(ValidationError):
        mailing_compose.send_test(supervisor, CREDENTIALS, to)
    assert not mail.recorder.received


@pytest.mark.parametrize("message", [
    MessageDraft("", "Body"),
    MessageDraft("Hi", ""),
    MessageDraft("Hi", "Dear <Nickname>"),
    MessageDraft("Hi", "x" * 100_001),
    MessageDraft("Hi <WebPin>", "Body"),
    MessageDraft("Hi", "Body", cc=("'; DROP TABLE outboxmessage; --",)),
])
def test_send_test_refuses_a_bad_message(supervisor, mail, message):
    with pytest.raises(ValidationError):
        mailing_compose.send_test(supervisor, message, "me@example.org")
    assert not mail.recorder.received


@pytest.mark.parametrize("household_id", [999_999, "1", True, -1])
def test_send_test_refuses_an_unknown_household(supervisor, mail, household_id):
    make_household(1)
    with pytest.raises((ValidationError, NotFound)):
        mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org", household_id)
    assert not mail.recorder.received


def test_send_test_in_capture_mode_writes_the_capture_folder(supervisor, mail, admin,
                                                              tmp_path):
    site_settings.set_settings(admin, {"email.mode": "capture",
                                       "email.capture_folder": str(tmp_path)})
    make_household(1)
    sent = mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org")
    assert "capture" in sent.via
    (captured,) = tmp_path.glob("*.eml")
    message = email.message_from_bytes(captured.read_bytes())
    assert message["To"] == "me@example.org"
    assert not mail.recorder.received


def test_send_test_without_a_portal_address_says_so(supervisor, mail, admin):
    site_settings.set_settings(admin, {"portal.url": ""})
    with pytest.raises(ValidationError, match="portal address"):
        mailing_compose.send_test(supervisor, CREDENTIALS, "me@example.org")
    assert not mail.recorder.received
