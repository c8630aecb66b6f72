"""The household editor: fields, members, and the tabs that show the household's trail."""

from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import households, web_accounts
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.households import HouseholdData, HouseholdDetail, MemberData
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from .communication_history import CommunicationHistory

FIELDS = (("client_id", "Client &ID: *"), ("name", "&Household name: *"),
          ("address_line1", "&Address:"), ("address_line2", ""), ("city", "Cit&y:"),
          ("region", "State/re&gion:"), ("postal_code", "Postal &code:"),
          ("phone", "&Phone:"), ("email", "E&mail:"))
MEMBER_COLUMNS = (("first_name", "First name"), ("last_name", "Last name"),
                  ("birth_date", "Born"), ("relationship", "Relationship"),
                  ("email", "Email"), ("phone", "Phone"), ("is_primary", "Primary"))


class HouseholdEditor(QWidget):
    """Edits one household's data; knows nothing of saving (the window does that)."""

    edited = Signal()

    def __init__(self, session: StaffSession) -> None:
        super().__init__()
        self.session = session
        self.detail: HouseholdDetail | None = None
        self.member_ids: list[int | None] = []
        self.lines: dict[str, QLineEdit] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._fields())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._members_tab(), "&Members")
        self.web_summary = QLabel()
        self.web_summary.setWordWrap(True)
        self.web_summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.tabs.addTab(self.web_summary, "&Web Details")
        self.tabs.addTab(self._notes_tab(), "Case &Notes")
        self.history = CommunicationHistory(session)
        self.tabs.addTab(self.history, "Communication &History")
        self.audit = QTableWidget(0, 4)
        self.audit.setHorizontalHeaderLabels(["When", "Who", "What", "Details"])
        self.audit.horizontalHeader().setStretchLastSection(True)
        self.audit.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.audit.verticalHeader().hide()
        self.tabs.addTab(self.audit, "A&udit")
        layout.addWidget(self.tabs, 1)

    def _fields(self) -> QFormLayout:
        form = QFormLayout()
        for name, label in FIELDS:
            line = QLineEdit()
            line.setObjectName(name)
            line.textEdited.connect(self.edited)
            form.addRow(label, line)
            self.lines[name] = line
        self.status = QComboBox()
        self.status.addItems(["active", "inactive"])
        self.status.currentIndexChanged.connect(self.edited)
        form.addRow("&Status:", self.status)
        return form

    def _members_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.members = QTableWidget(0, len(MEMBER_COLUMNS))
        self.members.setHorizontalHeaderLabels([label for _, label in MEMBER_COLUMNS])
        header = self.members.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)  # email
        self.members.setWordWrap(False)
        self.members.horizontalHeaderItem(2).setToolTip("Birth date, written YYYY-MM-DD")
        self.members.verticalHeader().hide()
        self.members.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.members.itemChanged.connect(lambda _: self.edited.emit())
        layout.addWidget(self.members)
        buttons = QHBoxLayout()
        for text, slot in (("&Add member", self.add_member), ("&Remove member",
                                                               self.remove_member),
                           ("Make &primary", self.make_primary)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch()
        layout.addLayout(buttons)
        return page

    def _notes_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        layout.addWidget(self.notes)
        row = QHBoxLayout()
        self.note_text = QLineEdit()
        self.note_text.setPlaceholderText("Add a note to this household's file…")
        self.note_button = QPushButton("Add &note")
        self.note_text.returnPressed.connect(self.note_button.click)
        row.addWidget(self.note_text)
        row.addWidget(self.note_button)
        layout.addLayout(row)
        return page

    # --- loading and reading back ------------------------------------------------------------
    def load(self, detail: HouseholdDetail | None) -> None:
        self.detail = detail
        data = detail.data if detail else HouseholdData()
        for name, line in self.lines.items():
            line.setText(getattr(data, name))
        self.status.blockSignals(True)
        self.status.setCurrentText(data.status)
        self.status.blockSignals(False)
        self.members.blockSignals(True)
        self.members.setRowCount(0)
        self.member_ids = []
        for member in data.members:
            self._add_member_row(member)
        self.members.blockSignals(False)
        self.refresh_trail()

    def data(self) -> HouseholdData:
        values = {name: line.text() for name, line in self.lines.items()}
        return HouseholdData(**values, status=self.status.currentText(),
                             members=tuple(self._member(row)
                                           for row in range(self.members.rowCount())))

    def refresh_trail(self) -> None:
        """Web Details summary, case notes, history and audit: read, never edited here."""
        self.history.show_household(self.detail.id if self.detail else None)
        if self.detail is None:
            self.web_summary.setText("Save the new household first.")
            self.notes.clear()
            self.audit.setRowCount(0)
            return
        account = web_accounts.account_for(self.session, self.detail.id)
        self.web_summary.setText(_web_summary(account))
        self.notes.clear()
        for note in households.case_notes_for(self.session, self.detail.id):
            self.notes.addItem(f"{local_text(note.created_at)}  {note.author}:  {note.text}")
        events = households.audit_for(self.session, self.detail.id)
        self.audit.setRowCount(len(events))
        for row, event in enumerate(events):
            details = "; ".join(f"{k}: {v}" for k, v in event.details.items())
            for column, text in enumerate((local_text(event.at), event.actor, event.action,
                                           details)):
                self.audit.setItem(row, column, QTableWidgetItem(text))

    # --- members -----------------------------------------------------------------------------
    def add_member(self) -> None:
        self._add_member_row(MemberData(last_name=self.lines["name"].text()))
        self.members.editItem(self.members.item(self.members.rowCount() - 1, 0))
        self.edited.emit()

    def remove_member(self) -> None:
        row = self.members.currentRow()
        if row >= 0:
            self.members.removeRow(row)
            del self.member_ids[row]
            self.edited.emit()

    def make_primary(self) -> None:
        chosen = self.members.currentRow()
        if chosen < 0:
            return
        primary_column = len(MEMBER_COLUMNS) - 1
        for row in range(self.members.rowCount()):
            self.members.item(row, primary_column).setCheckState(
                Qt.CheckState.Checked if row == chosen else Qt.CheckState.Unchecked)
        self.edited.emit()

    def selected_member_id(self) -> int | None:
        row = self.members.currentRow()
        return self.member_ids[row] if 0 <= row < len(self.member_ids) else None

    def _add_member_row(self, member: MemberData) -> None:
        row = self.members.rowCount()
        self.members.insertRow(row)
        self.member_ids.append(member.id)
        for column, (name, _) in enumerate(MEMBER_COLUMNS):
            item = QTableWidgetItem()
            if name == "is_primary":
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                              | Qt.ItemFlag.ItemIsSelectable)
                item.setCheckState(Qt.CheckState.Checked if member.is_primary
                                   else Qt.CheckState.Unchecked)
            else:
                value = getattr(member, name)
                item.setText(value.isoformat() if isinstance(value, date) else value or "")
            self.members.setItem(row, column, item)

    def _member(self, row: int) -> MemberData:
        cells = {name: self.members.item(row, column) for column, (name, _) in
                 enumerate(MEMBER_COLUMNS)}
        born_text = cells["birth_date"].text().strip()
        born = QDate.fromString(born_text, "yyyy-MM-dd")
        if born_text and not born.isValid():
            raise ValidationError("members", f"Member {row + 1}: write the birth date as "
                                  f"YYYY-MM-DD, not “{born_text}”.")
        return MemberData(
            self.member_ids[row], cells["first_name"].text(), cells["last_name"].text(),
            born.toPython() if born_text else None, cells["email"].text(),
            cells["phone"].text(), cells["relationship"].text(),
            cells["is_primary"].checkState() == Qt.CheckState.Checked)


def _web_summary(account: web_accounts.AccountView | None) -> str:
    if account is None:
        return "No web account. Open Web Details to create one."
    return (f"User name: {account.username}\nState: {account.state}\n"
            f"Must change password: {'yes' if account.must_change else 'no'}\n"
            f"Last sign-in: {local_text(account.last_login, 'never')}\n"
            f"Failed attempts: {account.failed_attempts}")
