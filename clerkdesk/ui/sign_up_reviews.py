"""Portal Accounts → Sign-up reviews: portal sign-ups that look like a household on file.

The clerk sees each waiting request beside the household it resembles, the fields that agree
highlighted, and decides: link it to that household (it gets a web login with the user name
and password chosen at sign-up), create a new household after all, or refuse it.
"""

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import permissions, sign_up
from clerkdesk.services.errors import ClerkDeskError, ValidationError
from clerkdesk.services.permissions import Permission
from clerkdesk.services.session import StaffSession
from clerkdesk.services.sign_up import ReviewDetail, ReviewOutcome, ReviewRow
from clerkdesk.services.timestamps import local_text

from .background import call_in_background
from .exceptions_report import plain_table
from .forms import FormDialog, small_note
from .messages import error_text, show_error
from .table_model import RowTableModel

SAME_COLOUR = QColor("#dff3dc")
TITLE = "Sign-up reviews"


class PendingModel(RowTableModel):
    headings = ("Person", "Looks like", "Why")

    def __init__(self, reviews: list[ReviewRow]) -> None:
        super().__init__()
        self.reviews = reviews
        self.rows = [(r.person, r.candidate or "(household gone)", _why(r)) for r in reviews]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return f"Same {self.reviews[index.row()].reasons}"
        return super().data(index, role)


def _why(review: ReviewRow) -> str:
    return "Clear match, no login" if review.clear else "Unsure"


