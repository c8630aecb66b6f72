"""The first-run administrator dialog and the staff sign-in dialog."""

from PySide6.QtWidgets import QLabel, QWidget

from clerkdesk.services import staff
from clerkdesk.services.demo import DEMO_STAFF
from clerkdesk.services.session import StaffSession

from .forms import FormDialog


class FirstRunDialog(FormDialog):
    """Shown when the database has no staff yet: creates the administrator."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Welcome to ClerkDesk", "This database has no staff yet. Create the administrator "
            "account: it can add clerks and supervisors and decide what each role may do.",
            "Create administrator", parent)
        self.username = self.add_line("user name", "&User name:", placeholder="e.g. jsmith")
        self.display_name = self.add_line("display name", "&Full name:",
                                          placeholder="shown in the status bar and audit")
        self.password = self.add_line("password", "&Password:", secret=True,
                                      placeholder="at least 10 characters")
        self.confirm = self.add_line("confirm", "&Re-enter password:", secret=True)
        self.session: StaffSession | None = None

    def submit(self) -> None:
        values = (self.username.text(), self.display_name.text(), self.password.text(),
                  self.confirm.text())
        self.submit_in_background(lambda: staff.create_first_administrator(*values),
                                  self._created)

    def _created(self, session: StaffSession) -> None:
        self.session = session
        self.accept()


class SignInDialog(FormDialog):
    def __init__(self, database_label: str, demo: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__("Sign in to ClerkDesk", f"Database: {database_label}", "Sign in",
                         parent)
        self.username = self.add_line("user name", "&User name:")
        self.password = self.add_line("password", "&Password:", secret=True)
        if demo:
            hint = QLabel("Demo database — sign in as " + ", ".join(
                f"<b>{name}</b> / <code>{password}</code> ({role})"
                for name, password, role in DEMO_STAFF))
            hint.setWordWrap(True)
            hint.setObjectName("hint")
            self.form.addRow(hint)
        self.session: StaffSession | None = None

    def submit(self) -> None:
        username, password = self.username.text(), self.password.text()
        self.submit_in_background(lambda: staff.sign_in(username, password), self._signed_in)

    def _signed_in(self, session: StaffSession) -> None:
        self.session = session
        self.password.clear()
        self.accept()

    def refused(self, error: Exception) -> None:
        super().refused(error)
        self.password.clear()
        if not self.username.text().strip():
            self.username.setFocus()
        else:
            self.password.setFocus()
