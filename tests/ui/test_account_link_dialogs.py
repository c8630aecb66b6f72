"""The sign-in link, welcome, sign-up link and Send Customer Portal Credentials dialogs,
driven through their real widgets against the real SMTP server."""

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QMessageBox

from clerkdesk.models import Household, Token, WebAccount
from clerkdesk.services import account_links, portal, roles, web_accounts
from clerkdesk.services.portal import Outcome
from clerkdesk.ui import account_link_dialogs
from clerkdesk.ui.account_link_dialogs import SendCredentialsDialog, SignUpLinkDialog
from tests.smtp_server import body_of
from tests.ui.modal import when_modal

Yes, No, Ok = (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No,
               QMessageBox.StandardButton.Ok)


@pytest.fixture
def account(clerk, household):
    return web_accounts.create_account(clerk, household, "obrien").id


def answer_in_turn(*buttons) -> list[str]:
    """Answer the next message boxes with `buttons`, one each; returns what they said."""
    seen: list[str] = []

    def answer(box):
        seen.append(f"{box.text()} {box.informativeText()}")
        box.button(buttons[len(seen) - 1]).click()
        if len(seen) < len(buttons):
            when_modal(QMessageBox, answer)

    when_modal(QMessageBox, answer)
    return seen


def _click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# --- sign-in link and welcome -----------------------------------------------------------------

def test_login_link_is_confirmed_then_sent(qtbot, clerk, account, mail):
    seen = answer_in_turn(Yes, Ok)
    assert account_link_dialogs.open_login_link(None, clerk, account) is True
    assert "obrien@example.org" in seen[0] and "24 hours" in seen[0]
    assert "emailed to obrien@example.org" in seen[1]
    (message,) = mail.recorder.messages_to("obrien@example.org")
    assert "/link-sign-in?token=" in body_of(message)


def test_login_link_answered_no_sends_nothing(qtbot, clerk, account, mail):
    answer_in_turn(No)
    assert account_link_dialogs.open_login_link(None, clerk, account) is False
    assert mail.received == [] and Token.select().count() == 0


def test_resend_welcome_confirms_and_reports(qtbot, clerk, account, mail):
    seen = answer_in_turn(Yes, Ok)
    assert account_link_dialogs.resend_welcome(None, clerk, account) is True
    assert "never a password" in seen[0]
    (message,) = mail.recorder.messages_to("obrien@example.org")
    assert "/reset?token=" in body_of(message)


def test_a_failed_send_is_shown_and_changes_nothing(qtbot, clerk, account, mail):
    mail.stop()
    seen = answer_in_turn(Yes, Ok)
    assert account_link_dialogs.resend_welcome(None, clerk, account) is False
    assert "refused the connection" in seen[1]
    assert Token.select().count() == 0


def test_an_account_without_an_address_is_explained(qtbot, clerk, account, mail):
    WebAccount.update(email="").execute()
    Household.update(email="").execute()
    seen = answer_in_turn(Ok)
    assert account_link_dialogs.open_login_link(None, clerk, account) is False
    assert "no email address" in seen[0]


# --- sign-up link -----------------------------------------------------------------------------

def _sign_up_dialog(qtbot, clerk, household) -> SignUpLinkDialog:
    dialog = SignUpLinkDialog(clerk, household, "O'Brien", "obrien@example.org")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.link_field.text() != "")
    return dialog


def test_sign_up_link_is_shown_and_copied(qtbot, clerk, household, mail):
    dialog = _sign_up_dialog(qtbot, clerk, household)
    link = dialog.link_field.text()
    assert link.startswith("https://portal.example.org/sign-up?token=")
    assert dialog.link_field.isReadOnly()
    _click(qtbot, dialog.copy_button)
    assert QGuiApplication.clipboard().text() == link
    assert "clipboard" in dialog.status.text()
    secret = link.rsplit("=", 1)[1]
    account_links.redeem_sign_up_link(secret, "obrien-home", "Chosen-At-Home-77",
                                      "Chosen-At-Home-77")
    assert WebAccount.get().household_id == household


def test_sign_up_link_is_emailed_from_the_dialog(qtbot, clerk, household, mail):
    dialog = _sign_up_dialog(qtbot, clerk, household)
    dialog.email.clear()
    qtbot.keyClicks(dialog.email, "aoife@example.org")
    _click(qtbot, dialog.send_button)
    qtbot.waitUntil(dialog.status.isVisible, timeout=10_000)
    assert "emailed to aoife@example.org" in dialog.status.text()
    (message,) = mail.recorder.messages_to("aoife@example.org")
    assert dialog.link_field.text() in body_of(message)
    assert Token.select().count() == 1  # the link on screen, not a second one


