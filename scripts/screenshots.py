"""Regenerate docs/screenshots/*.png: every ClerkDesk window and dialog, under a real X server.

Run from the project folder:

    .venv/bin/python scripts/screenshots.py          # or: make screenshots

With no DISPLAY set (or with --xvfb) a private `Xvfb :99 -screen 0 1400x900x24` is started and
killed at the end; install it with `apt-get install xvfb` (Qt's xcb plugin also needs
libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1 and the other libxcb-* libraries it names
when it fails). The windows are
driven through the real code path in a child process (QT_QPA_PLATFORM=xcb) that uses a
throw-away data folder, so neither your databases nor your ClerkDesk settings are touched: an
empty database for the first-run dialog, then the demo database (3,000 households, demo
staff) for everything else.

Last come the Bulk Web ID/PIN Assign screens, signed in as the demo supervisor: the wizard page
by page through a real run, the run's exceptions report, the runs list, and the first page of the
exceptions PDF, rendered to PNG with poppler's pdftoppm (`apt-get install poppler-utils`); then
the Communications screens (the demo captures its mail, so nothing leaves): the mailing wizard,
the sending window, the Mailings list, a household's Communication History, the no-email report
with the letters' confirmation and a sample letter, and a mailing's summary.

Each window is grabbed from the screen over its frame geometry, so the frame (when a window
manager draws one), open menus and the status bar are all in the picture.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "screenshots"
FIRST_DISPLAY = 99
SCREEN = "1400x900x24"
CHILD_FLAG = "--capture-in-this-process"
XVFB_MISSING = (
    "Xvfb is not installed. Install Debian's xvfb package and run this script again:\n"
    "    sudo apt-get install xvfb"
)


# --- the parent: an X server and a private environment for the child ---------------------------
def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xvfb", action="store_true",
                        help="start a private Xvfb even when DISPLAY is set")
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    options = parse_arguments()
    if options.capture_in_this_process:
        return capture_all()
    with tempfile.TemporaryDirectory(prefix="clerkdesk-screenshots-") as private:
        environment = private_environment(Path(private))
        if options.xvfb or not os.environ.get("DISPLAY"):
            with xvfb() as display:
                environment["DISPLAY"] = display
                return run_child(environment)
        return run_child(environment)


def private_environment(private: Path) -> dict[str, str]:
    """Settings, data and keyring in a temporary folder; a low bcrypt cost; Qt on X11."""
    environment = dict(os.environ)
    environment.pop("CLERKDESK_DATABASE_URL", None)
    environment.update({
        "CLERKDESK_DATA_DIR": str(private / "data"),
        "CLERKDESK_BCRYPT_COST": "4",
        "XDG_CONFIG_HOME": str(private / "config"),  # QSettings: window geometry
        "XDG_DATA_HOME": str(private / "xdg-data"),
        "XDG_RUNTIME_DIR": str(private / "runtime"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "QT_QPA_PLATFORM": "xcb",
    })
    (private / "runtime").mkdir(mode=0o700)
    return environment


def run_child(environment: dict[str, str]) -> int:
    command = [sys.executable, str(Path(__file__).resolve()), CHILD_FLAG]
    return subprocess.run(command, env=environment, cwd=ROOT, check=False).returncode


def free_display(first: int = FIRST_DISPLAY) -> int:
    """:99 unless another X server holds it (its lock file or socket exists)."""
    number = first
    while (Path(f"/tmp/.X{number}-lock").exists()
           or Path(f"/tmp/.X11-unix/X{number}").exists()):
        number += 1
    return number


@contextmanager
def xvfb() -> Iterator[str]:
    """Start Xvfb on a free display, yield ":N", and kill it afterwards."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise SystemExit(XVFB_MISSING)
    number = free_display()
    server = subprocess.Popen([binary, f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_socket(server, number)
        print(f"Started Xvfb :{number} ({SCREEN}).")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_socket(server: subprocess.Popen, number: int, timeout: float = 15.0) -> None:
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + timeout
    while not socket.exists():
        if server.poll() is not None:
            raise SystemExit(f"Xvfb :{number} stopped at once (exit status {server.returncode}).")
        if time.monotonic() > deadline:
            raise SystemExit(f"Xvfb :{number} did not start within {timeout:.0f} seconds.")
        time.sleep(0.05)


# --- the child: Qt helpers ------------------------------------------------------------------------
def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Process events (background calls report through them) until `condition()` holds."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Timed out waiting for {what}.")
        QTest.qWait(20)


def settle(window) -> None:
    """Show, raise and paint `window`, and let the X server catch up."""
    from PySide6.QtTest import QTest

    window.show()
    window.raise_()
    window.activateWindow()
    QTest.qWaitForWindowExposed(window, 5000)
    QTest.qWait(300)


def grab(window, name: str) -> None:
    settle(window)
    save_grab(window, name)


def save_grab(window, name: str, extra=None) -> None:
    """Save the screen under `window`'s frame (and `extra`, e.g. an open menu) as name.png."""
    area = window.frameGeometry()
    if extra is not None:
        area = area.united(extra)
    pixmap = window.screen().grabWindow(0, area.x(), area.y(), area.width(), area.height())
    if pixmap.isNull():
        pixmap = window.grab()
    path = OUTPUT / f"{name}.png"
    if not pixmap.save(str(path)):
        raise SystemExit(f"Could not write {path}.")
    print(f"  {path.relative_to(ROOT)}  {pixmap.width()}×{pixmap.height()}")


def answer_next_modal(button) -> None:
    """Once a blocking call has opened its modal dialog (a QMessageBox), press `button` on it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def press() -> None:
        box = QApplication.activeModalWidget()
        if box is None or not box.isVisible() or box.button(button) is None:
            QTimer.singleShot(20, press)
            return
        box.button(button).click()

    QTimer.singleShot(0, press)


def grab_next_modal(name: str, ready: Callable[[object], bool] = lambda dialog: True,
                    close: bool = True) -> None:
    """Once a blocking call has opened its modal dialog, grab it (and close it if `close`)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def shoot() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, shoot)
            return
        wait_until(lambda: ready(dialog) or not dialog.isVisible(), f"the {name} dialog")
        if not dialog.isVisible():  # it finished on its own first (a fast progress dialog)
            print(f"  {name}.png skipped: the dialog closed before it could be grabbed")
            return
        grab(dialog, name)
        if close:
            dialog.done(0)

    QTimer.singleShot(0, shoot)


