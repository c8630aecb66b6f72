"""The main window shell: menus, a home panel, and a status bar naming who and which database."""

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from clerkdesk import __version__
from clerkdesk.services import permissions, staff
from clerkdesk.services.permissions import Permission
from clerkdesk.services.session import StaffSession

from . import import_wizard, mailing_wizard
from .admin import StaffAndRolesDialog
from .audit_view import AuditTrailDialog
from .bulk_runs import BulkRunsDialog, open_bulk_assign
from .household_maintenance import HouseholdMaintenanceWindow
from .mailings_window import MailingsWindow, open_mailings
from .portal_accounts import PortalAccountsWindow, open_portal_accounts
from .sending_window import SendingWindow, open_sending
from .settings_dialog import SettingsDialog
from .templates_dialog import TemplatesDialog


class MainWindow(QMainWindow):
    signed_out = Signal()

    def __init__(self, session: StaffSession, database_label: str) -> None:
        super().__init__()
        self.session = session
        self.database_label = database_label
        self.setWindowTitle("ClerkDesk")
        self.setMinimumSize(760, 520)
        self._guarded: list[tuple[QAction, Permission]] = []
        self.maintenance: HouseholdMaintenanceWindow | None = None
        self.mailings: MailingsWindow | None = None
        self.sending: SendingWindow | None = None
        self.portal_accounts: PortalAccountsWindow | None = None
        self._build_menus()
        self._build_home()
        self._build_status_bar()
        self.refresh_permissions()
        self._restore_geometry()

    # --- menus -----------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Import portal users…", self.open_import, "Ctrl+I",
                     Permission.DATA_IMPORT)
        file_menu.addSeparator()
        self._action(file_menu, "Sign &out", self.sign_out, "Ctrl+Shift+L")
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")

        households = bar.addMenu("&Households")
        self._action(households, "Household &Maintenance…", self.open_household_maintenance,
                     "Ctrl+H")
        web = bar.addMenu("&Web Utilities")
        self._action(web, "&Bulk Web ID/PIN Assign…", self.open_bulk_assign, "Ctrl+Shift+B",
                     Permission.BULK_ASSIGN)
        self._action(web, "Bulk Assign &Runs…", self.open_bulk_runs, None,
                     Permission.BULK_ASSIGN)
        self._action(web, "&Portal Accounts…", self.open_portal_accounts, "Ctrl+Shift+P")
        communications = bar.addMenu("&Communications")
        self._action(communications, "&New mailing…", self.open_new_mailing, "Ctrl+Shift+M",
                     Permission.BULK_EMAIL)
        self._action(communications, "&Mailings…", self.open_mailings, None,
                     Permission.BULK_EMAIL)
        self._action(communications, "&Send queued messages…", self.open_sending, None,
                     Permission.BULK_EMAIL)

        reports = bar.addMenu("&Reports")
        self._action(reports, "&Audit trail…", self.open_audit_trail, "Ctrl+Shift+A",
                     Permission.STAFF_ADMIN)
        settings_menu = bar.addMenu("&Settings")
        self._action(settings_menu, "&Settings…", self.open_settings, "Ctrl+,",
                     Permission.SETTINGS_EDIT)
        self._action(settings_menu, "&Email templates…", self.open_templates, "Ctrl+Shift+E",
                     Permission.SETTINGS_EDIT)
        self._action(settings_menu, "Staff and &roles…", self.open_staff_and_roles,
                     "Ctrl+Shift+R", Permission.STAFF_ADMIN)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About ClerkDesk", self.show_about)
        for menu in (file_menu, web, communications, reports, settings_menu):
            menu.aboutToShow.connect(self.refresh_permissions)
        for menu in bar.findChildren(QMenu):
            menu.setToolTipsVisible(True)

    def _action(self, menu: QMenu, text: str, slot: Callable[[], object],
                shortcut: str | None = None,
                permission: Permission | None = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if permission is not None:
            self._guarded.append((action, permission))
        return action

    def refresh_permissions(self) -> None:
        """Read grants live, so a role change shows without signing out."""
        held = permissions.granted(self.session)
        for action, permission in self._guarded:
            allowed = permission in held
            action.setEnabled(allowed)
            lacking = f"Your role lacks the permission “{permissions.label(permission)}”."
            action.setStatusTip("" if allowed else lacking)
            action.setToolTip(action.text().replace("&", "") if allowed else lacking)
        for link, permission in self.home_links:
            link.setVisible(permission in held)
        self.role_label.setText(f"Signed in as {self.session.label} · "
                                f"{staff.role_of(self.session)}")

    # --- home and status bar ---------------------------------------------------------------
    def _build_home(self) -> None:
        home = QWidget()
        home.setObjectName("home")
        layout = QVBoxLayout(home)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel("ClerkDesk")
        title.setObjectName("title")
        self.welcome = QLabel(f"Welcome, {self.session.label}.")
        self.welcome.setObjectName("welcome")
        layout.addWidget(title)
        layout.addWidget(self.welcome)
        self.shortcuts_box = QVBoxLayout()
        self.shortcuts_box.setSpacing(4)
        layout.addLayout(self.shortcuts_box)
        tip = QLabel("Press F1 for the keyboard shortcuts.")
        tip.setObjectName("note")
        layout.addWidget(tip)
        self.home_links: list[tuple[QCommandLinkButton, Permission]] = []
        maintenance = QCommandLinkButton(
            "Household Maintenance", "Find a household by name, client ID, phone, email or "
            "user name; edit it and its web login.")
        maintenance.setMaximumWidth(640)
        maintenance.clicked.connect(self.open_household_maintenance)
        self.shortcuts_box.addWidget(maintenance)
        for title_text, description, slot, permission in (
                ("Bulk Web ID/PIN Assign", "Portal user names and PINs for every household "
                 "before go-live: preview, run, exceptions, undo.",
                 self.open_bulk_assign, Permission.BULK_ASSIGN),
                ("Mailings", "Bulk email: follow, pause or cancel mailings, send what is "
                 "queued, and see what failed.", self.open_mailings, Permission.BULK_EMAIL),
                ("Settings", "Password policy for households, the portal address, email "
                 "delivery and staff sign-in rules.", self.open_settings,
                 Permission.SETTINGS_EDIT),
                ("Email templates", "The messages ClerkDesk sends: credentials, forgot user "
                 "name, reset links and change notices.", self.open_templates,
                 Permission.SETTINGS_EDIT),
                ("Staff and roles", "Add staff, unlock or disable them, and decide what each "
                 "role may do.", self.open_staff_and_roles, Permission.STAFF_ADMIN),
                ("Audit trail", "Who changed what, and when.", self.open_audit_trail,
                 Permission.STAFF_ADMIN)):
            link = QCommandLinkButton(title_text, description)
            link.setMaximumWidth(640)
            link.clicked.connect(slot)
            self.shortcuts_box.addWidget(link)
            self.home_links.append((link, permission))
        self.setCentralWidget(home)

    def _build_status_bar(self) -> None:
        self.role_label = QLabel()
        self.database_status = QLabel(f"Database: {self.database_label}")
        self.statusBar().addWidget(self.role_label)
        self.statusBar().addPermanentWidget(self.database_status)

    # --- commands --------------------------------------------------------------------------
    def open_settings(self) -> None:
        SettingsDialog(self.session, self).exec()
        self.refresh_permissions()

    def open_household_maintenance(self) -> None:
        if self.maintenance is None:
            self.maintenance = HouseholdMaintenanceWindow(self.session, self)
            self.maintenance.setWindowFlag(Qt.WindowType.Window)
        self.maintenance.show()
        self.maintenance.raise_()
        self.maintenance.activateWindow()
        self.maintenance.focus_search()

    def open_bulk_assign(self) -> None:
        open_bulk_assign(self.session, self)

    def open_portal_accounts(self) -> None:
        window = self.portal_accounts
        if window is not None and window.isVisible():
            window.raise_()
            window.activateWindow()
            window.focus_search()
            return
        self.portal_accounts = open_portal_accounts(self, self.session)

    def open_bulk_runs(self) -> None:
        BulkRunsDialog(self.session, self).exec()

    def open_import(self) -> None:
        import_wizard.open_import_wizard(self, self.session)

    def open_new_mailing(self) -> None:
        mailing_wizard.open_mailing_wizard(self, self.session)
        if self.mailings is not None and self.mailings.isVisible():
            self.mailings.reload()

    def open_mailings(self) -> None:
        if self.mailings is not None and self.mailings.isVisible():
            self.mailings.reload()
            self.mailings.raise_()
            self.mailings.activateWindow()
            return
        self.mailings = open_mailings(self, self.session)

    def open_sending(self) -> None:
        self.sending = open_sending(self, self.session)

    def open_templates(self) -> None:
        TemplatesDialog(self.session, self).exec()

    def open_staff_and_roles(self) -> None:
        StaffAndRolesDialog(self.session, self).exec()
        self.refresh_permissions()

    def open_audit_trail(self) -> None:
        AuditTrailDialog(self.session, self).exec()

    def _release_windows(self) -> bool:
        """Close the windows that may ask first: unsaved edits, messages still being sent."""
        for window in (self.sending, self.maintenance, self.mailings, self.portal_accounts):
            if window is not None and window.isVisible() and not window.close():
                return False
        return True

    def sign_out(self) -> None:
        if not self._release_windows():
            return
        staff.sign_out(self.session)
        self._save_geometry()
        self.hide()
        self.signed_out.emit()

    def show_shortcuts(self) -> None:
        rows = []
        for menu in self.menuBar().findChildren(QMenu):
            for action in menu.actions():
                if not action.shortcut().isEmpty():
                    text = action.text().replace("&", "").rstrip("…")
                    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                    rows.append(f"<tr><td>{text}</td><td><b>{keys}</b></td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts",
                                "<table cellpadding='4'>" + "".join(rows) + "</table>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About ClerkDesk",
                          f"<h3>ClerkDesk {__version__}</h3><p>Web-portal logins for the front "
                          "desk. Passwords are stored only as bcrypt hashes: nobody, ever, "
                          "can read a current password.</p>")

    # --- geometry --------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        stored = QSettings().value("main_window/geometry")
        if stored is not None:
            self.restoreGeometry(stored)
        else:
            self.resize(1100, 700)

    def _save_geometry(self) -> None:
        QSettings().setValue("main_window/geometry", self.saveGeometry())

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_geometry()
        super().closeEvent(event)
