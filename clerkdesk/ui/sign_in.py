"""The first-run administrator dialog and the staff sign-in dialog."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from clerkdesk.services import staff
from clerkdesk.services.demo import DEMO_STAFF
from clerkdesk.services.session import StaffSession
from clerkdesk.services.settings import get_setting

from .forms import FormDialog, small_note


class FirstRunDialog(FormDialog):
    """Shown when the database has no staff yet: creates the administrator."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Welcome to ClerkDesk", "This database has no staff yet. Create the administrator "
            "account: it can add clerks and supervisors and decide what each role may do.",
            "Create administrator", parent)
        minimum = int(get_setting("staff.min_password_length"))
        self.username = self.add_line("user name", "&User name:", placeholder="e.g. jsmith",
                                      note="Letters, digits and . _ @ + - (no spaces).")
        self.display_name = self.add_line("display name", "&Full name:",
                                          placeholder="e.g. Jordan Smith",
                                          note="Shown in the status bar and the audit trail.")
        self.password = self.add_line("password", "&Password:", secret=True,
                                      note=f"At least {minimum} characters. A passphrase of "
                                      "a few words is easy to remember and hard to guess.")
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
        super().__init__("Sign in to ClerkDesk", "Sign in with your staff account.", "Sign in",
                         parent)
        where = small_note(f"Database: {_elided(database_label)}")
        where.setToolTip(database_label)
        self.body.insertWidget(1, where)
        if demo:
            self.body.insertWidget(2, _demo_hint())
        self.username = self.add_line("user name", "&User name:")
        self.password = self.add_line("password", "&Password:", secret=True)
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


def _demo_hint() -> QLabel:
    rows = "".join(f"<tr><td><b>{name}</b></td><td>&nbsp;/&nbsp;</td><td><code>{password}"
                   f"</code></td><td>&nbsp;&nbsp;{role}</td></tr>"
                   for name, password, role in DEMO_STAFF)
    hint = QLabel(f"This is the demo database. Sign in as:<table>{rows}</table>")
    hint.setObjectName("hint")
    hint.setTextFormat(Qt.TextFormat.RichText)
    return hint


def _elided(text: str, limit: int = 60) -> str:
    if len(text) <= limit:
        return text
    return text[:limit // 2 - 1] + "…" + text[-(limit // 2):]