def type_into(edit, text: str) -> None:
    from PySide6.QtTest import QTest

    edit.setFocus()
    if text.isascii():
        QTest.keyClicks(edit, text)
    else:  # QTest only simulates ASCII keys
        edit.insert(text)


def click(button) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


# --- the child: the screenshots -------------------------------------------------------------------
def capture_all() -> int:
    if os.environ.get("QT_QPA_PLATFORM") != "xcb" or "CLERKDESK_DATA_DIR" not in os.environ:
        raise SystemExit("Run scripts/screenshots.py without options; it prepares the child.")
    from clerkdesk.ui.app import make_application

    app = make_application()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    print(f"Qt platform {app.platformName()}; writing:")
    first_run()
    desk = open_demo()
    admin = signed_in_window(desk, "admin", "admin-demo-pass", capture=True)
    admin_dialogs(admin)
    admin_message_boxes(admin)
    admin.sign_out()
    clerk = signed_in_window(desk, "clerk", "clerk-demo-pass")
    clerk_menu(clerk)
    household_maintenance(clerk)
    clerk.close()
    bulk_assign_screens()  # the run gives most households a login, which mailings need
    mailing_wizard_screens()
    mailings_screens()
    mailing_report_screens()
    import_screens()
    portal_accounts_screens()
    sign_up_review_screens()
    account_link_screens()  # last: it turns phone-number login IDs on, then off again
    from clerkdesk.services.database import close_database

    close_database()
    return 0


def first_run() -> None:
    """The first-run dialog on an empty database, refusing passwords that do not match."""
    from clerkdesk.services.database import close_database, open_database
    from clerkdesk.ui.sign_in import FirstRunDialog

    empty = Path(os.environ["CLERKDESK_DATA_DIR"]) / "empty.sqlite3"
    empty.parent.mkdir(parents=True, exist_ok=True)
    open_database(f"sqlite:///{empty}")
    dialog = FirstRunDialog()
    settle(dialog)
    type_into(dialog.username, "jsmith")
    type_into(dialog.display_name, "Jo Smith")
    type_into(dialog.password, "front-desk-2024")
    type_into(dialog.confirm, "front-desk-2025")
    click(dialog.ok_button)
    wait_until(lambda: dialog.problem.isVisible() and dialog.ok_button.isEnabled(),
               "the first-run dialog to refuse the passwords")
    grab(dialog, "first-run")
    dialog.close()
    close_database()


def open_demo():
    """The real start-up path: Desk.open() creates the demo database behind a progress dialog."""
    from clerkdesk.ui.app import Desk

    desk = Desk(None, True)
    grab_next_modal("demo-data-progress", lambda dialog: dialog.value() > 0, close=False)
    if not desk.open():
        raise SystemExit("The demo database could not be opened.")
    return desk


