"""Web Details: a household's portal login at the counter.

The current password is never shown, not even its length: the clerk can only type a new one,
mint a temporary one, or email fresh credentials. Controls the role lacks are disabled with
a tooltip saying why; the services refuse them too.
"""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import permissions, web_accounts
from clerkdesk.services.email_delivery import DeliveryError
from clerkdesk.services.permissions import Permission
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text
from clerkdesk.services.web_accounts import AccountView, WebDetailsChange

from .background import call_in_background
from .forms import small_note
from .messages import error_text


class WebDetailsDialog(QDialog):
    def __init__(self, session: StaffSession, household_id: int, household_label: str,
                 member_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.household_id, self.member_id = session, household_id, member_id
        self.household_label = household_label
        self.setWindowTitle(f"Web Details — {household_label}")
        self.setMinimumWidth(540)
        self.held = permissions.granted(session)
        self.account: AccountView | None = web_accounts.account_for(session, household_id,
                                                                    member_id)
        self.changed = False
        self._build()
        self._show_account()

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.confirm = QLineEdit()
        for field in (self.password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_typed = QCheckBox("Show what I type")
        self.show_typed.toggled.connect(self._toggle_echo)
        self.locked = QCheckBox("User is locked out")
        self.status = QComboBox()
        self.status.addItem("Active", True)
        self.status.addItem("Disabled", False)
        self.must_change = QCheckBox("Must change password at next sign-in")
        self.facts = QLabel()
        self.facts.setObjectName("note")
        layout.addLayout(self._form())
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        layout.addLayout(self._buttons())

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        form.addRow("Web &user name:", self.username)
        form.addRow("&New password:", self.password)
        form.addRow("&Re-enter new password:", self.confirm)
        form.addRow("", self.show_typed)
        form.addRow("", small_note("The current password cannot be shown or read by anyone."))
        form.addRow("", self.locked)
        form.addRow("Account &status:", self.status)
        form.addRow("", self.must_change)
        form.addRow("", self.facts)
        return form

    def _buttons(self) -> QVBoxLayout:
        self.email_button = QPushButton("&Email User Name and Password to Household")
        self.generate_button = QPushButton("&Generate password")
        self.create_button = QPushButton("&Create web account")
        self.done_button = QPushButton("&Done")
        self.done_button.setDefault(True)
        cancel = QPushButton("Cancel")
        self.email_button.clicked.connect(self.email_credentials)
        self.generate_button.clicked.connect(self.generate_password)
        self.create_button.clicked.connect(self.create_account)
        self.done_button.clicked.connect(self.done_clicked)
        cancel.clicked.connect(self.reject)
        top, bottom = QHBoxLayout(), QHBoxLayout()
        top.addWidget(self.email_button)
        top.addWidget(self.generate_button)
        top.addStretch()
        bottom.addWidget(self.create_button)
        bottom.addStretch()
        bottom.addWidget(self.done_button)
        bottom.addWidget(cancel)
        rows = QVBoxLayout()
        rows.addLayout(top)
        rows.addLayout(bottom)
        return rows

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.password.setEchoMode(mode)
        self.confirm.setEchoMode(mode)

    # --- showing ---------------------------------------------------------------------------
    def _show_account(self) -> None:
        account, exists = self.account, self.account is not None
        self.heading.setText(f"Web account of {self.household_label}" if exists else
                             "This household has no web account yet. Enter a user name (and, "
                             "if the customer gives one, a password) to create it.")
        self.username.setText(account.username if exists else "")
        self.password.clear()
        self.confirm.clear()
        self.locked.setChecked(exists and account.locked)
        self.status.setCurrentIndex(0 if not exists or account.status == "active" else 1)
        self.must_change.setChecked(True if not exists else account.must_change)
        self.facts.setText(_facts(account) if exists else "")
        self.create_button.setVisible(not exists)
        self.done_button.setText("&Done" if exists else "Close")
        for widget in (self.locked, self.status, self.email_button, self.generate_button):
            widget.setVisible(exists)
        self._apply_permissions()

    def _apply_permissions(self) -> None:
        rules = (
            ((self.username, self.password, self.confirm, self.must_change,
              self.generate_button, self.create_button), Permission.WEB_DETAILS_CHANGE),
            ((self.locked,), Permission.WEB_ACCOUNT_UNLOCK),
            ((self.status,), Permission.WEB_ACCOUNT_DISABLE),
            ((self.email_button,), Permission.WEB_DETAILS_EMAIL),
        )
        for widgets, permission in rules:
            allowed = permission in self.held
            for widget in widgets:
                widget.setEnabled(allowed)
                widget.setToolTip("" if allowed else f"Your role lacks the permission "
                                  f"“{permissions.label(permission)}”.")

    # --- actions ---------------------------------------------------------------------------
    def _change(self, with_password: bool = True) -> WebDetailsChange:
        return WebDetailsChange(
            username=self.username.text(),
            password=self.password.text() if with_password else "",
            confirm=self.confirm.text() if with_password else "",
            must_change=self.must_change.isChecked(),
            locked=self.locked.isChecked() if self.locked.isEnabled() else None,
            active=self.status.currentData() if self.status.isEnabled() else None)

    def done_clicked(self) -> None:
        if self.account is None:
            self.reject()
            return
        change, account_id = self._change(), self.account.id
        self._run(lambda: web_accounts.update_web_details(self.session, account_id, change),
                  self._saved)

    def _saved(self, account: AccountView) -> None:
        self.account, self.changed = account, True
        self.accept()

    def create_account(self) -> None:
        username, password, confirm = (self.username.text(), self.password.text(),
                                       self.confirm.text())
        must_change = self.must_change.isChecked()
        self._run(lambda: web_accounts.create_account(
            self.session, self.household_id, username, password or None, confirm or None,
            member_id=self.member_id, must_change=must_change), self._created)

    def _created(self, account: AccountView) -> None:
        self.account, self.changed = account, True
        self._show_account()
        QMessageBox.information(self, "Web account created",
                                f"The web account “{account.username}” was created.")

    def generate_password(self) -> None:
        if QMessageBox.question(
                self, "Generate password", "Mint a new temporary password now? The current "
                "password stops working, and the new one must be changed at first sign-in.") \
                != QMessageBox.StandardButton.Yes:
            return
        account_id = self.account.id
        self._run(lambda: web_accounts.issue_temporary_password(self.session, account_id),
                  self._show_minted)

    def _show_minted(self, password: str) -> None:
        self.changed = True
        self.account = web_accounts.get_account(self.session, self.account.id)
        self._show_account()
        box = QMessageBox(QMessageBox.Icon.Information, "Temporary password",
                          "<p>Read this out to the customer; it is not shown again:</p>"
                          f"<p style='font-size:18pt; font-family:monospace'><b>{password}"
                          "</b></p><p>It must be changed at first sign-in.</p>", parent=self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def email_credentials(self) -> None:
        typed, confirm = self.password.text(), self.confirm.text()
        if not typed and QMessageBox.question(
                self, "Email user name and password", "No new password was typed. Mint a "
                "temporary password and email it? The current password stops working.") \
                != QMessageBox.StandardButton.Yes:
            return
        pending, account_id = self._change(with_password=False), self.account.id

        def send() -> web_accounts.CredentialEmailResult:
            web_accounts.update_web_details(self.session, account_id, pending)
            return web_accounts.email_credentials(self.session, account_id, typed, confirm,
                                                  mint_if_empty=not typed)

        self._run(send, self._emailed, on_error=self._email_failed)

    def _emailed(self, result: web_accounts.CredentialEmailResult) -> None:
        self.account, self.changed = result.account, True
        self._show_account()
        if result.sent:
            QMessageBox.information(self, "Emails sent", f"Two emails went to {result.address}: "
                                    "the user name, then the password.")
        else:
            QMessageBox.warning(self, "Password changed, email not sent",
                                f"The password was changed but not emailed: {result.problem}")

    def _email_failed(self, error: Exception) -> None:
        self._busy(False)
        typed, confirm = self.password.text(), self.confirm.text()
        if not (isinstance(error, DeliveryError) and typed):
            self._show_problem(error)
            return
        answer = QMessageBox.question(
            self, "Email not sent", f"{error.message}\n\nThe password was not changed. "
            "Change it anyway (you tell the customer yourself)?")
        if answer == QMessageBox.StandardButton.Yes:
            account_id = self.account.id
            self._run(lambda: web_accounts.email_credentials(
                self.session, account_id, typed, confirm, keep_change_if_unsent=True),
                self._emailed)

    # --- plumbing --------------------------------------------------------------------------
    def _run(self, call: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[Exception], None] | None = None) -> None:
        self._busy(True)

        def finished(result: Any) -> None:
            self._busy(False)
            on_done(result)

        call_in_background(call, finished, on_error or self._failed)

    def _failed(self, error: Exception) -> None:
        self._busy(False)
        self._show_problem(error)

    def _busy(self, busy: bool) -> None:
        if busy:
            self.problem.hide()
        for button in (self.done_button, self.email_button, self.generate_button,
                       self.create_button):
            button.setEnabled(not busy)
        if not busy:
            self._apply_permissions()

    def _show_problem(self, error: Exception) -> None:
        self.problem.setText(error_text(error))
        self.problem.show()
        field = {"user name": self.username, "password": self.password,
                 "confirm": self.confirm}.get(getattr(error, "field", ""))
        if field is not None:
            field.setFocus()
            field.selectAll()


def _facts(account: AccountView) -> str:
    lines = [f"Last sign-in: {local_text(account.last_login, 'never')}",
             f"Failed attempts: {account.failed_attempts}"]
    if account.locked:
        lines.append(f"Locked since: {local_text(account.locked_at)}")
    if account.password_expires_at:
        state = "expired" if account.password_expired else "expires"
        lines.append(f"Temporary password {state}: {local_text(account.password_expires_at)}")
    if not account.password_set:
        lines.append("No password yet: email credentials, or the household uses Forgot "
                     "password on the portal.")
    return "\n".join(lines)
