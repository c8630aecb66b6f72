"""Reports → Audit trail: the newest events, filterable as you type."""

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import audit
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from .table_model import RowTableModel

LIMIT = 500
COLUMNS = ("When", "Who", "What", "Record", "Household", "Details")
# How each action code reads to a person; unknown codes are shown as they are.
ACTION_LABELS = {
    "staff.sign_in": "Staff sign-in", "staff.sign_out": "Staff sign-out",
    "staff.add": "Staff member added", "staff.create_first_admin": "First administrator created",
    "staff.enable": "Staff member enabled", "staff.disable": "Staff member disabled",
    "staff.set_role": "Staff role changed", "staff.unlock": "Staff member unlocked",
    "staff.reset_password": "Staff password set", "role.create": "Role created",
    "role.grant": "Permission granted", "role.revoke": "Permission revoked",
    "settings.set": "Setting changed", "demo.generate": "Demo households created",
    "template.save": "Email template saved", "email.test": "Test email sent",
    "web_account.create": "Web account created",
    "web_account.set_username": "Web user name changed",
    "web_account.set_password": "Web password changed",
    "web_account.set_must_change": "Must-change flag changed",
    "web_account.lock": "Web account locked", "web_account.unlock": "Web account unlocked",
    "web_account.enable": "Web account enabled", "web_account.disable": "Web account disabled",
    "web_account.delete": "Web account deleted", "portal.sign_in": "Portal sign-in",
    "portal.change_credentials": "Portal: sign-in details changed",
    "portal.forgot_username": "Portal: forgot user name",
    "portal.forgot_password": "Portal: forgot password",
    "portal.reset_password": "Portal: password reset",
    "web_account.bulk_assign": "Web login bulk-assigned",
    "bulk_assign.start": "Bulk assign started", "bulk_assign.resume": "Bulk assign resumed",
    "bulk_assign.finished": "Bulk assign finished",
    "bulk_assign.cancelled": "Bulk assign cancelled", "bulk_assign.undo": "Bulk assign undone",
}


class AuditTableModel(RowTableModel):
    headings = COLUMNS

    def __init__(self, events: list[audit.AuditView]) -> None:
        super().__init__()
        self.rows = [
            (local_text(e.at, seconds=True), e.actor, ACTION_LABELS.get(e.action, e.action),
             f"{e.entity.replace('_', ' ')} {e.entity_id}".strip(), e.household_id,
             _details_text(e.details))
            for e in events
        ]


def _details_text(details: dict) -> str:
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in details.items())


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
        events = audit.trail(session, LIMIT)
        self.proxy.setSourceModel(AuditTableModel(events))
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table)
        shown = QLabel(f"The newest {len(events):,} events" if len(events) == LIMIT
                       else f"{len(events):,} events")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(shown)
        footer.addWidget(buttons)
        layout.addLayout(footer)