def signed_in_window(desk, username: str, password: str, capture: bool = False):
    """Sign in through the sign-in dialog (grabbing it on the way) and show the main window."""
    from clerkdesk.ui.main_window import MainWindow
    from clerkdesk.ui.sign_in import SignInDialog

    dialog = SignInDialog(desk.database_label, demo=True)
    settle(dialog)
    if capture:
        grab(dialog, "sign-in")
        submit_sign_in(dialog, username, "not-the-password")
        wait_until(dialog.problem.isVisible, "the wrong-password message")
        grab(dialog, "sign-in-wrong-password")
    submit_sign_in(dialog, username, password)
    wait_until(lambda: dialog.session is not None, f"{username} to be signed in")
    dialog.close()
    window = MainWindow(dialog.session, desk.database_label)
    grab(window, f"main-window-{username}")
    return window


def submit_sign_in(dialog, username: str, password: str) -> None:
    dialog.username.clear()
    type_into(dialog.username, username)
    dialog.password.clear()
    type_into(dialog.password, password)
    click(dialog.ok_button)
    wait_until(lambda: dialog.ok_button.isEnabled() or dialog.session is not None,
               "the sign-in call to finish")


def admin_dialogs(window) -> None:
    """Settings, the audit trail, both tabs of Staff and roles and its two small dialogs."""
    from clerkdesk.ui.admin import StaffAndRolesDialog
    from clerkdesk.ui.audit_view import AuditTrailDialog
    from clerkdesk.ui.settings_dialog import SettingsDialog
    from clerkdesk.ui.templates_dialog import TemplatesDialog

    settings(SettingsDialog(window.session, window))
    templates(TemplatesDialog(window.session, window))
    dialog = AuditTrailDialog(window.session, window)
    grab(dialog, "audit-trail")
    dialog.close()
    dialog = StaffAndRolesDialog(window.session, window)
    staff_and_roles(dialog)
    staff_forms(window, dialog)
    dialog.close()


def settings(dialog) -> None:
    """Each tab of the Settings dialog."""
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        slug = dialog.tabs.tabText(index).lower().replace(" ", "-")
        grab(dialog, f"settings-{slug}")
    dialog.done(0)


def templates(dialog) -> None:
    grab(dialog, "email-templates")
    dialog.done(0)


def staff_and_roles(dialog) -> None:
    from PySide6.QtWidgets import QTabWidget

    tabs = dialog.findChild(QTabWidget)
    tabs.setCurrentIndex(0)
    grab(dialog, "staff-and-roles-staff")
    tabs.setCurrentIndex(1)
    grab(dialog, "staff-and-roles-permissions")
    tabs.setCurrentIndex(0)


def staff_forms(window, parent) -> None:
    """Add staff (filled in) and Set staff password, as the Staff tab opens them."""
    from clerkdesk.services import roles
    from clerkdesk.ui.admin import AddStaffDialog, SetStaffPasswordDialog

    add = AddStaffDialog(window.session, roles.role_names(), parent)
    settle(add)
    type_into(add.username, "mgarcia")
    type_into(add.display_name, "María García")
    grab(add, "add-staff")
    add.close()
    reset = SetStaffPasswordDialog(window.session, "clerk", parent)
    grab(reset, "set-staff-password")
    reset.close()


def admin_message_boxes(window) -> None:
    """Help → Keyboard shortcuts and Help → About: message boxes that block until closed."""
    grab_next_modal("keyboard-shortcuts")
    window.show_shortcuts()
    grab_next_modal("about")
    window.show_about()


def clerk_menu(window) -> None:
    """The Settings menu held open for a clerk, whose role lacks what it offers.

    Disabled items cannot be hovered under the Fusion style, so no status tip is shown.
    """
    from PySide6.QtTest import QTest

    menu_bar = window.menuBar()
    menu = next(action.menu() for action in menu_bar.actions()
                if action.text().replace("&", "") == "Settings")
    settle(window)
    menu_bar.setActiveAction(menu.menuAction())
    wait_until(menu.isVisible, "the Settings menu to open")
    QTest.qWait(300)
    save_grab(window, "main-window-clerk-settings-menu", extra=menu.frameGeometry())
    menu.hide()


def household_maintenance(window) -> None:
    """A search typed, a household open, and Web Details with and without an account."""
    from PySide6.QtTest import QTest

    from clerkdesk.services import staff, web_accounts
    from clerkdesk.ui.web_details import WebDetailsDialog

    window.open_household_maintenance()
    maintenance = window.maintenance
    type_into(maintenance.search_box, "obri")
    QTest.qWait(200)
    household_id = maintenance.model.household_id(0)
    maintenance.results.selectRow(0)
    maintenance.open_household(household_id)
    supervisor = staff.sign_in("super", "super-demo-pass")
    account = web_accounts.account_for(supervisor, household_id)
    if account is None:
        account = web_accounts.create_account(supervisor, household_id, "obrien.family")
    web_accounts.lock_account(supervisor, account.id)
    maintenance.model.refresh_household(household_id)
    maintenance.editor.refresh_trail()
    grab(maintenance, "household-maintenance")
    dialog = WebDetailsDialog(window.session, household_id, "O'Brien", parent=maintenance)
    grab(dialog, "web-details-clerk")
    dialog.done(0)
    dialog = WebDetailsDialog(supervisor, maintenance.model.household_id(1), "New web account",
                              parent=maintenance)
    if dialog.account is None:
        grab(dialog, "web-details-create")
    dialog.done(0)
    maintenance.close()


