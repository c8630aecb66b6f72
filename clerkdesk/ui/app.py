"""Starting the desktop program: open the database, first run, sign in, main window."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from clerkdesk.services import database, demo, staff
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.logs import configure_logging

from .job_dialog import run_job
from .main_window import MainWindow
from .sign_in import FirstRunDialog, SignInDialog

STYLESHEET = Path(__file__).resolve().parents[2] / "resources" / "clerkdesk.qss"


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clerkdesk", description="Open the ClerkDesk window.")
    parser.add_argument("--database", metavar="URL", help="sqlite:///file or postgresql://…")
    parser.add_argument("--demo", action="store_true",
                        help="use the demo database (created with demo households on first use)")
    return parser.parse_args(list(argv))


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("ClerkDesk")
    app.setApplicationName("ClerkDesk")
    if STYLESHEET.exists():
        app.setStyleSheet(STYLESHEET.read_text(encoding="utf-8"))
    return app


class Desk:
    """The program's life: database, then sign-in, then the main window, until quit."""

    def __init__(self, url: str | None, demo_mode: bool) -> None:
        self.url = database.demo_url() if demo_mode and not url else url
        self.demo_mode = demo_mode
        self.window: MainWindow | None = None
        self.database_label = ""

    def open(self) -> bool:
        try:
            info = database.open_database(self.url)
        except ClerkDeskError as error:
            QMessageBox.critical(None, "ClerkDesk cannot open its database", error.message)
            return False
        kind = "SQLite" if info.kind == "sqlite" else "PostgreSQL"
        self.database_label = f"{kind} · {info.location}"
        if self.demo_mode and demo.needs_demo_data():
            result = run_job(demo.start_demo(None, demo.DEMO_HOUSEHOLDS))
            if result is None:
                return False
        return True

    def sign_in(self) -> bool:
        """Show the first-run or sign-in dialog, then the main window; False when cancelled."""
        if staff.needs_first_administrator():
            dialog = FirstRunDialog()
        else:
            dialog = SignInDialog(self.database_label, demo=self.demo_mode)
        if not dialog.exec() or dialog.session is None:
            return False
        self.window = MainWindow(dialog.session, self.database_label)
        self.window.signed_out.connect(self._after_sign_out)
        self.window.show()
        return True

    def _after_sign_out(self) -> None:
        if self.window is not None:
            self.window.deleteLater()
            self.window = None
        if not self.sign_in():
            QApplication.instance().quit()


def run_gui(argv: Sequence[str]) -> int:
    options = parse_arguments(argv)
    app = make_application()
    configure_logging()
    desk = Desk(options.database, options.demo)
    if not desk.open() or not desk.sign_in():
        database.close_database()
        return 1
    status = app.exec()
    database.close_database()
    return status
