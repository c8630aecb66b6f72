"""The main window shell, and the dialogs it opens, for each role."""

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QMenu, QSpinBox

from clerkdesk.models import AuditEvent, PasswordPolicy, RolePermission
from clerkdesk.services import roles, settings
from clerkdesk.ui.admin import AddStaffDialog, StaffAndRolesDialog
from clerkdesk.ui.audit_view import AuditTrailDialog
from clerkdesk.ui.main_window import MainWindow
from clerkdesk.ui.settings_dialog import SettingsDialog


def _window(qtbot, session):
    window = MainWindow(session, "SQLite · /tmp/test.sqlite3")
    qtbot.addWidget(window)
    window.show()
    return window


def _action(window, text):
    for menu in window.menuBar().findChildren(QMenu):
        for action in menu.actions():
            if action.text().replace("&", "") == text:
                return action
    raise AssertionError(f"no action {text}")


def test_status_bar_names_the_staff_member_role_and_database(qtbot, clerk):
    window = _window(qtbot, clerk)
    assert window.role_label.text() == "Signed in as Cleo · Clerk"
    assert window.database_status.text() == "Database: SQLite · /tmp/test.sqlite3"
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Households", "Web Utilities", "Communications", "Reports",
                     "Settings", "Help"]


def test_clerk_sees_admin_commands_disabled_until_granted(qtbot, clerk, admin):
    window = _window(qtbot, clerk)
    settings_action = _action(window, "Settings…")
    staff_action = _action(window, "Staff and roles…")
    assert not settings_action.isEnabled() and not staff_action.isEnabled()
    assert "Edit settings" in settings_action.statusTip()
    roles.set_grant(admin, "Clerk", "settings.edit", True)
    settings_menu = next(m for m in window.menuBar().findChildren(QMenu)
                         if m.title() == "&Settings")
    settings_menu.popup(window.mapToGlobal(window.rect().center()))  # opening re-reads grants
    settings_menu.close()
    assert settings_action.isEnabled()  # live: no sign-out needed
    assert not staff_action.isEnabled()


def test_shortcuts_are_set(qtbot, admin):
    window = _window(qtbot, admin)
    assert _action(window, "Settings…").shortcut().toString() == "Ctrl+,"
    assert _action(window, "Quit").shortcut().toString() == "Ctrl+Q"
    assert _action(window, "Staff and roles…").shortcut().toString() == "Ctrl+Shift+R"
    assert _action(window, "Sign out").shortcut().toString() == "Ctrl+Shift+L"


def test_geometry_is_kept_between_sessions(qtbot, admin):
    window = _window(qtbot, admin)
    window.resize(777, 612)
    window.close()
    assert QSettings().value("main_window/geometry") is not None
    again = _window(qtbot, admin)
    assert (again.width(), again.height()) == (777, 612)


def test_sign_out_emits_and_is_audited(qtbot, admin):
    window = _window(qtbot, admin)
    with qtbot.waitSignal(window.signed_out):
        _action(window, "Sign out").trigger()
    assert AuditEvent.select().where(AuditEvent.action == "staff.sign_out").count() == 1


def test_settings_dialog_saves_through_its_widgets(qtbot, admin):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    attempts = dialog.editors["password_policy.max_attempts"]
    assert isinstance(attempts, QSpinBox)
    attempts.setValue(3)
    case = dialog.editors["password_policy.case_sensitive"]
    assert isinstance(case, QCheckBox)
    case.setFocus()
    qtbot.keyClick(case, Qt.Key.Key_Space)
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert PasswordPolicy.get().max_attempts == 3
    assert PasswordPolicy.get().case_sensitive is True


def test_settings_dialog_bad_value_saves_nothing(qtbot, admin):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editors["password_policy.max_attempts"].setValue(4)
    url = dialog.editors["portal.url"]
    qtbot.keyClicks(url, "javascript:alert('x')")
    dialog.save()
    assert dialog.isVisible()
    assert "https://" in dialog.problem.text()
    assert PasswordPolicy.get().max_attempts == 0  # the good value was not saved either
    assert settings.get_setting("portal.url") == ""


def test_staff_dialog_adds_a_clerk(qtbot, admin):
    dialog = AddStaffDialog(admin, roles.role_names())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username, "newbie")
    qtbot.keyClicks(dialog.display_name, "Nell Newbie")
    qtbot.keyClicks(dialog.password, "a-fine-password")
    qtbot.keyClicks(dialog.confirm, "a-fine-password")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    staff_dialog = StaffAndRolesDialog(admin)
    qtbot.addWidget(staff_dialog)
    page = staff_dialog.staff_page
    names = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
    assert "newbie" in names
    assert page.table.item(names.index("newbie"), 2).text() == "Clerk"


def test_permission_grid_grants_and_keeps_administrator_locked(qtbot, admin):
    dialog = StaffAndRolesDialog(admin)
    qtbot.addWidget(dialog)
    page = dialog.permissions_page
    headers = [page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())]
    clerk_column = headers.index("Clerk")
    admin_column = headers.index("Administrator\n(always all)")
    rows = [page.table.item(r, 0).toolTip() for r in range(page.table.rowCount())]
    unlock_row = next(i for i, text in enumerate(rows) if "web_account.unlock" in text)
    item = page.table.item(unlock_row, clerk_column)
    assert item.checkState() == Qt.CheckState.Unchecked
    item.setCheckState(Qt.CheckState.Checked)
    granted = RolePermission.select().join_from(RolePermission, RolePermission.role.rel_model)
    assert any(g.permission == "web_account.unlock" and g.role.name == "Clerk" for g in granted)
    admin_item = page.table.item(unlock_row, admin_column)
    assert not admin_item.flags() & Qt.ItemFlag.ItemIsEnabled


def test_audit_trail_lists_and_filters(qtbot, admin):
    settings.set_setting(admin, "phone.region", "CA")
    dialog = AuditTrailDialog(admin)
    qtbot.addWidget(dialog)
    total = dialog.proxy.rowCount()
    assert total >= 2
    qtbot.keyClicks(dialog.filter, "Setting changed")
    assert dialog.proxy.rowCount() == 1
    row = [dialog.proxy.index(0, c).data() for c in range(6)]
    assert row[1] == "root-admin" and "phone.region" in row[3] and "new: CA" in row[5]
    qtbot.keyClicks(dialog.filter, "zzz-nothing")
    assert dialog.proxy.rowCount() == 0


def test_file_import_opens_the_import_wizard_for_those_who_may_import(qtbot, clerk,
                                                                      supervisor):
    from PySide6.QtWidgets import QApplication

    from clerkdesk.ui.import_wizard import ImportWizard

    clerk_window = _window(qtbot, clerk)
    assert not _action(clerk_window, "Import portal users…").isEnabled()
    window = _window(qtbot, supervisor)
    action = _action(window, "Import portal users…")
    assert action.isEnabled() and action.shortcut().toString() == "Ctrl+I"
    action.trigger()
    [wizard] = [w for w in QApplication.topLevelWidgets()
                if isinstance(w, ImportWizard) and w.isVisible()]
    wizard.close()