def bulk_assign_screens() -> None:
    """Web Utilities → Bulk Web ID/PIN Assign as the demo supervisor: each page of the wizard
    through a real run with the default choices, its exceptions, the runs list and the PDF."""
    from PySide6.QtWidgets import QMessageBox, QWizard

    from clerkdesk.services import bulk_assign, staff
    from clerkdesk.ui.bulk_assign_wizard import BulkAssignWizard
    from clerkdesk.ui.bulk_runs import BulkRunsDialog
    from clerkdesk.ui.exceptions_report import ExceptionsReportDialog

    supervisor = staff.sign_in("super", "super-demo-pass")
    wizard = BulkAssignWizard(supervisor)
    grab(wizard, "bulk-assign-scope")
    click(wizard.button(QWizard.WizardButton.NextButton))
    grab(wizard, "bulk-assign-rules")
    click(wizard.button(QWizard.WizardButton.NextButton))
    wait_until(lambda: wizard.preview is not None, "the bulk assign dry run")
    grab(wizard, "bulk-assign-preview")
    answer_next_modal(QMessageBox.StandardButton.Yes)  # "Assign 2,569 logins now?"
    click(wizard.button(QWizard.WizardButton.CommitButton))
    wait_until(lambda: wizard.currentId() == wizard.pageIds()[-1],  # the finish page
               "the bulk assign run to finish", timeout=120)
    grab(wizard, "bulk-assign-finish")
    wizard.done(0)
    run = bulk_assign.recent_runs(supervisor)[0]
    report = ExceptionsReportDialog.for_run(supervisor, run)
    grab(report, "bulk-assign-exceptions")
    exceptions_pdf(report.html(), "bulk-assign-exceptions-pdf")
    report.done(0)
    runs = BulkRunsDialog(supervisor)
    grab(runs, "bulk-assign-runs")
    runs.done(0)


