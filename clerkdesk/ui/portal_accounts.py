"""Portal Accounts: every household's web login in one list, found by filter and search, and
the quick actions a clerk takes on it (seed 002's Manage Clients, seed 003's quick actions).

Keyboard: type to search (Ctrl+F), Down to reach the list, Enter or double-click for Web
Details; Ctrl+E edit email, Ctrl+T activate or deactivate, Ctrl+R send reset email, Ctrl+P
create the client's password, Delete delete the portal account, Ctrl+L send login link,
F5 reload.
"""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import permissions, portal_accounts
from clerkdesk.services.permissions import Permission
from clerkdesk.services.portal_accounts import STATES, AccountFilter, AccountRow
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from . import account_link_dialogs
from .background import call_in_background
from .forms import FormDialog, small_note
from .messages import error_text, show_error
from .search_box import SearchBox
from .sign_up_reviews import SignUpReviewPanel
from .table_model import RowTableModel
from .web_details import WebDetailsDialog

SEARCH_DELAY_MS = 150  # a page is a few ms; waiting for a pause saves a query per keystroke
COUNT_DELAY_MS = 250
FETCH_BUDGET = 8  # pages one fetchMore may read to find a row under a narrow filter
COLUMNS = (("User name", "username"), ("Client ID", "client_id"),
           ("Household", "household_name"), ("Member", "member"), ("Email", "email"),
           ("Status", "state"), ("Must change", "must_change"),
           ("Delivered", "credentials_delivered_at"), ("Last sign-in", "last_login"))


def _cell_text(row: AccountRow, name: str) -> str:
    value = getattr(row, name)
    if name == "must_change":
        return "Yes" if value else ""
    if name == "credentials_delivered_at":
        return local_text(value, "Not yet")
    if name == "last_login":
        return local_text(value, "Never")
    return value


