"""Communications → Mailings: every bulk mailing with its counts, to pause, resume or cancel it,
send what is queued, and open its reports."""

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import mailings
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.mailings import MailingView
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from . import mailing_reports
from .exceptions_report import plain_table
from .messages import error_text, show_error
from .sending_window import open_sending, plural
from .table_model import RowTableModel

REFRESH_MS = 3000  # while something is sending, the counts move on their own
NUMBERS = range(6, 10)  # Recipients, Sent, Failed, Waiting
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def status_text(view: MailingView) -> str:
    withdrawn = view.counts.get("cancelled", 0)
    if view.status == "Cancelled" and withdrawn:
        return f"Cancelled · {withdrawn:,} withdrawn"
    return view.status


class MailingsModel(RowTableModel):
    headings = ("Mailing", "Created", "By", "Description", "Category", "Mode", "Recipients",
                "Sent", "Failed", "Waiting", "Status")

    def __init__(self) -> None:
        super().__init__()
        self.views: list[MailingView] = []
        self.bold = QFont(QGuiApplication.font())
        self.bold.setBold(True)

    def set_views(self, views: list[MailingView]) -> None:
        self.beginResetModel()
        self.views = views
        self.rows = [(view.id, local_text(view.created_at), view.created_by, view.description,
                      view.category or "—", "REHEARSAL" if view.rehearsal else "LIVE",
                      f"{view.recipients:,}", f"{view.counts.get('sent', 0):,}",
                      f"{view.counts.get('failed', 0):,}", f"{view.waiting:,}",
                      status_text(view)) for view in views]
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in NUMBERS:
            return RIGHT
        if role == Qt.ItemDataRole.FontRole and index.column() == 5 \
                and not self.views[index.row()].rehearsal:
            return self.bold  # live mailings reach real households: make them stand out
        return super().data(index, role)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.TextAlignmentRole and section in NUMBERS:
            return RIGHT  # over numbers that are right-aligned themselves
        return super().headerData(section, orientation, role)