def exceptions_pdf(html: str, name: str) -> None:
    """The report's PDF as the desk saves it, its first page as name.png (poppler's pdftoppm)."""
    from PySide6.QtGui import QImage

    from clerkdesk.ui.report_document import write_pdf

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print(f"  {name}.png skipped: pdftoppm is not installed (apt-get install poppler-utils)")
        return
    pdf = Path(os.environ["CLERKDESK_DATA_DIR"]) / f"{name}.pdf"
    write_pdf(html, pdf)
    path = OUTPUT / f"{name}.png"
    subprocess.run([pdftoppm, "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(path.with_suffix(""))], check=True)
    image = QImage(str(path))
    print(f"  {path.relative_to(ROOT)}  {image.width()}×{image.height()}  (PDF page 1, 70 dpi)")


MAILING_BODY = ("Dear <FirstName>,\n\nOur online services are live! Sign in at <PortalLink> "
                "with\n\nUser name: <WebID>\nPIN: <WebPin>\n\nYou will be asked to choose a new "
                "password the first time you sign in.\n\nThe Front Desk")


def mailing_wizard_screens() -> None:
    """Communications → New mailing as the demo supervisor: each page of the wizard, a
    preview, the warnings before processing and the queued rehearsal (the demo captures its
    mail, so nothing leaves and no PIN is minted)."""
    from PySide6.QtWidgets import QMessageBox, QWizard

    from clerkdesk.services import staff
    from clerkdesk.ui.mailing_wizard import DONE, MailingWizard

    supervisor = staff.sign_in("super", "super-demo-pass")
    wizard = MailingWizard(supervisor)
    targeting = wizard.targeting_page
    settle(wizard)  # shown: the first page starts counting
    wait_until(lambda: targeting.total is not None and targeting.records.rowCount() > 0,
               "the mailing count and the first records")
    grab(wizard, "mailing-wizard-targeting")
    click(wizard.button(QWizard.WizardButton.NextButton))
    message = wizard.message_page
    type_into(message.subject, "Your web login for our online services")
    type_into(message.cc, "frontdesk@example.org")
    message.body.setPlainText(MAILING_BODY)
    click(message.preview_button)
    grab(wizard, "mailing-wizard-message")
    click(wizard.button(QWizard.WizardButton.NextButton))
    grab(wizard, "mailing-wizard-sequence")
    click(wizard.button(QWizard.WizardButton.NextButton))
    type_into(wizard.history_page.description, "Web user name and password, go-live")
    grab(wizard, "mailing-wizard-history")
    click(wizard.button(QWizard.WizardButton.NextButton))
    wait_until(lambda: wizard.ready_page.readiness is not None,
               "the warnings before processing", timeout=120)
    grab(wizard, "mailing-wizard-ready")
    answer_next_modal(QMessageBox.StandardButton.Yes)  # "Queue N messages … as a REHEARSAL?"
    click(wizard.button(QWizard.WizardButton.CommitButton))
    wait_until(lambda: wizard.currentId() == DONE, "the mailing to be queued", timeout=120)
    grab(wizard, "mailing-wizard-done")
    wizard.done(0)


def mailings_screens() -> None:
    """Communications as the demo supervisor: the sending window running, paused and finished,
    the Mailings list with a paused mailing and its cancel question, and a household's
    Communication History tab. The demo is in capture mode: nothing leaves the machine."""
    from clerkdesk.services import household_search, mailings, staff, web_accounts
    from clerkdesk.services import settings as site_settings
    from clerkdesk.services.jobs import CancelToken
    from clerkdesk.services.mailing_drafts import MessageDraft
    from clerkdesk.services.mailing_targets import Targeting
    from clerkdesk.services.mailings import MailingDraft, QueueMailing
    from clerkdesk.ui.household_maintenance import HouseholdMaintenanceWindow
    from clerkdesk.ui.mailings_window import MailingsWindow
    from clerkdesk.ui.sending_window import SendingWindow

    supervisor = staff.sign_in("super", "super-demo-pass")
    admin = staff.sign_in("admin", "admin-demo-pass")

    def queue(description: str, targeting: Targeting, message: MessageDraft,
              category: str, teaser: MessageDraft | None = None) -> int:
        draft = MailingDraft(description, targeting, message, category, teaser=teaser)
        return QueueMailing(supervisor, draft).run(lambda progress: None,
                                                   CancelToken()).mailing_id

    household_id = household_search.search(supervisor, "obri").rows[0].id
    if web_accounts.account_for(supervisor, household_id) is None:
        web_accounts.create_account(supervisor, household_id, "obrien.family")
    queue("Web user and password", Targeting(household_ids=(household_id,)),
          MessageDraft("Your portal login", "Dear <FirstName>,\nUser name: <WebID>\n"
                       "PIN: <WebPin>\nSign in at <PortalLink>\n"), "WEB",
          teaser=MessageDraft("Online services are coming", "Dear <FirstName>, watch your "
                              "inbox."))
    paused = queue("Pool reopening", Targeting(pass_types=("CY-MST",)),
                   MessageDraft("The pool reopens", "Dear <FirstName>, the pool reopens on "
                                "Monday."), "NEWS")
    mailings.pause(supervisor, paused)
    queue("Online payments are coming", Targeting(pass_types=("CY-CHILD",)),
          MessageDraft("Online payments are coming", "Dear <FirstName>,\nFrom December you "
                       "can book and pay online at <PortalLink>.\n"), "MISC")

    site_settings.set_setting(admin, "email.rate_per_minute", 600)  # slow enough to watch
    sender = SendingWindow(supervisor)
    settle(sender)
    sender.start()
    wait_until(lambda: not sender.running or sender.numbers["sent"].text() not in
               ("—", *map(str, range(40))), "the sender to send 40 messages")
    grab(sender, "mailings-sending")
    sender.pause()
    wait_until(lambda: not sender.running, "the sender to pause")
    grab(sender, "mailings-sending-paused")
    site_settings.set_setting(admin, "email.rate_per_minute", 0)
    sender.start()
    wait_until(lambda: not sender.running, "the sender to finish", timeout=120)
    grab(sender, "mailings-sending-finished")
    sender.close()

    window = MailingsWindow(supervisor)
    window.table.selectRow([view.id for view in window.model.views].index(paused))
    grab(window, "mailings-list")
    grab_next_modal("mailings-cancel-question")  # answered No: the mailing stays paused
    window.cancel_mailing()
    window.close()

    maintenance = HouseholdMaintenanceWindow(supervisor)
    maintenance.resize(1100, 720)
    settle(maintenance)
    maintenance.open_household(household_id)
    history = maintenance.editor.history
    maintenance.editor.tabs.setCurrentWidget(history)
    wait_until(lambda: history.tree.topLevelItemCount() > 0, "the household's history")
    grab(maintenance, "household-communication-history")
    maintenance.close()


def mailing_report_screens() -> None:
    """Bulk email reports as the demo supervisor: a rehearsal mailing to 300 households, the
    records it cannot reach by email (window and PDF), the letters' confirmation, a letter
    page (with a sample in place of the PIN: a screenshot never shows a real one) and the
    mailing summary (window and PDF)."""
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter

    from clerkdesk.services import letters, mailing_reports, outbox, staff, web_accounts
    from clerkdesk.services.email_delivery import mailer_from_settings
    from clerkdesk.services.jobs import CancelToken
    from clerkdesk.services.mailing_drafts import MessageDraft
    from clerkdesk.services.mailing_targets import Targeting
    from clerkdesk.services.mailings import MailingDraft, QueueMailing
    from clerkdesk.ui.mailing_reports import (
        open_mailing_summary,
        open_no_email_report,
        print_letters_on,
    )

    supervisor = staff.sign_in("super", "super-demo-pass")
    message = MessageDraft("Your portal login", "Dear <FirstName>,\nUser name: <WebID>\n"
                           "PIN: <WebPin>\nSign in at <PortalLink>\n")
    draft = MailingDraft("Web user and password", Targeting(household_ids=tuple(range(1, 301))),
                         message, rehearsal=True)
    mailing_id = QueueMailing(supervisor, draft).run(lambda p: None, CancelToken()).mailing_id
    outbox.OutboxSender(mailer_from_settings()).run(lambda p: None, CancelToken())
    for row in mailing_reports.no_email_rows_for_mailing(supervisor, mailing_id)[:6]:
        # the counter's way: a login for a household that has no email, for a letter
        web_accounts.create_account(supervisor, row.household_id, f"demo{row.client_id}")
    report = open_no_email_report(None, supervisor, mailing_id)
    grab(report, "mailing-reports-no-email")
    exceptions_pdf(report.html(), "mailing-reports-no-email-pdf")
    plan = letters.prepare_letters(supervisor, [r.household_id for r in report.shown_rows()])
    grab_next_modal("mailing-reports-letters-confirm")
    report._confirm_minting(plan)  # the grab closes it: nothing is minted
    report.close()
    sample = [letters.Letter(t.household, t.client_id, t.address_block, t.web_id, "123456",
                             "https://portal.example.org", True, "Front Desk")
              for t in plan.letters[:1]]  # a sample PIN: nothing is minted for a picture
    pdf = Path(os.environ["CLERKDESK_DATA_DIR"]) / "mailing-reports-letter.pdf"
    writer = QPdfWriter(str(pdf))
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(20, 20, 20, 20), QPageLayout.Unit.Millimeter))
    print_letters_on(writer, letters.letter_html(sample))
    del writer  # closes the file
    if shutil.which("pdftoppm"):
        subprocess.run([shutil.which("pdftoppm"), "-png", "-r", "70", "-singlefile", str(pdf),
                        str(OUTPUT / "mailing-reports-letter-pdf")], check=True)
        print("  mailing-reports-letter-pdf.png  (a sample letter, 70 dpi)")
    summary = open_mailing_summary(None, supervisor, mailing_id)
    grab(summary, "mailing-reports-summary")
    exceptions_pdf(mailing_reports.summary_html(summary.report), "mailing-reports-summary-pdf")
    summary.close()