class SignUpReviewPanel(QWidget):
    """The review queue as a tab of the Portal Accounts window."""

    reviews_changed = Signal(object)  # a ReviewOutcome, after a link, create or refuse

    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.detail: ReviewDetail | None = None
        self.busy = False
        layout = QVBoxLayout(self)
        layout.addLayout(self._top_line())
        layout.addWidget(small_note(
            "Portal sign-ups that look like a household already on file wait here instead of "
            "becoming a duplicate. Compare the request with the household, then link, create "
            "or refuse it."))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._list_side())
        splitter.addWidget(self._detail_side())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([480, 720])
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.status.hide()
        layout.addWidget(self.status)
        self.reload()

    # --- building ---------------------------------------------------------------------------

    def _top_line(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.count = QLabel()
        self.count.setObjectName("heading")
        row.addWidget(self.count)
        row.addStretch()
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.reload)
        row.addWidget(self.refresh_button)
        return row

    def _list_side(self) -> QWidget:
        self.table = QTableView()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.model = PendingModel([])
        self.table.setModel(self.model)
        return self.table

    def _detail_side(self) -> QWidget:
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(8, 0, 0, 0)
        self.title = QLabel()
        self.title.setObjectName("heading")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.received = small_note("")
        layout.addWidget(self.received)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("hint")
        layout.addWidget(self.verdict)
        self.comparison = _comparison_table()
        layout.addWidget(self.comparison)
        self.on_file_box = QGroupBox("The household on file")
        self.on_file = QFormLayout(self.on_file_box)
        layout.addWidget(self.on_file_box)
        layout.addStretch(1)
        layout.addLayout(self._action_buttons())
        return side

    def _action_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.link_button = QPushButton("&Link to this household")
        self.link_button.clicked.connect(self.link)
        self.create_button = QPushButton("&Create new household")
        self.create_button.clicked.connect(self.create_household)
        self.refuse_button = QPushButton("Re&fuse…")
        self.refuse_button.clicked.connect(self.refuse)
        for button in (self.link_button, self.create_button, self.refuse_button):
            row.addWidget(button)
        row.addStretch()
        return row

    # --- reading ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the queue afresh and keep the same request selected when it still waits."""
        keep = self.detail.id if self.detail else None
        keep_row = max(self.table.currentIndex().row(), 0)
        try:
            reviews = sign_up.pending_reviews(self.session)
        except ClerkDeskError as error:
            reviews = []
            self._say(error_text(error))
        self.model = PendingModel(reviews)
        self.table.setModel(self.model)
        plain_table(self.table, (150, 130))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.count.setText(_count_text(len(reviews)))
        ids = [r.id for r in reviews]
        if reviews:
            self.table.selectRow(ids.index(keep) if keep in ids
                                 else min(keep_row, len(ids) - 1))
        self._show_selected()

    def selected(self) -> ReviewRow | None:
        index = self.table.currentIndex()
        return self.model.reviews[index.row()] if index.isValid() else None

    def _show_selected(self) -> None:
        row = self.selected()
        self.detail = None
        if row is not None:
            try:
                self.detail = sign_up.review_detail(self.session, row.id)
            except ClerkDeskError as error:
                self._say(error_text(error))
        self._fill_detail(self.detail)
        self._enable()

    def _fill_detail(self, detail: ReviewDetail | None) -> None:
        if detail is None:
            self.title.setText("No sign-up request is selected." if self.model.reviews
                               else "No sign-up requests are waiting.")
            self.verdict.hide()
            self.received.hide()
            self.comparison.setRowCount(0)
            self.comparison.hide()
            self.on_file_box.hide()
            return
        self.title.setText(f"{_person(detail)} asks for the web login “{detail.username}”")
        self.received.setText(f"Request {detail.id}, received "
                              f"{local_text(detail.created_at)}")
        self.received.show()
        self.verdict.setText(_verdict_text(detail))
        self.verdict.show()
        _fill_comparison(self.comparison, detail)
        self.comparison.show()
        self._fill_on_file(detail)

    def _fill_on_file(self, detail: ReviewDetail) -> None:
        while self.on_file.rowCount():
            self.on_file.removeRow(0)
        self.on_file_box.setTitle(f"More about {detail.candidate}" if detail.candidate
                                  else "The household on file")
        for label, value in detail.on_file:
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.on_file.addRow(f"{label}:", text)
        self.on_file_box.show()

    def _enable(self) -> None:
        granted = permissions.granted(self.session)
        can_review = Permission.HOUSEHOLD_EDIT in granted
        can_make_login = can_review and Permission.WEB_DETAILS_CHANGE in granted
        ready = self.detail is not None and not self.busy
        self.link_button.setEnabled(ready and can_make_login
                                    and self.detail.candidate_id is not None)
        self.create_button.setEnabled(ready and can_make_login)
        self.refuse_button.setEnabled(ready and can_review)
        why = "" if can_make_login else ("Your role cannot add web logins "
                                         "(it needs “Change web user names and passwords”).")
        for button in (self.link_button, self.create_button):
            button.setToolTip(why)

    # --- acting -----------------------------------------------------------------------------

    def link(self) -> None:
        detail = self.detail
        if detail is None or detail.candidate_id is None:
            return
        if not self._confirm(
                "Link to this household",
                f"Add the web login “{detail.username}” to {detail.candidate}?\n\nThe person "
                "signs in with the password they chose when signing up. No new household is "
                "created."):
            return
        self._run(lambda: sign_up.link_to_household(self.session, detail.id,
                                                    detail.candidate_id),
                  on_taken=lambda name: sign_up.link_to_household(
                      self.session, detail.id, detail.candidate_id, username=name))

    def create_household(self) -> None:
        detail = self.detail
        if detail is None:
            return
        other = detail.candidate or "the household it looked like"
        if not self._confirm(
                "Create new household",
                f"Create a new household for {_person(detail)} with the web login "
                f"“{detail.username}”?\n\nOnly do this when the request and {other} are "
                "different families."):
            return
        self._run(lambda: sign_up.create_new_household(self.session, detail.id))

    def refuse(self) -> None:
        detail = self.detail
        if detail is None:
            return
        dialog = RefuseDialog(self.session, detail, self)
        if dialog.exec():
            self._done(dialog.outcome)

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _run(self, call, on_taken=None) -> None:
        """Run the decision off the GUI thread; a user name taken meanwhile asks for another."""
        self._set_busy(True)

        def failed(error: Exception) -> None:
            self._set_busy(False)
            if on_taken and isinstance(error, ValidationError) and error.field == "user name":
                name = self._other_username(error)
                if name:
                    self._run(lambda: on_taken(name), on_taken)
                return
            show_error(self, TITLE, error)
            self.reload()

        call_in_background(call, self._done, failed)

    def _other_username(self, error: ValidationError) -> str:
        name, ok = QInputDialog.getText(self, "Choose another user name",
                                        f"{error.message}\n\nUser name for this web login:",
                                        QLineEdit.EchoMode.Normal, "")
        return name.strip() if ok else ""

    def _done(self, outcome: ReviewOutcome) -> None:
        self._set_busy(False)
        self._say(f"Request {outcome.review_id}: {outcome.message}")
        self.detail = None  # resolved: select the next one
        self.reload()
        self.reviews_changed.emit(outcome)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self._enable()

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.show()