class MailingsWindow(QDialog):
    """The mailings list; raises PermissionDenied for staff without the bulk email device."""

    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Mailings")
        self.setWindowFlag(Qt.WindowType.Window)
        self.resize(1180, 460)
        self.model = MailingsModel()
        self.followed: set[int] = set()  # sending windows whose progress refreshes this list
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self._build()
        self._show(mailings.list_mailings(session))  # raises for staff without the device

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.table = QTableView()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._enable)
        self.table.doubleClicked.connect(self.summary_report)
        plain_table(self.table, (64, 130, 80, 300, 74, 90, 84, 64, 64, 70))
        layout.addWidget(self.table)
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        layout.addLayout(self._buttons())
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.reload)
        QShortcut(QKeySequence("Ctrl+R"), self, self.reload)

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot, tip in (
                ("pause", "&Pause", self.pause, "Hold back its waiting messages (Alt+P)."),
                ("resume", "Res&ume", self.resume, "Let its waiting messages go again."),
                ("cancel", "&Cancel mailing…", self.cancel_mailing,
                 "Withdraw its waiting messages for good; what was sent stays sent."),
                ("send", "&Send now…", self.send_now,
                 "Send every queued message of the mailings that are not paused."),
                ("summary", "Summary &report…", self.summary_report,
                 "What was sent, what failed and why (double-click a row)."),
                ("no_email", "Records &without email…", self.no_email_report,
                 "The households this mailing could not reach, to contact another way.")):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[key] = button
        row.addStretch()
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the counts again (F5).")
        refresh.clicked.connect(self.reload)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row.addWidget(refresh)
        row.addWidget(close)
        return row

    # --- the list ----------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            views = mailings.list_mailings(self.session)
        except ClerkDeskError as error:  # e.g. the device was taken away meanwhile
            self.timer.stop()
            self.note.setText(error_text(error))
            return
        self._show(views)

    def _show(self, views: list[MailingView]) -> None:
        """The list again, keeping the selected mailing selected."""
        chosen = self.selected()
        self.model.set_views(views)
        ids = [view.id for view in views]
        if views:
            self.table.selectRow(ids.index(chosen.id) if chosen and chosen.id in ids else 0)
        self.note.setText("" if views else "No mailings yet: start one with Communications → "
                          "New mailing.")
        self._follow_sending(views)
        self._enable()

    def _follow_sending(self, views: list[MailingView]) -> None:
        """Refresh on a timer only while some mailing still has messages going out."""
        moving = any(view.status == "Sending" for view in views)
        if moving and not self.timer.isActive():
            self.timer.start()
        elif not moving:
            self.timer.stop()

    def selected(self) -> MailingView | None:
        index = self.table.currentIndex()
        return self.model.views[index.row()] if index.isValid() else None

    def _enable(self) -> None:
        view = self.selected()
        active = view is not None and view.state in ("sending", "paused") and view.waiting > 0
        self.buttons["pause"].setEnabled(active and view.state == "sending")
        self.buttons["resume"].setEnabled(view is not None and view.state == "paused")
        self.buttons["cancel"].setEnabled(active)
        self.buttons["summary"].setEnabled(view is not None)
        self.buttons["no_email"].setEnabled(view is not None)

    # --- commands ----------------------------------------------------------------------------
    def pause(self) -> None:
        self._change("paused", mailings.pause, "Paused: its waiting messages are held back "
                     "(a message already in flight finishes).")

    def resume(self) -> None:
        self._change("resumed", mailings.resume, "Resumed: its messages go with the next "
                     "Send now.")

    def cancel_mailing(self) -> None:
        view = self.selected()
        if view is None or not self._confirm_cancel(view):
            return
        self._change("cancelled", mailings.cancel, "")

    def _confirm_cancel(self, view: MailingView) -> bool:
        queued, sent = view.counts.get("queued", 0), view.counts.get("sent", 0)
        answer = QMessageBox.question(
            self, "Cancel mailing",
            f"Cancel mailing {view.id} “{view.description}”?\n\n"
            f"{plural(queued, 'queued message')} will be withdrawn and never sent. "
            + (f"The {plural(sent, 'message')} already sent stay sent." if sent else
               "Nothing of it has been sent yet.") + "\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _change(self, done: str, action: Callable[[StaffSession, int], MailingView],
                said: str) -> None:
        view = self.selected()
        if view is None:
            return
        try:
            changed = action(self.session, view.id)
        except ClerkDeskError as error:
            show_error(self, "Mailings", error)
            self.reload()
            return
        if done == "cancelled":
            withdrawn = changed.counts.get("cancelled", 0) - view.counts.get("cancelled", 0)
            said = f"{plural(withdrawn, 'message')} withdrawn; what was sent stays sent."
        self.reload()
        self.note.setText(f"Mailing {view.id} {done}. {said}")

    def send_now(self) -> None:
        # Owned by the main window, not this list: closing the list must not stop the sending.
        window = open_sending(self.parentWidget(), self.session)
        if id(window) not in self.followed:
            self.followed.add(id(window))
            window.changed.connect(self.reload)

    def summary_report(self) -> None:
        self._report("open_mailing_summary")

    def no_email_report(self) -> None:
        self._report("open_no_email_report")

    def _report(self, opener: str) -> None:
        view = self.selected()
        if view is None:
            return
        getattr(mailing_reports, opener)(self, self.session, view.id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        super().closeEvent(event)


def open_mailings(parent: QWidget | None, session: StaffSession) -> MailingsWindow | None:
    """The Mailings window, or None after saying why it cannot open (e.g. a clerk)."""
    try:
        window = MailingsWindow(session, parent)
    except ClerkDeskError as error:
        QMessageBox.warning(parent, "Mailings", error_text(error))
        return None
    window.show()
    window.raise_()
    window.activateWindow()
    return window