def portal_accounts_screens() -> None:
    """Web Utilities → Portal Accounts as the demo supervisor, after the bulk assign gave most
    households a login: the list, a search under a filter, the Edit email dialog, the
    create-password question and the shown-once dialog (its password replaced by a made-up
    example before the grab: no real credential in a picture), and the delete question."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from clerkdesk.services import staff
    from clerkdesk.ui.portal_accounts import PortalAccountsWindow, ShownOnceDialog

    supervisor = staff.sign_in("super", "super-demo-pass")
    window = PortalAccountsWindow(supervisor)
    settle(window)
    wait_until(lambda: not window.model.loading
               and window.count.text() not in ("", "Counting…", "Searching…"), "the list")
    window.results.selectRow(0)
    grab(window, "portal-accounts")
    window.filter_box.setCurrentIndex(window.filter_box.findData("must-change"))
    type_into(window.search_box, "mar")
    wait_until(lambda: window.model.filter.text == "mar" and not window.model.loading
               and window.count.text() not in ("", "Counting…", "Searching…"), "the search")
    window.results.selectRow(1)
    grab(window, "portal-accounts-search")
    grab_next_modal("portal-accounts-edit-email")
    click(window.buttons["edit_email"])
    shown = []

    def shoot_password() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ShownOnceDialog):
            QTimer.singleShot(20, shoot_password)
            return
        dialog.password.setText("Example-Only-4821")  # never a real one in a picture
        grab(dialog, "portal-accounts-password-shown-once")
        shown.append(True)
        dialog.close_button.click()

    def answer_question() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer_question)
            return
        grab(box, "portal-accounts-create-password-question")
        QTimer.singleShot(0, shoot_password)
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, answer_question)
    click(window.buttons["create_password"])
    wait_until(lambda: shown, "the shown-once password dialog")
    grab_next_modal("portal-accounts-delete-question")
    click(window.buttons["delete_account"])
    window.tabs.setCurrentIndex(1)
    grab(window, "portal-accounts-sign-up-reviews")
    window.close()


def import_screens() -> None:
    """File → Import portal users as the demo supervisor: each page of the wizard through a
    real import of a small file made from demo households (plain passwords, old bcrypt
    hashes, no password, and a few bad rows: a bad email, an unknown client ID, a duplicate
    row and a formula cell, which is imported as text)."""
    from PySide6.QtWidgets import QMessageBox, QWizard

    from clerkdesk.services import staff
    from clerkdesk.ui.import_wizard import DONE, ImportWizard

    path = Path(os.environ["CLERKDESK_DATA_DIR"]) / "olr-users.csv"
    write_import_demo_file(path)
    wizard = ImportWizard(staff.sign_in("super", "super-demo-pass"))
    wizard.resize(980, 680)
    wizard.file_page.path.setText(str(path))
    grab(wizard, "import-file")
    click(wizard.button(QWizard.WizardButton.NextButton))
    grab(wizard, "import-columns")
    click(wizard.button(QWizard.WizardButton.NextButton))
    wait_until(lambda: wizard.check is not None, "the import check")
    grab(wizard, "import-check")
    click(wizard.button(QWizard.WizardButton.NextButton))
    grab(wizard, "import-mode")
    answer_next_modal(QMessageBox.StandardButton.Yes)  # "Import 40 web accounts now?"
    click(wizard.button(QWizard.WizardButton.CommitButton))
    wait_until(lambda: wizard.currentId() == DONE, "the import to finish", timeout=120)
    grab(wizard, "import-done")
    wizard.done(0)


def write_import_demo_file(path: Path) -> None:
    """An old portal's export of 40 demo households, with four bad rows at the end."""
    import bcrypt

    from clerkdesk.models import Household, Member, WebAccount

    people = list(Member.select(Household.client_id, Member.first_name, Member.last_name,
                                Member.phone, Household.email).join(Household)
                  .where(Member.is_primary & Household.id.not_in(
                      WebAccount.select(WebAccount.household)))
                  .order_by(Household.id).limit(40).tuples())
    old_hash = bcrypt.hashpw(b"Rex-1987", bcrypt.gensalt(4)).decode()
    lines = ["Customer ID,Web Login,Email Address,Phone,First Name,Last Name,Password,"
             "Password Hash"]
    for number, (client, first, last, phone, email) in enumerate(people):
        password = f"olr-pw-{number}" if number % 3 == 0 else ""
        hashed = old_hash if number % 3 == 1 else ""
        login = f"{first[:1]}{last}{number}".lower().replace(" ", "")
        lines.append(f"{client},{login},{email},{phone},{first},{last},{password},{hashed}")
    lines += [f"{people[0][0]},=cmd|'/c calc'!A0,,,,,,", "99999999,ghost,ghost@example.org,,,,,",
              f"{people[5][0]},another,not-an-email,,,,,", lines[3]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def sign_up_review_screens() -> None:
    """Portal Accounts → Sign-up reviews as the demo clerk: four portal sign-ups that look like
    a household on file (a clear match on a household without a web login, the same name and
    birth date, a shared email, the same last name and postal code), the side-by-side
    comparison, the link confirmation, the list after linking, and the refuse dialog."""
    from datetime import date

    from peewee import fn
    from PySide6.QtWidgets import QMessageBox

    from clerkdesk.models import Household, Member, WebAccount
    from clerkdesk.services import portal, staff
    from clerkdesk.ui.sign_up_reviews import SignUpReviewPanel

    password = "Heron-Pond-Lantern-7"
    without_login = ~fn.EXISTS(WebAccount.select().where(WebAccount.household == Household.id))
    homes = [home for home in Household.select().where(
        Household.email.contains("@example.") & without_login).order_by(Household.id)
        .limit(40) if " " not in home.email]
    clear, namesake, shared, neighbour = homes[3], homes[7], homes[11], homes[15]
    people = {home.id: Member.get((Member.household == home.id) & Member.is_primary)
              for home in (clear, namesake)}
    for fields in (
            (people[clear.id].first_name, people[clear.id].last_name, clear.email, "", "",
             people[clear.id].birth_date, "first.login"),
            (people[namesake.id].first_name, people[namesake.id].last_name,
             "someone.new@example.net", "", "", people[namesake.id].birth_date, "namesake"),
            ("Jordan", "Ellis-Park", shared.email, "", "", date(1990, 4, 12), "jordan.ep"),
            ("Priya", neighbour.name, "priya@example.net", "", neighbour.postal_code,
             date(1988, 11, 3), "priya.d")):
        portal.sign_up(*fields, password, password)
    clerk = staff.sign_in("clerk", "clerk-demo-pass")
    panel = SignUpReviewPanel(clerk)
    panel.setWindowTitle("Portal Accounts — Sign-up reviews")
    panel.resize(1240, 640)
    grab(panel, "sign-up-reviews")
    panel.table.selectRow(1)
    grab(panel, "sign-up-review-unsure")
    panel.table.selectRow(0)
    grab_next_modal("sign-up-review-link-confirm")  # closed unanswered: nothing happens
    click(panel.link_button)
    answer_next_modal(QMessageBox.StandardButton.Yes)
    click(panel.link_button)
    wait_until(lambda: panel.model.rowCount() == 3, "the request to be linked")
    grab(panel, "sign-up-reviews-after-link")
    grab_next_modal("sign-up-review-refuse")
    click(panel.refuse_button)
    panel.close()


def account_link_screens() -> None:
    """Portal account actions that send something, as the demo clerk: the sign-in link and
    welcome questions, the sign-up link dialog (copied, a refused address, emailed), and Send
    Customer Portal Credentials for a household login and for a contact's phone-number login
    (the demo captures its mail, so nothing leaves)."""
    from clerkdesk.services import contact_logins, households, staff, web_accounts
    from clerkdesk.services import settings as site_settings
    from clerkdesk.services.account_links import default_credentials_message
    from clerkdesk.ui import account_link_dialogs
    from clerkdesk.ui.account_link_dialogs import SendCredentialsDialog, SignUpLinkDialog

    clerk, admin = staff.sign_in("clerk", "clerk-demo-pass"), staff.sign_in("admin",
                                                                            "admin-demo-pass")
    site_settings.set_setting(admin, "accounts.login_id_is_phone", True)  # seed 004
    chosen, invited = None, None  # a household to act on, one to invite
    for client_id in map(str, range(1, 500)):
        household_id = households.household_id_for_client(clerk, client_id)
        detail = households.get_household(clerk, household_id)
        if not detail.data.email or not detail.data.members:
            continue
        if invited is None and web_accounts.account_for(clerk, household_id) is None:
            invited = household_id
        elif chosen is None and contact_logins.phone_login_id(detail.data.members[0].phone):
            chosen = (household_id, detail)
        if chosen and invited:
            break
    household_id, detail = chosen
    account = web_accounts.account_for(clerk, household_id) or web_accounts.create_account(
        clerk, household_id, f"{detail.data.name.lower()}{detail.data.client_id}")

    grab_next_modal("account-links-login-link-confirm")
    account_link_dialogs.open_login_link(None, clerk, account.id)
    grab_next_modal("account-links-welcome-confirm")
    account_link_dialogs.resend_welcome(None, clerk, account.id)

    invited_data = households.get_household(clerk, invited).data
    dialog = SignUpLinkDialog(clerk, invited, f"{invited_data.name} (client "
                              f"{invited_data.client_id})", "")
    settle(dialog)
    wait_until(lambda: dialog.link_field.text(), "the sign-up link")
    click(dialog.copy_button)
    grab(dialog, "account-links-sign-up-copied")
    type_into(dialog.email, "not an address")
    click(dialog.send_button)
    wait_until(dialog.problem.isVisible, "the refused address")
    grab(dialog, "account-links-sign-up-bad-address")
    dialog.email.clear()
    type_into(dialog.email, "family@example.org")
    click(dialog.send_button)
    wait_until(dialog.status.isVisible, "the sign-up email")
    grab(dialog, "account-links-sign-up-emailed")
    dialog.done(0)

    dialog = SendCredentialsDialog(clerk, account, default_credentials_message(clerk, account.id),
                                   f"the {detail.data.name} household")
    grab(dialog, "account-links-credentials")
    dialog.to.clear()
    type_into(dialog.to, "family@@example")
    click(dialog.send_button)
    wait_until(dialog.problem.isVisible, "the refused address")
    grab(dialog, "account-links-credentials-refused")
    dialog.done(0)

    member = detail.data.members[0]
    phone_login = web_accounts.account_for(clerk, household_id, member.id) or \
        contact_logins.create_contact_login(clerk, member.id)
    dialog = SendCredentialsDialog(clerk, phone_login,
                                   default_credentials_message(clerk, phone_login.id),
                                   f"{member.first_name} {member.last_name}")
    grab(dialog, "account-links-credentials-phone-login")
    dialog.done(0)  # not sent: a picture needs no PIN minted
    site_settings.set_setting(admin, "accounts.login_id_is_phone", False)


if __name__ == "__main__":
    sys.exit(main())
