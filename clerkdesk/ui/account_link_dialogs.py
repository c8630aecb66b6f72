"""Portal account actions that send the household something: a sign-in link, a sign-up link,
the welcome email again, and Send Customer Portal Credentials (seeds 002, 003, 004).

The Portal Accounts window calls the four entry points below; each returns True when
something was sent or made, so the caller knows to refresh. Every service call that mails
runs off the GUI thread; a refusal is shown in the service's own words and changes nothing.
"""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import account_links, households, web_accounts, welcome
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.session import StaffSession
from clerkdesk.services.settings import get_setting
from clerkdesk.services.web_accounts import AccountView

from .background import call_in_background
from .forms import small_note
from .messages import error_text, show_error

_FAILED = object()  # what _run_busy returns when the call raised (already shown)


# --- entry points ---------------------------------------------------------------------------

def open_login_link(parent: QWidget | None, session: StaffSession, account_id: int) -> bool:
    """Confirm, then email the account a single-use sign-in link."""
    account = _account(parent, session, account_id, "Send sign-in link")
    if account is None:
        return False
    hours = int(get_setting("security.login_link_hours"))
    if not _confirm(parent, "Send sign-in link",
                    f"Email a sign-in link to {account.email}?",
                    f"The link signs “{account.username}” in to the portal once, without a "
                    f"password, and expires after {_plural(hours, 'hour')}. An earlier "
                    "sign-in link stops working."):
        return False
    address = _run_busy(parent, "Sending the sign-in link…", "Sign-in link not sent",
                        lambda: account_links.send_login_link(session, account_id))
    if address is _FAILED:
        return False
    QMessageBox.information(parent, "Sign-in link sent", f"A sign-in link was emailed to "
                            f"{address}.")
    return True


def resend_welcome(parent: QWidget | None, session: StaffSession, account_id: int) -> bool:
    """Confirm, then email the welcome message with a new choose-your-password link."""
    account = _account(parent, session, account_id, "Resend welcome email")
    if account is None:
        return False
    if not _confirm(parent, "Resend welcome email",
                    f"Email the welcome message again to {account.email}?",
                    "It holds a new link to choose a password (never a password). Earlier "
                    "welcome and reset links stop working; the current password stays as it "
                    "is until the link is used."):
        return False
    address = _run_busy(parent, "Sending the welcome email…", "Welcome email not sent",
                        lambda: welcome.resend_welcome(session, account_id))
    if address is _FAILED:
        return False
    QMessageBox.information(parent, "Welcome email sent", f"The welcome email was sent to "
                            f"{address}.")
    return True


def open_sign_up_link(parent: QWidget | None, session: StaffSession, household_id: int
                      ) -> bool:
    """A sign-up link for an existing household, to copy or to email."""
    try:
        detail = households.get_household(session, household_id)
    except Exception as error:  # shown in the service's words, then nothing happens
        show_error(parent, "Sign-up link", error)
        return False
    label = f"{detail.data.name} (client {detail.data.client_id})"
    dialog = SignUpLinkDialog(session, household_id, label, detail.data.email, parent)
    dialog.exec()
    return dialog.link is not None


def open_send_credentials(parent: QWidget | None, session: StaffSession, account_id: int
                          ) -> bool:
    """Send Customer Portal Credentials with an editable address, subject and message."""
    try:
        account = web_accounts.get_account(session, account_id)
        default = account_links.default_credentials_message(session, account_id)
        who = _holder(session, account)
    except Exception as error:
        show_error(parent, "Send Customer Portal Credentials", error)
        return False
    dialog = SendCredentialsDialog(session, account, default, who, parent)
    return dialog.exec() == QDialog.DialogCode.Accepted


# --- Send Customer Portal Credentials ---------------------------------------------------------