class RefuseDialog(FormDialog):
    """Refuse a sign-up request, with the reason the audit trail keeps."""

    def __init__(self, session: StaffSession, detail: ReviewDetail,
                 parent: QWidget | None = None) -> None:
        super().__init__("Refuse sign-up request", f"Refuse {_person(detail)}’s sign-up?",
                         "Refuse request", parent)
        self.session, self.detail = session, detail
        self.outcome: ReviewOutcome | None = None
        self.reason = self.add_line("reason", "Reason:",
                                    placeholder="e.g. Not a member; phoned them on 12 May")
        self.body.insertWidget(2, small_note(
            f"No web login “{detail.username}” is made and the password chosen at sign-up is "
            "discarded. The reason is kept in the audit trail."))
        self.reason.setFocus()

    def submit(self) -> None:
        if not self.reason.text().strip():
            self.show_problem(ValidationError("reason", "Enter the reason for refusing."))
            return
        self.submit_in_background(
            lambda: sign_up.refuse(self.session, self.detail.id, self.reason.text()),
            self._refused)

    def _refused(self, outcome: ReviewOutcome) -> None:
        self.outcome = outcome
        self.set_busy(False)
        self.accept()


def _comparison_table() -> QTableWidget:
    table = QTableWidget(0, 4)
    table.setHorizontalHeaderLabels(("Field", "Sign-up request", "On file", ""))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
    return table


def _fill_comparison(table: QTableWidget, detail: ReviewDetail) -> None:
    table.setRowCount(len(detail.rows))
    for row, compared in enumerate(detail.rows):
        marker = "✓ same" if compared.same else ("" if not compared.requested
                                                 or not compared.on_file else "differs")
        cells = (compared.label, compared.requested or "—", compared.on_file or "—", marker)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if compared.same:
                item.setBackground(QBrush(SAME_COLOUR))
                if column == 3:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
            table.setItem(row, column, item)
    table.setHorizontalHeaderLabels(("Field", "Sign-up request",
                                     f"On file: {detail.candidate}" if detail.candidate
                                     else "On file", ""))
    height = table.horizontalHeader().height() + sum(
        table.rowHeight(r) for r in range(table.rowCount())) + 2 * table.frameWidth()
    table.setFixedHeight(height)


def _person(detail: ReviewDetail) -> str:
    names = {r.field: r.requested for r in detail.rows}
    return f"{names.get('first_name', '')} {names.get('last_name', '')}".strip()


def _verdict_text(detail: ReviewDetail) -> str:
    if detail.candidate_id is None:
        return ("The household this request looked like no longer exists. Create a new "
                "household, or refuse the request.")
    same = detail.reasons_in_words or "nothing any more"
    if detail.clear:
        return (f"This is clearly the household on file (same {same}), and it has no web login "
                "yet. Link the request to add one.")
    return (f"Unsure: the request and the household share only the {same}. Link it if they "
            "are the same family, otherwise create a new household (or refuse it).")


def _count_text(count: int) -> str:
    if count == 0:
        return "No sign-up requests are waiting"
    return f"{count} sign-up request{'s' if count != 1 else ''} waiting for review"