class PortalAccountsModel(RowTableModel):
    """Accounts fetched a page at a time as the view scrolls, never all. A new filter's
    first page is read off the GUI thread, so typing never waits for the database."""

    headings = tuple(heading for heading, _ in COLUMNS)
    count_changed = Signal(str)
    loaded = Signal()
    failed = Signal(object)

    def __init__(self, session: StaffSession) -> None:
        super().__init__()
        self.session = session
        self.rows: list[AccountRow] = []
        self.filter = AccountFilter()
        self.next_key: tuple | None = None
        self.loading = False
        self.generation = 0  # which load() the arriving page answers
        self.count_timer = QTimer(self)
        self.count_timer.setSingleShot(True)
        self.count_timer.setInterval(COUNT_DELAY_MS)
        self.count_timer.timeout.connect(self._count)

    def load(self, account_filter: AccountFilter) -> None:
        """Ask for the first page of `account_filter`; the list changes when it arrives,
        unless another load() came after it."""
        self.filter, self.loading = account_filter, True
        self.generation += 1
        generation, session = self.generation, self.session
        self.count_changed.emit("Searching…")
        call_in_background(lambda: _read_pages(session, account_filter, None),
                           lambda result: self._loaded(generation, result),
                           lambda error: self._load_failed(generation, error))

    def _loaded(self, generation: int, result: tuple[list[AccountRow], tuple | None]) -> None:
        if generation != self.generation:
            return
        self.beginResetModel()
        self.rows, self.next_key = result
        self.loading = False
        self.endResetModel()
        self.loaded.emit()
        self.count_changed.emit("Counting…")
        self.count_timer.start()

    def _load_failed(self, generation: int, error: Exception) -> None:
        if generation == self.generation:
            self.loading = False
            self.count_changed.emit("")
            self.failed.emit(error)

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self.loading and self.next_key is not None

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        """On the GUI thread: the view asks as it scrolls, and a next page is one key seek."""
        if not self.canFetchMore(parent):
            return
        fresh, self.next_key = _read_pages(self.session, self.filter, self.next_key)
        if fresh:
            start = len(self.rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self.rows.extend(fresh)
            self.endInsertRows()

    def _count(self) -> None:
        """Off the GUI thread: counting a broad search reads more than a page does."""
        wanted = self.filter
        call_in_background(lambda: portal_accounts.count_accounts(self.session, wanted),
                           lambda count: self._counted(wanted, count), lambda error: None)

    def _counted(self, wanted: AccountFilter, count: portal_accounts.AccountCount) -> None:
        if wanted == self.filter:  # else the clerk moved on and a newer count is coming
            self.count_changed.emit(str(count))

    def refresh_account(self, account_id: int) -> None:
        """Re-read one row after an action; a deleted account leaves the list."""
        for index, row in enumerate(self.rows):
            if row.id == account_id:
                fresh = portal_accounts.row_for(self.session, account_id)
                if fresh is None:
                    self.beginRemoveRows(QModelIndex(), index, index)
                    del self.rows[index]
                    self.endRemoveRows()
                else:
                    self.rows[index] = fresh
                    self.dataChanged.emit(self.index(index, 0),
                                          self.index(index, len(COLUMNS) - 1))
                return

    def account(self, row: int) -> AccountRow | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def cell(self, row: int, column: int) -> object:
        return _cell_text(self.rows[row], COLUMNS[column][1])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.ForegroundRole and self.rows[index.row()].status != "active":
            return Qt.GlobalColor.gray
        return super().data(index, role)


def _read_pages(session: StaffSession, account_filter: AccountFilter, key: tuple | None
                ) -> tuple[list[AccountRow], tuple | None]:
    """At least one row unless the list ends: a narrow filter over a broad search may give
    a short page whose key still leads on."""
    fresh: list[AccountRow] = []
    for _ in range(FETCH_BUDGET):
        page = portal_accounts.account_page(session, account_filter, key)
        fresh += page.rows
        key = page.next_key
        if fresh or key is None:
            break
    return fresh, key


class AccountsView(QTableView):
    """Enter or a double-click on a row asks for Web Details of the highlighted account."""

    open_requested = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.indexAt(event.position().toPoint()).isValid():
            self.open_requested.emit()
            return
        super().mouseDoubleClickEvent(event)


class EmailDialog(FormDialog):
    """Edit email…: the address this login's mail goes to."""

    def __init__(self, session: StaffSession, row: AccountRow, parent: QWidget | None = None
                 ) -> None:
        super().__init__("Edit email", f"Email address of the web account “{row.username}” "
                         f"({row.household_name})", "&Save", parent)
        self.session, self.account_id = session, row.id
        self.saved: AccountRow | None = None
        self.email = self.add_line("email", "&Email:", note="Leave empty to use the member's "
                                   "or the household's address.")
        self.email.setText(row.email)
        self.email.selectAll()

    def submit(self) -> None:
        address = self.email.text()
        self.submit_in_background(
            lambda: portal_accounts.change_email(self.session, self.account_id, address),
            self._saved)

    def _saved(self, row: AccountRow) -> None:
        self.saved = row
        self.set_busy(False)
        self.accept()


class ShownOnceDialog(QDialog):
    """The created password, shown this once with a Copy button; the clerk may email it."""

    def __init__(self, row: AccountRow, password: str, can_email: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Client's password")
        self.setMinimumWidth(480)
        self.email_wanted = False
        layout = QVBoxLayout(self)
        heading = QLabel(f"New password for “{row.username}” ({row.household_name})")
        heading.setObjectName("heading")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.password = QLineEdit(password)
        self.password.setReadOnly(True)
        self.password.setStyleSheet("font-family: monospace; font-size: 16pt;")
        copy = QPushButton("&Copy")
        copy.clicked.connect(self.copy)
        line = QHBoxLayout()
        line.addWidget(self.password, 1)
        line.addWidget(copy)
        layout.addLayout(line)
        warning = QLabel("Write it down or copy it now: it will not be shown again. The "
                         "household must change it at its first sign-in.")
        warning.setObjectName("problem")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        buttons = QDialogButtonBox()
        self.email_button = buttons.addButton(f"&Email it to {row.email or 'the household'}",
                                              QDialogButtonBox.ButtonRole.AcceptRole)
        self.email_button.setEnabled(can_email and bool(row.email))
        if not self.email_button.isEnabled():
            self.email_button.setToolTip("No address on file, or your role lacks the "
                                         "permission to email credentials.")
        self.close_button = buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.email_button.clicked.connect(self._email)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.password.text())

    def _email(self) -> None:
        self.email_wanted = True
        self.accept()

    def done(self, result: int) -> None:
        self.password.clear()  # the plain text lives no longer than the dialog
        super().done(result)


# (button label, slot name, permission, shortcut, needs an account selected, tooltip)
ACTIONS = (
    ("&Edit email…", "edit_email", Permission.WEB_DETAILS_CHANGE, "Ctrl+E",
     "Correct or change the address this login's mail goes to."),
    ("Deac&tivate", "toggle_active", Permission.WEB_ACCOUNT_DISABLE, "Ctrl+T",
     "Stop (or allow again) signing in; the login and household stay."),
    ("Send &reset email", "send_reset", Permission.WEB_DETAILS_EMAIL, "Ctrl+R",
     "Email a single-use link to choose a new password."),
    ("Create client's &password…", "create_password", Permission.WEB_DETAILS_CHANGE,
     "Ctrl+P", "Make a new password now, show it once, and optionally email it."),
    ("&Delete portal account…", "delete_account", Permission.WEB_ACCOUNT_DISABLE, "Del",
     "Remove the login; the household record stays."),
    ("Send &login link…", "send_login_link", Permission.WEB_DETAILS_EMAIL, "Ctrl+L",
     "Email the household the link to the portal's sign-in page."),
    ("Send &credentials…", "send_credentials", Permission.WEB_DETAILS_EMAIL, None,
     "Send Customer Portal Credentials: address, subject and message you can edit."),
    ("Resend welcome e&mail", "resend_welcome", Permission.WEB_DETAILS_EMAIL, None,
     "Send the welcome email with its set-your-password link again."),
    ("&Web Details…", "open_web_details", None, "Ctrl+W",
     "The full Web Details of this login (also: double-click or Enter)."),
)


class PortalAccountsWindow(QMainWindow):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Portal Accounts")
        self.model = PortalAccountsModel(session)
        self.results = AccountsView()
        self.search_box = SearchBox(self.results)
        self.filter_box = QComboBox()
        self.count = QLabel()
        self.buttons: dict[str, QPushButton] = {}
        self.reviews: QWidget | None = None
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.reload)
        self._build()
        self._shortcuts()
        self.model.count_changed.connect(self._show_count)
        self.model.failed.connect(lambda error: show_error(self, "Portal Accounts", error))
        self.search_box.textChanged.connect(lambda _: self.search_timer.start())
        self.filter_box.currentIndexChanged.connect(lambda _: self.reload())
        self.results.open_requested.connect(self.open_web_details)
        self.results.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.model.modelReset.connect(self._show_selected)
        self.reload()
        stored = QSettings().value("portal_accounts/geometry")
        if stored is None:
            self.resize(1300, 760)
        else:
            self.restoreGeometry(stored)

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self._accounts_tab(), "&Accounts")
        self.tabs.addTab(QWidget(), "Sign-up re&views")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)

    def _accounts_tab(self) -> QWidget:
        for state, label in STATES.items():
            self.filter_box.addItem(label, state)
        self.search_box.setPlaceholderText("Search: household or member name, email or user "
                                           "name")
        self.search_box.setClearButtonEnabled(True)
        bar = QHBoxLayout()
        show = QLabel("S&how:")
        show.setBuddy(self.filter_box)
        bar.addWidget(show)
        bar.addWidget(self.filter_box)
        bar.addWidget(self.search_box, 1)
        sign_up = QPushButton("Sign-&up link…")
        sign_up.setToolTip("A link that lets an existing client sign up; the new login is "
                           "attached to that household.")
        sign_up.clicked.connect(self.send_sign_up_link)
        self.buttons["send_sign_up_link"] = sign_up
        bar.addWidget(sign_up)
        self._table()
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.addLayout(bar)
        layout.addWidget(self.count)
        layout.addWidget(self.results, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self._panel())
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1030, 270])
        return splitter

    def _table(self) -> None:
        view = self.results
        view.setModel(self.model)
        view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        view.setAlternatingRowColors(True)
        view.verticalHeader().hide()
        view.setShowGrid(False)
        view.setWordWrap(False)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate((105, 65, 105, 135, 200, 70, 95, 100)):
            view.setColumnWidth(column, width)

    def _panel(self) -> QWidget:
        panel = QFrame()
        panel.setMinimumWidth(260)
        layout = QVBoxLayout(panel)
        self.title = QLabel()
        self.title.setObjectName("heading")
        self.title.setWordWrap(True)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        layout.addWidget(self.facts)
        for text, slot, _, shortcut, tip in ACTIONS:
            button = QPushButton(text)
            button.setProperty("tip", tip + (f"  ({shortcut})" if shortcut else ""))
            button.clicked.connect(getattr(self, slot))
            self.buttons[slot] = button
            layout.addWidget(button)
            if slot in ("delete_account", "resend_welcome"):
                layout.addWidget(_separator())
        layout.addWidget(small_note("Current passwords are never shown: create a new one, or "
                                    "send a reset link."))
        layout.addStretch(1)
        return panel

    def _shortcuts(self) -> None:
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.focus_search)
        QShortcut(QKeySequence("F5"), self, activated=self.reload)
        for _, slot, _, keys, _ in ACTIONS:
            if keys == "Del":  # only in the list: Delete in the search box edits the text
                QShortcut(QKeySequence(keys), self.results, activated=self._guarded(slot),
                          context=Qt.ShortcutContext.WidgetShortcut)
            elif keys:
                QShortcut(QKeySequence(keys), self, activated=self._guarded(slot))

    def _guarded(self, slot: str) -> Callable[[], None]:
        """A shortcut does what its button does, and only when the button could be pressed."""
        def run() -> None:
            if self.buttons[slot].isEnabled() and self.tabs.currentIndex() == 0:
                getattr(self, slot)()
        return run

    # --- listing ---------------------------------------------------------------------------
    def current_filter(self) -> AccountFilter:
        return AccountFilter(self.filter_box.currentData(), self.search_box.text())

    def reload(self) -> None:
        self.search_timer.stop()
        self.model.load(self.current_filter())

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _show_count(self, text: str) -> None:
        """"324 accounts matching “mar” · Must change password"; a count that stopped at
        its cap ends in "+"."""
        if text not in ("Counting…", "Searching…", ""):
            words = self.model.filter.text.strip()
            text += f" matching “{words[:40]}”" if words else ""
            text += f" · {self.filter_box.currentText()}"
        self.count.setText(text)
        self.count.setToolTip(f"Counting stops at {portal_accounts.COUNT_CAP:,}; “+” means "
                              "at least that many.")

    def selected(self) -> AccountRow | None:
        index = self.results.currentIndex()
        return self.model.account(index.row()) if index.isValid() else None

    def _show_selected(self) -> None:
        row = self.selected()
        if row is None:
            self.title.setText("No account selected")
            self.facts.setText("Choose an account in the list to act on it.")
        else:
            self.title.setText(f"{row.username}\n{row.household_name} — client {row.client_id}")
            self.facts.setText(_facts(row))
        self._enable(row)

    def _enable(self, row: AccountRow | None) -> None:
        """Each button needs a selected account and its permission; the tooltip says which
        is missing. The services refuse them too."""
        held = permissions.granted(self.session)
        toggle = self.buttons["toggle_active"]
        toggle.setText("Ac&tivate" if row is not None and row.status != "active"
                       else "Deac&tivate")
        for _, slot, permission, *_ in ACTIONS:
            button = self.buttons[slot]
            allowed = permission is None or permission in held
            button.setEnabled(row is not None and allowed)
            button.setToolTip(button.property("tip") if allowed else
                              f"Your role lacks the permission “{permissions.label(permission)}”.")
        sign_up = self.buttons["send_sign_up_link"]
        sign_up.setEnabled(Permission.WEB_DETAILS_EMAIL in held)

    # --- the actions -----------------------------------------------------------------------
    def edit_email(self) -> None:
        row = self.selected()
        if row is None:
            return
        dialog = EmailDialog(self.session, row, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._changed(row.id, f"Email address of “{row.username}” saved.")

    def toggle_active(self) -> None:
        row = self.selected()
        if row is None:
            return
        activate = row.status != "active"
        self._run(lambda: portal_accounts.set_active(self.session, row.id, activate),
                  lambda _: self._changed(row.id, f"“{row.username}” "
                                          f"{'activated' if activate else 'deactivated'}."),
                  "Activate" if activate else "Deactivate")

    def send_reset(self) -> None:
        row = self.selected()
        if row is None:
            return
        self._run(lambda: portal_accounts.send_reset_email(self.session, row.id),
                  lambda address: self._changed(row.id, f"A password reset link was emailed "
                                                f"to {address}."),
                  "Send reset email")

    def create_password(self) -> None:
        row = self.selected()
        if row is None or QMessageBox.question(
                self, "Create client's password",
                f"Create a new password for “{row.username}” ({row.household_name})?\n\n"
                "The current password stops working at once. You will see the new one "
                "once, and may email it.") != QMessageBox.StandardButton.Yes:
            return
        self._run(lambda: portal_accounts.create_client_password(self.session, row.id),
                  lambda password: self._show_password(row, password),
                  "Create client's password")

    def _show_password(self, row: AccountRow, password: str) -> None:
        self.model.refresh_account(row.id)
        can_email = Permission.WEB_DETAILS_EMAIL in permissions.granted(self.session)
        dialog = ShownOnceDialog(row, password, can_email, self)
        dialog.exec()
        if not dialog.email_wanted:
            self._changed(row.id, f"New password created for “{row.username}”.")
            return
        self._run(lambda: portal_accounts.email_client_password(self.session, row.id,
                                                                password),
                  lambda result: self._changed(
                      row.id, f"User name and password emailed to {result.address}."),
                  "Email the password")

    def delete_account(self) -> None:
        row = self.selected()
        if row is None or QMessageBox.question(
                self, "Delete portal account",
                f"Delete the portal account “{row.username}”?\n\nThe household "
                f"“{row.household_name}” (client {row.client_id}) and its records stay; only "
                "this login is removed and can no longer sign in.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return
        self._run(lambda: portal_accounts.delete_portal_account(self.session, row.id),
                  lambda name: self._changed(row.id, f"Portal account “{row.username}” "
                                             f"deleted; the household {name} stays."),
                  "Delete portal account")

    def open_web_details(self) -> None:
        row = self.selected()
        if row is None:
            return
        dialog = WebDetailsDialog(self.session, row.household_id,
                                  f"{row.household_name} ({row.client_id})", row.member_id,
                                  self)
        dialog.exec()
        if dialog.changed:
            self._changed(row.id, "")

    # --- the actions that send links and credentials ---------------------------------------
    def send_login_link(self) -> None:
        self._linked(account_link_dialogs.open_login_link)

    def send_credentials(self) -> None:
        self._linked(account_link_dialogs.open_send_credentials)

    def resend_welcome(self) -> None:
        self._linked(account_link_dialogs.resend_welcome)

    def _linked(self, action: Callable[[QWidget, StaffSession, int], object]) -> None:
        row = self.selected()
        if row is not None:
            action(self, self.session, row.id)
            self._changed(row.id, "")

    def send_sign_up_link(self) -> None:
        client_id, given = QInputDialog.getText(
            self, "Sign-up link", "Client ID of the existing client who should sign up:")
        if not given or not client_id.strip():
            return
        try:
            household_id, _ = portal_accounts.household_for_client(self.session, client_id)
        except Exception as error:
            show_error(self, "Sign-up link", error)
            return
        account_link_dialogs.open_sign_up_link(self, self.session, household_id)

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self.reviews is None:
            self.reviews = SignUpReviewPanel(self.session, self)
            self.tabs.blockSignals(True)
            self.tabs.removeTab(1)
            self.tabs.insertTab(1, self.reviews, "Sign-up re&views")
            self.tabs.setCurrentIndex(1)
            self.tabs.blockSignals(False)

    # --- plumbing --------------------------------------------------------------------------
    def _run(self, call: Callable[[], Any], on_done: Callable[[Any], None], title: str
             ) -> None:
        """Off the GUI thread (bcrypt, SMTP); the panel waits, the list stays usable."""
        self._busy(True)

        def finished(result: Any) -> None:
            self._busy(False)
            on_done(result)

        def failed(error: Exception) -> None:
            self._busy(False)
            QMessageBox.warning(self, title, error_text(error))

        call_in_background(call, finished, failed)

    def _busy(self, busy: bool) -> None:
        if busy:
            for button in self.buttons.values():
                button.setEnabled(False)
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
            self._show_selected()

    def _changed(self, account_id: int, message: str) -> None:
        self.model.refresh_account(account_id)
        self._show_selected()
        if message:
            self.statusBar().showMessage(message, 8000)

    def closeEvent(self, event: QCloseEvent) -> None:
        QSettings().setValue("portal_accounts/geometry", self.saveGeometry())
        super().closeEvent(event)


def open_portal_accounts(parent: QWidget | None, session: StaffSession) -> PortalAccountsWindow:
    window = PortalAccountsWindow(session, parent)
    window.setWindowFlag(Qt.WindowType.Window)
    window.show()
    window.focus_search()
    return window


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def _facts(row: AccountRow) -> str:
    lines = [f"Member: {row.member or '—'}",
             f"Email: {row.email or 'none on file'}",
             f"Status: {row.state}" + (" · must change password" if row.must_change else ""),
             f"Credentials delivered: {local_text(row.credentials_delivered_at, 'not yet')}",
             f"Last sign-in: {local_text(row.last_login, 'never')}"]
    return "\n".join(lines)