class SendCredentialsDialog(QDialog):
    def __init__(self, session: StaffSession, account: AccountView,
                 default: account_links.CredentialsMessage, who: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.account = session, account
        self.result_sent: account_links.CredentialsSent | None = None
        self.setWindowTitle("Send Customer Portal Credentials")
        self.setMinimumSize(620, 520)
        layout = QVBoxLayout(self)
        heading = QLabel(f"Portal sign-in details for {who or 'this customer'}")
        heading.setObjectName("heading")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addLayout(self._form(default))
        layout.addWidget(small_note("Merge fields (<FirstName>, <WebID>, <PortalLink>, …) are "
                                    "filled in when the message is sent."))
        self.pin_note = QLabel()
        self.pin_note.setObjectName("hint")
        self.pin_note.setWordWrap(True)
        layout.addWidget(self.pin_note)
        self.problem = _problem_label()
        layout.addWidget(self.problem)
        layout.addWidget(self._buttons())
        self.message.textChanged.connect(self._explain_pin)
        self.subject.textChanged.connect(self._explain_pin)
        self._explain_pin()

    def _form(self, default: account_links.CredentialsMessage) -> QFormLayout:
        self.to = QLineEdit(default.to)
        self.to.setPlaceholderText("name@example.org")
        self.subject = QLineEdit(default.subject)
        self.message = QPlainTextEdit(default.body)
        self.message.setTabChangesFocus(True)
        self.message.setMinimumHeight(220)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        login_id = QLabel(self.account.username)
        login_id.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Login ID:", login_id)
        form.addRow("&To:", self.to)
        form.addRow("&Subject:", self.subject)
        form.addRow("&Message:", self.message)
        return form

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = buttons.addButton("&Send", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_button.setDefault(True)
        buttons.accepted.connect(self.send)
        buttons.rejected.connect(self.reject)
        return buttons

    def _explain_pin(self) -> None:
        if account_links.PIN_FIELD in self.message.toPlainText() + self.subject.text():
            self.pin_note.setText(
                "When you press Send, <WebPin> becomes a new PIN for this login. The old PIN "
                "or password stops working at once, and the customer chooses their own at "
                "first sign-in. The PIN is in this email only: nobody can look it up later.")
        else:
            self.pin_note.setText("This message has no <WebPin>, so no new PIN is made and the "
                                  "current password keeps working.")

    def send(self) -> None:
        to, subject, body = self.to.text(), self.subject.text(), self.message.toPlainText()
        account_id = self.account.id
        self._busy(True)
        call_in_background(
            lambda: account_links.send_customer_credentials(self.session, account_id, to,
                                                            subject, body),
            self._sent, self._refused)

    def _sent(self, sent: account_links.CredentialsSent) -> None:
        self._busy(False)
        self.result_sent = sent
        what = ("It holds a new PIN; the old one no longer works." if sent.pin_changed
                else "No PIN was changed.")
        QMessageBox.information(self, "Credentials sent", f"The message was sent to "
                                f"{sent.address}. {what}")
        self.accept()

    def _refused(self, error: Exception) -> None:
        self._busy(False)
        self.problem.setText(error_text(error))
        self.problem.show()
        field = {"to": self.to, "subject": self.subject, "message": self.message}.get(
            error.field if isinstance(error, ValidationError) else "")
        if field is not None:
            field.setFocus()
            field.selectAll()

    def _busy(self, busy: bool) -> None:
        for widget in (self.to, self.subject, self.message, self.send_button):
            widget.setEnabled(not busy)
        if busy:
            self.problem.hide()
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()


# --- sign-up link -----------------------------------------------------------------------------

class SignUpLinkDialog(QDialog):
    """Makes the link as it opens; the clerk copies it or emails it (seed 002)."""

    def __init__(self, session: StaffSession, household_id: int, household_label: str,
                 email: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.household_id = session, household_id
        self.link: str | None = None
        self.setWindowTitle(f"Sign-up link — {household_label}")
        self.setMinimumWidth(660)
        days = int(get_setting("security.sign_up_link_days"))
        layout = QVBoxLayout(self)
        heading = QLabel(f"Sign-up link for {household_label}")
        heading.setObjectName("heading")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(small_note(
            "The customer opens this link, chooses a user name and password, and the new "
            "account is attached to this household's record. The link works once and expires "
            f"after {_plural(days, 'day')}."))
        layout.addLayout(self._rows(email))
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.status.hide()
        layout.addWidget(self.status)
        self.problem = _problem_label()
        layout.addWidget(self.problem)
        closing = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        closing.rejected.connect(self.reject)
        layout.addWidget(closing)
        self._make_link()

    def _rows(self, email: str) -> QGridLayout:
        """Link and address one under the other, their buttons alike: copy it, or send it."""
        self.link_field = QLineEdit()
        self.link_field.setReadOnly(True)
        self.link_field.setPlaceholderText("Making the link…")
        self.link_field.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QPushButton("&Copy to clipboard")
        self.copy_button.clicked.connect(self.copy_link)
        self.email = QLineEdit(email)
        self.email.setPlaceholderText("name@example.org")
        self.send_button = QPushButton("&Send email")
        self.send_button.clicked.connect(self.send_email)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for row, (label, field, button) in enumerate((
                ("Link:", self.link_field, self.copy_button),
                ("Or &email it to:", self.email, self.send_button))):
            caption = QLabel(label)
            caption.setBuddy(field)
            grid.addWidget(caption, row, 0)
            grid.addWidget(field, row, 1)
            grid.addWidget(button, row, 2)
        return grid

    def _make_link(self) -> None:
        self._busy(True)
        household_id = self.household_id
        call_in_background(lambda: account_links.sign_up_link(self.session, household_id),
                           self._made, self._refused)

    def _made(self, made: account_links.SignUpLink) -> None:
        self.link = made.link
        self.link_field.setText(made.link)
        self.link_field.setCursorPosition(0)
        self._busy(False)

    def copy_link(self) -> None:
        QGuiApplication.clipboard().setText(self.link or "")
        self._say("The link is on the clipboard: paste it into your message to the customer.")

    def send_email(self) -> None:
        link, to, household_id = self.link, self.email.text(), self.household_id
        self._busy(True)
        call_in_background(
            lambda: account_links.email_sign_up_link(self.session, household_id, link, to),
            self._emailed, self._refused)

    def _emailed(self, sent: account_links.SignUpLink) -> None:
        self._busy(False)
        self._say(f"The link was emailed to {sent.emailed_to}.")

    def _refused(self, error: Exception) -> None:
        self._busy(False)
        self.problem.setText(error_text(error))
        self.problem.show()
        if isinstance(error, ValidationError) and error.field == "email":
            self.email.setFocus()
            self.email.selectAll()

    def _say(self, text: str) -> None:
        self.problem.hide()
        self.status.setText(text)
        self.status.show()

    def _busy(self, busy: bool) -> None:
        ready = not busy and self.link is not None
        for widget in (self.copy_button, self.send_button, self.email):
            widget.setEnabled(ready)
        if busy:
            self.problem.hide()
            self.status.hide()


# --- helpers --------------------------------------------------------------------------------

def _account(parent: QWidget | None, session: StaffSession, account_id: int,
             title: str) -> AccountView | None:
    """The account to act on, or None after telling the clerk why not."""
    try:
        account = web_accounts.get_account(session, account_id)
    except Exception as error:
        show_error(parent, title, error)
        return None
    if not account.email:
        QMessageBox.warning(parent, title, "This household has no email address on file. Add "
                            "one in Household Maintenance first.")
        return None
    return account


def _holder(session: StaffSession, account: AccountView) -> str:
    """Whose login this is, for the heading: the contact's name, else the household's."""
    data = households.get_household(session, account.household_id).data
    member = next((m for m in data.members if m.id == account.member_id), None)
    if member is None:
        return f"the {data.name} household"
    return " ".join(part for part in (member.first_name, member.last_name) if part)


def _confirm(parent: QWidget | None, title: str, question: str, detail: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, question,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setInformativeText(detail)
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    return box.exec() == QMessageBox.StandardButton.Yes


def _run_busy(parent: QWidget | None, label: str, failure_title: str,
              call: Callable[[], Any]) -> Any:
    """Run `call` off the GUI thread behind a small modal "working" window; its result, or
    _FAILED after showing the error."""
    waiting = _WaitingDialog(label, parent)
    outcome: dict[str, Any] = {}

    def finish(key: str, value: Any) -> None:
        outcome[key] = value
        waiting.done(0)

    call_in_background(call, lambda result: finish("result", result),
                       lambda error: finish("error", error))
    waiting.exec()  # the background call reports inside this event loop
    if "error" in outcome:
        show_error(parent, failure_title, outcome["error"])
        return _FAILED
    return outcome.get("result")


class _WaitingDialog(QDialog):
    def __init__(self, label: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Please wait")
        self.setMinimumWidth(320)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(label))
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy, no figure to show
        layout.addWidget(bar)

    def reject(self) -> None:  # Escape would hide a send that still goes ahead
        pass


def _problem_label() -> QLabel:
    problem = QLabel()
    problem.setObjectName("problem")
    problem.setWordWrap(True)
    problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    problem.hide()
    return problem


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
