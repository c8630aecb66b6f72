"""Settings → Staff and roles: who may sign in, and which permission devices each role holds."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import roles, staff
from clerkdesk.services.permissions import LABELS, Permission
from clerkdesk.services.session import StaffSession
from clerkdesk.services.settings import get_setting
from clerkdesk.services.timestamps import local_text

from .forms import FormDialog
from .messages import show_error


class StaffAndRolesDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Staff and roles")
        self.resize(900, 560)
        tabs = QTabWidget()
        self.staff_page = StaffPage(session)
        self.permissions_page = PermissionsPage(session)
        tabs.addTab(self.staff_page, "&Staff")
        tabs.addTab(self.permissions_page, "&Permissions by role")
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(close)
        layout.addLayout(row)


class PermissionsPage(QWidget):
    """A grid: one row per permission device, one column per role; a tick grants."""

    def __init__(self, session: StaffSession) -> None:
        super().__init__()
        self.session = session
        self.table = QTableWidget()
        self.table.verticalHeader().hide()
        self.table.itemChanged.connect(self._toggled)
        add_role = QPushButton("&New role…")
        add_role.clicked.connect(self.new_role)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(add_role)
        row.addStretch()
        layout.addLayout(row)
        self.reload()

    def reload(self) -> None:
        self.roles = roles.list_roles(self.session)
        self.table.blockSignals(True)
        self.table.clear()
        self.table.setRowCount(len(Permission))
        self.table.setColumnCount(len(self.roles) + 1)
        self.table.setHorizontalHeaderLabels(
            ["Permission", *(f"{r.name}\n(always all)" if r.locked else r.name
                             for r in self.roles)])
        for row, permission in enumerate(Permission):
            label = QTableWidgetItem(LABELS[permission])
            label.setToolTip(f"Permission device {permission.value}")
            label.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 0, label)
            for column, role in enumerate(self.roles, start=1):
                self.table.setItem(row, column, self._tick(role, permission))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.roles) + 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(column, 120)
        self.table.setAlternatingRowColors(True)
        self.table.blockSignals(False)

    @staticmethod
    def _tick(role: roles.RoleView, permission: Permission) -> QTableWidgetItem:
        item = QTableWidgetItem()
        flags = Qt.ItemFlag.ItemIsUserCheckable
        if not role.locked:
            flags |= Qt.ItemFlag.ItemIsEnabled
        else:
            item.setToolTip("The Administrator role always holds every permission.")
        item.setFlags(flags)
        granted = permission in role.permissions
        item.setCheckState(Qt.CheckState.Checked if granted else Qt.CheckState.Unchecked)
        item.setData(Qt.ItemDataRole.UserRole, (role.name, permission.value))
        return item

    def _toggled(self, item: QTableWidgetItem) -> None:
        role_name, permission = item.data(Qt.ItemDataRole.UserRole)
        granted = item.checkState() == Qt.CheckState.Checked
        try:
            roles.set_grant(self.session, role_name, permission, granted)
        except Exception as error:
            show_error(self, "Permission not changed", error)
        self.reload()

    def new_role(self) -> None:
        name, ok = QInputDialog.getText(self, "New role", "Name of the new role:")
        if not ok:
            return
        try:
            roles.create_role(self.session, name)
        except Exception as error:
            show_error(self, "Role not created", error)
        self.reload()


STAFF_COLUMNS = ("User name", "Name", "Role", "State", "Last sign-in")


class StaffPage(QWidget):
    def __init__(self, session: StaffSession) -> None:
        super().__init__()
        self.session = session
        self.table = QTableWidget(0, len(STAFF_COLUMNS))
        self.table.setHorizontalHeaderLabels(STAFF_COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = self._button(buttons, "&Add staff…", self.add)
        self.role_button = self._button(buttons, "Change &role…", self.change_role)
        self.active_button = self._button(buttons, "&Disable", self.toggle_active)
        self.unlock_button = self._button(buttons, "&Unlock", self.unlock)
        self.password_button = self._button(buttons, "Set &password…", self.set_password)
        buttons.addStretch()
        layout.addLayout(buttons)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.reload()

    @staticmethod
    def _button(row: QHBoxLayout, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    def reload(self, select: str | None = None) -> None:
        self.members = staff.list_staff(self.session)
        self.table.setRowCount(len(self.members))
        for row, member in enumerate(self.members):
            state = "Disabled" if not member.active else "Locked" if member.locked else "Active"
            for column, text in enumerate((member.username, member.display_name, member.role,
                                           state, local_text(member.last_sign_in, "Never"))):
                self.table.setItem(row, column, QTableWidgetItem(text))
            if member.username == select:
                self.table.selectRow(row)
        if not self.table.selectionModel().hasSelection() and self.members:
            self.table.selectRow(0)
        self._selection_changed()

    def selected(self) -> staff.StaffView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.members[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        member = self.selected()
        for button in (self.role_button, self.active_button, self.unlock_button,
                       self.password_button):
            button.setEnabled(member is not None)
        if member is not None:
            self.active_button.setText("&Enable" if not member.active else "&Disable")
            self.unlock_button.setEnabled(member.locked)

    def _apply(self, title: str, call, username: str) -> None:
        try:
            call()
        except Exception as error:
            show_error(self, title, error)
        self.reload(select=username)

    def add(self) -> None:
        dialog = AddStaffDialog(self.session, roles.role_names(), self)
        if dialog.exec():
            self.reload(select=dialog.created)

    def change_role(self) -> None:
        member = self.selected()
        names = roles.role_names()
        role, ok = QInputDialog.getItem(self, "Change role", f"Role for {member.username}:",
                                        names, names.index(member.role), False)
        if ok and role != member.role:
            self._apply("Role not changed",
                        lambda: staff.set_staff_role(self.session, member.username, role),
                        member.username)

    def toggle_active(self) -> None:
        member = self.selected()
        if member.active and QMessageBox.question(
                self, "Disable staff account",
                f"Disable {member.username}? They will not be able to sign in until enabled "
                "again.") != QMessageBox.StandardButton.Yes:
            return
        self._apply("Not changed",
                    lambda: staff.set_staff_active(self.session, member.username,
                                                   not member.active), member.username)

    def unlock(self) -> None:
        member = self.selected()
        self._apply("Not unlocked", lambda: staff.unlock_staff(self.session, member.username),
                    member.username)

    def set_password(self) -> None:
        member = self.selected()
        dialog = SetStaffPasswordDialog(self.session, member.username, self)
        if dialog.exec():
            self.reload(select=member.username)


class AddStaffDialog(FormDialog):
    def __init__(self, session: StaffSession, role_names: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__("Add staff member", "A new person who may sign in to ClerkDesk.",
                         "Add", parent)
        self.session = session
        self.username = self.add_line("user name", "&User name:")
        self.display_name = self.add_line("display name", "&Full name:")
        self.role = QComboBox()
        self.role.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.role.addItems(role_names)
        self.role.setCurrentText("Clerk")
        self.form.addRow("&Role:", self.role)
        self.fields["role"] = self.role
        self.password = self.add_line("password", "&Password:", secret=True,
                                      note=_length_note())
        self.confirm = self.add_line("confirm", "R&e-enter password:", secret=True)
        self.created: str | None = None

    def submit(self) -> None:
        values = (self.username.text(), self.display_name.text(), self.password.text(),
                  self.role.currentText(), self.confirm.text())
        self.submit_in_background(lambda: staff.add_staff(self.session, *values), self._added)

    def _added(self, view: staff.StaffView) -> None:
        self.created = view.username
        self.accept()


class SetStaffPasswordDialog(FormDialog):
    def __init__(self, session: StaffSession, username: str,
                 parent: QWidget | None = None) -> None:
        super().__init__("Set staff password", f"A new password for <b>{username}</b>. Tell it "
                         "to them in person; it is never shown again.", "Set password", parent)
        self.session, self.username = session, username
        self.password = self.add_line("password", "&New password:", secret=True,
                                      note=_length_note())
        self.confirm = self.add_line("confirm", "&Re-enter password:", secret=True)

    def submit(self) -> None:
        values = (self.session, self.username, self.password.text(), self.confirm.text())
        self.submit_in_background(lambda: staff.reset_staff_password(*values),
                                  lambda _: self.accept())


def _length_note() -> str:
    return f"At least {get_setting('staff.min_password_length')} characters."