@pytest.mark.parametrize("bad", ["not-an-address", "<script>@x.org", "a" * 10_000])
def test_sign_up_email_refuses_a_bad_address(qtbot, clerk, household, mail, bad):
    dialog = _sign_up_dialog(qtbot, clerk, household)
    dialog.email.clear()
    dialog.email.insert(bad)
    _click(qtbot, dialog.send_button)
    qtbot.waitUntil(dialog.problem.isVisible, timeout=10_000)
    assert dialog.problem.text()
    assert dialog.email.hasFocus() and dialog.send_button.isEnabled()
    assert mail.received == []


def test_sign_up_entry_point_opens_the_dialog(qtbot, clerk, household, mail):
    shown = []

    def close_when_ready(dialog):
        qtbot.waitUntil(lambda: dialog.link_field.text() != "")
        shown.append(dialog.link_field.text())
        dialog.reject()

    when_modal(SignUpLinkDialog, close_when_ready)
    assert account_link_dialogs.open_sign_up_link(None, clerk, household) is True
    assert shown and "sign-up?token=" in shown[0]


# --- Send Customer Portal Credentials ---------------------------------------------------------

def _credentials_dialog(qtbot, clerk, account) -> SendCredentialsDialog:
    dialog = SendCredentialsDialog(clerk, web_accounts.get_account(clerk, account),
                                   account_links.default_credentials_message(clerk, account))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_send_credentials_prefilled_edited_and_sent(qtbot, clerk, account, mail):
    dialog = _credentials_dialog(qtbot, clerk, account)
    assert dialog.to.text() == "obrien@example.org"
    assert "<WebPin>" in dialog.message.toPlainText()
    assert "https://portal.example.org" in dialog.message.toPlainText()
    assert "becomes a new PIN" in dialog.pin_note.text()
    dialog.to.clear()
    qtbot.keyClicks(dialog.to, "desk-copy@example.org")
    dialog.subject.clear()
    qtbot.keyClicks(dialog.subject, "Your portal PIN")
    dialog.message.moveCursor(dialog.message.textCursor().MoveOperation.End)
    qtbot.keyClick(dialog.message, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.message, "Call us with any questions.")
    seen = answer_in_turn(Ok)
    _click(qtbot, dialog.send_button)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    assert "desk-copy@example.org" in seen[0] and "new PIN" in seen[0]
    (message,) = mail.recorder.messages_to("desk-copy@example.org")
    body = body_of(message)
    assert "Call us with any questions." in body and "<WebPin>" not in body
    pin = re.search(r"PIN:\s+(\S+)", body)[1]
    assert portal.authenticate("obrien", pin).outcome is Outcome.MUST_CHANGE


def test_the_note_says_when_no_pin_is_made(qtbot, clerk, account, mail):
    dialog = _credentials_dialog(qtbot, clerk, account)
    dialog.message.setPlainText("Your login ID is <WebID>.")
    assert "no new PIN" in dialog.pin_note.text()


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("to", "not-an-address", "not a valid email"),
    ("subject", "", "Enter the subject"),
    ("message", "PIN <WebPin> <script>alert(1)</script>", "<script>"),
    ("message", "PIN <WebPin> " + "x" * 10_000, "too long"),
])
def test_send_credentials_shows_the_problem_and_changes_nothing(qtbot, clerk, account, mail,
                                                                field, text, expected):
    dialog = _credentials_dialog(qtbot, clerk, account)
    before = WebAccount.get_by_id(account).__data__.copy()
    widget = getattr(dialog, field)
    if field == "message":
        widget.setPlainText(text)
    else:
        widget.clear()
        widget.insert(text)
    _click(qtbot, dialog.send_button)
    qtbot.waitUntil(dialog.problem.isVisible, timeout=10_000)
    assert expected in dialog.problem.text()
    assert widget.hasFocus() and dialog.send_button.isEnabled() and dialog.isVisible()
    assert WebAccount.get_by_id(account).__data__ == before and mail.received == []


def test_send_credentials_entry_point(qtbot, clerk, account, mail):
    def press_send(dialog):
        _click(qtbot, dialog.send_button)
        answer_in_turn(Ok)

    when_modal(SendCredentialsDialog, press_send)
    assert account_link_dialogs.open_send_credentials(None, clerk, account) is True
    assert len(mail.recorder.messages_to("obrien@example.org")) == 1


def test_send_credentials_entry_point_without_permission(qtbot, admin, clerk, account, mail):
    roles.set_grant(admin, "Clerk", "web_details.email", False)
    seen = answer_in_turn(Ok)
    assert account_link_dialogs.open_send_credentials(None, clerk, account) is False
    assert "web_details.email" in seen[0]
