"""Reports → Audit trail: the newest events, filterable as you type."""

import json

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QDialog, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from clerkdesk.services import audit
from clerkdesk.services.session import StaffSession

from .timestamps import local_text

COLUMNS = ("When", "Who", "Action", "Record", "Household", "Details")


class AuditTableModel(QAbstractTableModel):
    def __init__(self, events: list[audit.AuditView]) -> None:
        super().__init__()
        self.rows = [
            (local_text(e.at), e.actor, e.action, f"{e.entity} {e.entity_id}".strip(),
             e.household_id, json.dumps(e.details, ensure_ascii=False)[1:-1])
            for e in events
        ]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.rows[index.row()][index.column()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class AuditTrailDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self.resize(980, 560)
        layout = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: type a name, an action or a record…")
        self.filter.setClearButtonEnabled(True)
        layout.addWidget(self.filter)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(AuditTableModel(audit.trail(session)))
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table)
