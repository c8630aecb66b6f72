"""Email delivery: capture mode, a real SMTP server, refusals and a dead server explained."""

import email
import uuid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from clerkdesk.services import email_delivery, settings, web_accounts
from clerkdesk.services.email_delivery import DeliveryError, OutgoingEmail, deliver
from clerkdesk.services.errors import PermissionDenied, ValidationError
from tests.smtp_server import Recorder, body_of, free_port


def test_test_email_reaches_the_smtp_server(admin, mail):
    how = email_delivery.send_test_email(admin, "me@example.org")
    assert how == f"SMTP server 127.0.0.1:{mail.port}"
    (message,) = mail.recorder.messages_to("me@example.org")
    assert message["Subject"] == "ClerkDesk test email"
    assert message["From"] == "Front Desk <desk@example.org>"


def test_test_email_needs_the_settings_device(clerk, mail):
    with pytest.raises(PermissionDenied):
        email_delivery.send_test_email(clerk, "me@example.org")
    assert mail.received == []


def test_capture_mode_writes_eml_files_and_sends_nothing(admin, mail, tmp_path):
    settings.set_settings(admin, {"email.mode": "capture", "email.capture_folder": str(tmp_path)})
    email_delivery.send_test_email(admin, "me@example.org")
    (captured,) = tmp_path.glob("*.eml")
    message = email.message_from_bytes(captured.read_bytes())
    assert message["To"] == "me@example.org"
    assert mail.received == []


def test_one_connection_carries_many_messages(admin, mail):
    deliver([OutgoingEmail(f"r{i}@example.org", "Hello", "Body") for i in range(5)])
    assert len(mail.received) == 5


def test_a_refused_recipient_is_a_permanent_failure(admin, mail):
    mail.recorder.reject.add("gone@example.org")
    with pytest.raises(DeliveryError, match="refused the address") as refused:
        deliver([OutgoingEmail("gone@example.org", "Hello", "Body")])
    assert refused.value.permanent


@pytest.mark.parametrize(("host", "port", "message"), [
    ("127.0.0.1", None, "refused the connection"),
    ("no-such-host.invalid", 25, "cannot be found"),
])
def test_unreachable_servers_are_explained(admin, host, port, message):
    settings.set_settings(admin, {"email.smtp_host": host, "email.smtp_port": port or free_port(),
                                  "email.smtp_security": "none",
                                  "email.from_address": "desk@example.org"})
    with pytest.raises(DeliveryError, match=message):
        email_delivery.send_test_email(admin, "me@example.org")


def test_email_not_set_up_is_explained(admin):
    with pytest.raises(DeliveryError, match="enter the SMTP server"):
        email_delivery.send_test_email(admin, "me@example.org")


@pytest.mark.parametrize("bad", ["", "nobody", "a@b", "x@example.org\nBcc: all@example.org"])
def test_bad_test_addresses_are_refused(admin, mail, bad):
    with pytest.raises(ValidationError):
        email_delivery.send_test_email(admin, bad)
    assert mail.received == []


def test_html_in_a_household_name_stays_plain_text(clerk, household, mail):
    from clerkdesk.models import Household

    Household.update(name="<script>alert(1)</script>").execute()
    view = web_accounts.create_account(clerk, household, "scripted")
    web_accounts.set_password(clerk, view.id, "Plain-Text-Only-1", "Plain-Text-Only-1")
    (notice,) = mail.received
    assert notice[1].get_content_type() == "text/plain"


def test_smtp_sign_in_uses_the_password_from_the_keyring(admin):
    user = f"desk-{uuid.uuid4().hex[:8]}"  # the test keyring outlives each test
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"smtp-Secret-7", handled=False)

    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        settings.set_settings(admin, {"email.smtp_host": "127.0.0.1", "email.smtp_port": port,
                                      "email.smtp_security": "none", "email.smtp_user": user,
                                      "email.from_address": "desk@example.org"})
        with pytest.raises(DeliveryError, match="No SMTP password is stored"):
            email_delivery.send_test_email(admin, "me@example.org")
        email_delivery.store_smtp_password(admin, "not-the-Secret")
        with pytest.raises(DeliveryError, match="refused the sign-in"):
            email_delivery.send_test_email(admin, "me@example.org")
        email_delivery.store_smtp_password(admin, "smtp-Secret-7")
        email_delivery.send_test_email(admin, "me@example.org")
    finally:
        controller.stop()
    assert seen[-1] == (user, "smtp-Secret-7")
    assert len(recorder.received) == 1


def test_merge_values_fill_names(clerk, household, mail):
    view = web_accounts.create_account(clerk, household, "merge-me")
    web_accounts.email_credentials(clerk, view.id, mint_if_empty=True)
    assert "Hello Siobhán," in body_of(mail.received[0][1])


@pytest.fixture
def tls_server(tmp_path):
    from tests.smtp_server import SmtpServer, self_signed_context

    server = SmtpServer(self_signed_context(tmp_path)).start()
    yield server
    server.stop()


def _starttls_to(admin, server, verify: bool) -> None:
    settings.set_settings(admin, {
        "email.mode": "smtp", "email.smtp_host": "127.0.0.1", "email.smtp_port": server.port,
        "email.smtp_security": "starttls", "email.smtp_verify_certificate": verify,
        "email.from_address": "desk@example.org"})


def test_a_server_that_cannot_prove_who_it_is_gets_nothing(admin, tls_server):
    _starttls_to(admin, tls_server, verify=True)
    with pytest.raises(DeliveryError, match=r"did not prove who it is.*self-signed"):
        email_delivery.deliver([OutgoingEmail("a@example.org", "PIN", "secret 8812")])
    assert tls_server.received == []


def test_certificate_check_can_be_turned_off_for_an_own_server(admin, tls_server):
    _starttls_to(admin, tls_server, verify=False)
    email_delivery.deliver([OutgoingEmail("a@example.org", "Hello", "over TLS")])
    assert len(tls_server.received) == 1
