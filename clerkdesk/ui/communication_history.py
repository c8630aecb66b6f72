"""The household's Communication History tab: each mailing it was part of, and under it what
happened to every message sent to it."""

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import mailing_history
from clerkdesk.services.mailing_history import Delivery, HistoryEntry
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from .background import call_in_background
from .messages import error_text

COLUMNS = ("Mailing / message", "State", "When")  # When: queued for a mailing, sent for a message
MESSAGE, STATE, WHEN = range(len(COLUMNS))
CAUTION = ("This lists the mailings the household was slated to receive. The State column says "
           "what the mail server accepted, not whether anyone read the message.")
CHANNELS = {"email": "Email", "text": "Text message"}


def state_text(delivery: Delivery, rehearsal: bool) -> str:
    """What became of one message, in the words a clerk would use at the counter."""
    if delivery.state == "sent":
        return "captured (rehearsal)" if rehearsal else "sent"
    if delivery.state == "failed":
        return f"failed: {delivery.reason}" if delivery.reason else "failed"
    if delivery.state == "cancelled":
        return "cancelled (withdrawn, never sent)"
    if delivery.reason:  # queued again after a temporary refusal
        return f"{delivery.state}, will retry: {delivery.reason}"
    return delivery.state


def entry_summary(entry: HistoryEntry) -> str:
    """E.g. "1 sent, 1 failed" for the mailing's own row."""
    counts: dict[str, int] = {}
    for delivery in entry.deliveries:
        state = "captured" if entry.rehearsal and delivery.state == "sent" else delivery.state
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{number} {state}" for state, number in counts.items()) or "no message"


class CommunicationHistory(QWidget):
    """Shows one household's mailings; loads when shown, and again on Refresh."""

    loaded = Signal()

    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.household_id: int | None = None
        self.stale = False
        self.request = 0  # answers to older requests are dropped
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        # The editor's tab is narrow: the message column takes what the short ones leave.
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(MESSAGE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((STATE, 135), (WHEN, 115)):
            self.tree.setColumnWidth(column, width)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("note")
        self.status.setToolTip(CAUTION)
        row.addWidget(self.status, 1)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)

    # --- loading -----------------------------------------------------------------------------
    def show_household(self, household_id: int | None) -> None:
        """Follow this household; read its history now if the tab is showing, else when shown."""
        self.household_id = household_id
        self.tree.clear()
        if self.isVisible():
            self.refresh()
        else:
            self.stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        self.stale = False
        self.request += 1
        if self.household_id is None:
            self._fill([])
            self.status.setText("Save the new household first.")
            self.loaded.emit()
            return
        self.status.setText("Reading the history…")
        self.refresh_button.setEnabled(False)
        request, household_id, session = self.request, self.household_id, self.session
        call_in_background(
            lambda: mailing_history.household_history(session, household_id),
            lambda entries: self._answer(request, entries, None),
            lambda error: self._answer(request, None, error))

    def _answer(self, request: int, entries: list[HistoryEntry] | None,
                error: Exception | None) -> None:
        if not shiboken6.isValid(self) or request != self.request:
            return  # the editor closed, or moved on to another household meanwhile
        self.refresh_button.setEnabled(True)
        if error is not None:
            self.tree.clear()
            self.status.setText(error_text(error))
        else:
            self._fill(entries or [])
        self.loaded.emit()

    # --- showing -----------------------------------------------------------------------------
    def _fill(self, entries: list[HistoryEntry]) -> None:
        self.tree.clear()
        for entry in entries:
            self.tree.addTopLevelItem(self._mailing_item(entry))
        self.tree.expandAll()
        self.status.setText(CAUTION if entries else
                            "This household was not part of any mailing.")

    def _mailing_item(self, entry: HistoryEntry) -> QTreeWidgetItem:
        category = f"  · {entry.category}" if entry.category else ""
        mark = "  [REHEARSAL]" if entry.rehearsal else ""
        item = QTreeWidgetItem(["", "", ""])
        item.setText(MESSAGE, f"{entry.description}{category}{mark}")
        item.setText(STATE, entry_summary(entry))
        item.setText(WHEN, local_text(entry.created_at))
        item.setToolTip(MESSAGE, f"Mailing {entry.mailing_id} “{entry.description}”"
                        + (f", category {entry.category}" if entry.category else "")
                        + f", queued by {entry.created_by}"
                        + (": a rehearsal, captured to a folder; nothing reached the household"
                           if entry.rehearsal else ""))
        font = item.font(MESSAGE)
        font.setBold(True)
        item.setFont(MESSAGE, font)
        item.setData(MESSAGE, Qt.ItemDataRole.UserRole, entry.mailing_id)
        for delivery in entry.deliveries:
            item.addChild(self._delivery_item(delivery, entry.rehearsal))
        return item

    @staticmethod
    def _delivery_item(delivery: Delivery, rehearsal: bool) -> QTreeWidgetItem:
        child = QTreeWidgetItem(["", "", ""])
        child.setText(MESSAGE, f"{CHANNELS.get(delivery.channel, delivery.channel)} to "
                      f"{delivery.to}")
        child.setText(STATE, state_text(delivery, rehearsal))
        child.setText(WHEN, local_text(delivery.sent_at, ""))
        child.setToolTip(MESSAGE, child.text(MESSAGE))
        child.setToolTip(STATE, child.text(STATE))  # a refusal's reason is often long
        return child
