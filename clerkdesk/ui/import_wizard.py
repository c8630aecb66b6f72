"""File → Import portal users: choose the file, map its columns, check it (preview and
exceptions), choose the mode, import with progress and Cancel, and the result with the advice
to delete a file that held plain passwords."""

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from clerkdesk.services import imports
from clerkdesk.services.errors import ClerkDeskError, PermissionDenied
from clerkdesk.services.import_rows import ALWAYS_REQUIRED, FIELDS, SECRET_FIELDS, shown
from clerkdesk.services.imports import (
    ColumnMapping,
    ImportCheck,
    ImportFile,
    ImportOptions,
    ImportResult,
    RowProblem,
)
from clerkdesk.services.jobs import Cancelled, CancelToken, Progress
from clerkdesk.services.permissions import LABELS, Permission, has_permission
from clerkdesk.services.session import StaffSession

from .background import run_in_background
from .exceptions_report import plain_table
from .forms import small_note
from .job_dialog import JobRunPage
from .messages import error_text, show_error
from .table_model import RowTableModel

TITLE = "Import portal users"
NOT_IN_FILE = "— not in the file —"
FILE, MAP, CHECK, MODE, RUN, DONE = range(6)
OPTIONAL_REQUIRABLE = ("email", "phone", "first_name", "last_name")


def open_import_wizard(parent: QWidget | None, session: StaffSession) -> "ImportWizard | None":
    """Show the wizard; a role without the import device is told so and gets None."""
    if not has_permission(session, Permission.DATA_IMPORT):
        show_error(parent, TITLE, PermissionDenied(Permission.DATA_IMPORT.value,
                                                   LABELS[Permission.DATA_IMPORT]))
        return None
    wizard = ImportWizard(session, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard


class ImportWizard(QWizard):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.source: ImportFile | None = None
        self.check: ImportCheck | None = None
        self.result: ImportResult | None = None
        self.setWindowTitle(TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setMinimumSize(860, 600)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.file_page, self.map_page = FilePage(self), MapPage(self)
        self.check_page, self.mode_page = CheckPage(self), ModePage(self)
        self.run_page, self.done_page = RunPage(self), DonePage(self)
        for page in (self.file_page, self.map_page, self.check_page, self.mode_page,
                     self.run_page, self.done_page):
            self.addPage(page)

    def reject(self) -> None:
        if self.run_page.running:
            self.run_page.cancel()  # the page moves on once the job has stopped
            return
        super().reject()


# --- 1. the file --------------------------------------------------------------------------------

class FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Choose the file")
        self.setSubTitle("A CSV file exported from the old portal: one row per login, the "
                         "column names in the first row.")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("e.g. C:\\Users\\frontdesk\\Downloads\\olr-users.csv")
        self.path.textChanged.connect(self.completeChanged)
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path)
        row.addWidget(browse)
        layout.addWidget(QLabel("&File:", buddy=self.path))
        layout.addLayout(row)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        layout.addWidget(small_note(
            "Needed in each row: the household's client ID and the user name. Optional: email, "
            "phone, first and last name, and the old password, either as plain text (ClerkDesk "
            "stores only its hash) or as the old system's bcrypt hash ($2a$, $2b$ or $2y$; the "
            "household keeps signing in with its old password).\n\nThe file is read as UTF-8, "
            "UTF-16 or Windows-1252; nothing is written until the last step."))
        layout.addStretch()

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Choose the file to import", "",
                                              "CSV files (*.csv *.txt);;All files (*)")
        if name:
            self.path.setText(name)

    def isComplete(self) -> bool:
        return bool(self.path.text().strip())

    def validatePage(self) -> bool:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.wizard_.source = imports.read_file(self.wizard_.session,
                                                    Path(self.path.text().strip()))
        except ClerkDeskError as error:
            self.problem.setText(error_text(error))
            self.problem.show()
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.problem.hide()
        return True


# --- 2. the columns -----------------------------------------------------------------------------

class MapPage(QWizardPage):
    """One combo per field, guessed from the header names, with the first row's value."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Which column holds what")
        self.setSubTitle("Guessed from the column names; correct any that are wrong. Each "
                         "column fills at most one field.")
        layout = QVBoxLayout(self)
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        layout.addWidget(self.file_label)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        for column, heading in enumerate(("Field", "Column in the file", "Every row must have "
                                          "it", "First row")):
            label = QLabel(f"<b>{heading}</b>")
            grid.addWidget(label, 0, column)
        self.combos: dict[str, QComboBox] = {}
        self.required: dict[str, QCheckBox] = {}
        self.examples: dict[str, QLabel] = {}
        for line, (name, label) in enumerate(FIELDS.items(), start=1):
            self._field_row(grid, line, name, label)
        grid.setColumnStretch(3, 1)
        layout.addLayout(grid)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        layout.addStretch()

    def _field_row(self, grid: QGridLayout, line: int, name: str, label: str) -> None:
        combo = QComboBox()
        combo.setMinimumWidth(220)
        combo.currentIndexChanged.connect(self._changed)
        grid.addWidget(QLabel(f"{label}:", buddy=combo), line, 0)
        grid.addWidget(combo, line, 1)
        if name in ALWAYS_REQUIRED or name in OPTIONAL_REQUIRABLE:
            box = QCheckBox()
            box.setChecked(name in ALWAYS_REQUIRED)
            box.setEnabled(name not in ALWAYS_REQUIRED)
            box.setToolTip("Rows without it are listed as exceptions.")
            box.toggled.connect(self._changed)
            grid.addWidget(box, line, 2, alignment=Qt.AlignmentFlag.AlignCenter)
            self.required[name] = box
        example = QLabel()
        example.setObjectName("note")
        grid.addWidget(example, line, 3)
        self.combos[name], self.examples[name] = combo, example

    def initializePage(self) -> None:
        source = self.wizard_.source
        self.file_label.setText(f"<b>{shown(source.name)}</b>: {len(source.rows):,} rows, "
                                f"{len(source.headers)} columns, read as {source.encoding}.")
        guessed = imports.guess_mapping(source.headers)
        for name, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NOT_IN_FILE, "")
            for header in source.headers:
                combo.addItem(shown(header), header)
            combo.setCurrentIndex(max(0, combo.findData(guessed.get(name, ""))))
            combo.blockSignals(False)
        self._changed()

    def mapping(self) -> ColumnMapping:
        columns = {name: combo.currentData() for name, combo in self.combos.items()
                   if combo.currentData()}
        required = frozenset(name for name, box in self.required.items() if box.isChecked())
        return ColumnMapping(columns, required - ALWAYS_REQUIRED)

    def _changed(self) -> None:
        source = self.wizard_.source
        if source is None:
            return
        first = source.rows[0]
        for name, combo in self.combos.items():
            header = combo.currentData()
            value = first[source.headers.index(header)] if header and \
                source.headers.index(header) < len(first) else ""
            hidden = "(hidden: never shown)" if name in SECRET_FIELDS and value else ""
            self.examples[name].setText(hidden or (f"e.g. “{shown(value)}”" if value else ""))
        self.problem.setText(imports.mapping_problems(self.mapping(), source.headers))
        self.problem.setVisible(bool(self.problem.text()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.wizard_.source is not None and not self.problem.text()


# --- 3. the check: preview and exceptions -------------------------------------------------------

class SampleModel(RowTableModel):
    headings = ("Row", "Client ID", "User name", "Email", "Phone", "Name", "Password")


class ProblemModel(RowTableModel):
    headings = imports.EXCEPTION_HEADERS


class CheckPage(QWizardPage):
    """Every row checked as the import would write it; nothing is written here."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Preview and check (nothing has been imported yet)")
        self.setSubTitle("The first rows as they will be imported, and every row that cannot "
                         "be, with the reason.")
        layout = QVBoxLayout(self)
        self.progress = QProgressBar()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.sample = SampleModel()
        self.sample_table = self._table(self.sample, (45, 75, 130, 220, 120, 150))
        self.problems = ProblemModel()
        self.problem_table = self._table(self.problems, (45, 120, 200), lines=2)
        self.problem_heading = QLabel()
        self.save_button = QPushButton("&Save exceptions as CSV…")
        self.save_button.clicked.connect(self._save_exceptions)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.sample_table, 2)
        row = QHBoxLayout()
        row.addWidget(self.problem_heading)
        row.addStretch()
        row.addWidget(self.save_button)
        layout.addLayout(row)
        layout.addWidget(self.problem_table, 3)
        self.token: CancelToken | None = None

    def _table(self, model: RowTableModel, widths: tuple[int, ...], lines: int = 1
               ) -> QTableView:
        table = QTableView()
        table.setModel(model)
        table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        plain_table(table, widths, lines)
        return table

    def initializePage(self) -> None:
        self.wizard_.check = None
        _fill(self.sample, [])
        _fill(self.problems, [])
        self.summary.setText("Checking every row…")
        self.problem_heading.setText("")
        self.save_button.setEnabled(False)
        self.progress.show()
        session, source = self.wizard_.session, self.wizard_.source
        mapping = self.wizard_.map_page.mapping()
        self.token = run_in_background(
            lambda report, cancel: imports.check_import(session, source, mapping, report,
                                                        cancel),
            self._checked, self._failed, self._progress)

    def cleanupPage(self) -> None:
        if self.token is not None:
            self.token.cancel()

    def _progress(self, progress: Progress) -> None:
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)

    def _checked(self, check: ImportCheck) -> None:
        self.token = None
        self.wizard_.check = check
        self.progress.hide()
        self.summary.setText(_check_summary(check))
        _fill(self.sample, [(s.row, s.client_id, s.username, s.email, s.phone, s.name,
                             _credential_text(s.credential)) for s in check.sample])
        _fill(self.problems, [(p.row, p.column, p.value, p.reason) for p in check.problems])
        self.problem_heading.setText(
            f"<b>Exceptions: {len(check.problems):,}</b> in {check.bad_rows:,} rows"
            if check.problems else "<b>No exceptions:</b> every row can be imported.")
        self.save_button.setEnabled(bool(check.problems))
        self.completeChanged.emit()

    def _failed(self, error: Exception) -> None:
        self.token = None
        self.progress.hide()
        if not isinstance(error, Cancelled):
            self.summary.setText(error_text(error))

    def _save_exceptions(self) -> None:
        save_exceptions(self, self.wizard_.check.problems)

    def isComplete(self) -> bool:
        return self.wizard_.check is not None


def _check_summary(check: ImportCheck) -> str:
    return (f"<b>{check.rows_read:,}</b> rows read: <b>{check.good_rows:,}</b> can be "
            f"imported, <b>{check.bad_rows:,}</b> have problems. Of those to import, "
            f"{check.with_password:,} bring a plain password (only its hash will be stored), "
            f"{check.with_old_hash:,} the old system's hash (the old password keeps working) "
            f"and {check.without_password:,} no password (they must choose one).")


def _credential_text(credential: str) -> str:
    return {"password": "plain (will be hashed)", "old hash": "old hash (kept)",
            "none": "none"}[credential]


def _fill(model: RowTableModel, rows: list[tuple]) -> None:
    model.beginResetModel()
    model.rows = rows
    model.endResetModel()


def save_exceptions(parent: QWidget, problems: list[RowProblem]) -> None:
    name, _ = QFileDialog.getSaveFileName(parent, "Save the exceptions as CSV",
                                          "import-exceptions.csv", "CSV files (*.csv)")
    if not name:
        return
    path = Path(name) if name.lower().endswith(".csv") else Path(name + ".csv")
    try:
        imports.write_exceptions_csv(problems, path)
    except ClerkDeskError as error:
        show_error(parent, TITLE, error)
        return
    QMessageBox.information(parent, TITLE, f"Saved {len(problems):,} exceptions to {path}.")


# --- 4. the mode ------------------------------------------------------------------------------

class ModePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("How to import")
        self.setSubTitle("Import writes the accounts; a cancelled all-or-nothing import "
                         "writes nothing.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Import")
        layout = QVBoxLayout(self)
        self.modes = QButtonGroup(self)
        self.all_or_nothing = QRadioButton("&All or nothing: import only if every row is "
                                           "fine")
        self.skip_bad = QRadioButton("&Skip the rows with problems and import the rest")
        for button in (self.all_or_nothing, self.skip_bad):
            self.modes.addButton(button)
            layout.addWidget(button)
        self.mode_note = small_note("")
        layout.addWidget(self.mode_note)
        self.send_links = QCheckBox("&Email the accounts without a password a link to choose "
                                    "one")
        layout.addSpacing(12)
        layout.addWidget(self.send_links)
        self.links_note = small_note("")
        layout.addWidget(self.links_note)
        layout.addStretch()
        self.modes.buttonToggled.connect(self._mode_changed)

    def initializePage(self) -> None:
        check = self.wizard_.check
        self.all_or_nothing.setChecked(not check.problems)
        self.skip_bad.setChecked(bool(check.problems))
        can_email = has_permission(self.wizard_.session, Permission.BULK_EMAIL)
        self.send_links.setEnabled(can_email and check.without_password > 0)
        self.send_links.setChecked(False)
        self.links_note.setText(
            f"{check.without_password:,} accounts have no password. Without the email they "
            "must use “Forgot password” or get one at the desk; either way they choose their "
            "own at first sign-in." + ("" if can_email else " (Sending the email needs the "
                                                            "bulk email permission.)"))
        self._mode_changed()

    def _mode_changed(self) -> None:
        check = self.wizard_.check
        if check is None:
            return
        if self.all_or_nothing.isChecked() and check.problems:
            self.mode_note.setText(f"{check.bad_rows:,} rows have problems, so nothing would "
                                   "be imported. Fix the file and check it again, or skip "
                                   "them.")
            self.mode_note.setObjectName("problem")
        else:
            count = check.good_rows
            self.mode_note.setText(f"{count:,} web accounts will be imported"
                                   + (f"; {check.bad_rows:,} rows skipped." if
                                      self.skip_bad.isChecked() and check.bad_rows else "."))
            self.mode_note.setObjectName("note")
        self.mode_note.style().polish(self.mode_note)
        self.completeChanged.emit()

    def options(self) -> ImportOptions:
        return ImportOptions(skip_bad_rows=self.skip_bad.isChecked(),
                             send_set_password=self.send_links.isChecked())

    def isComplete(self) -> bool:
        check = self.wizard_.check
        return check is not None and check.good_rows > 0 and (
            self.skip_bad.isChecked() or not check.problems)

    def validatePage(self) -> bool:
        count = self.wizard_.check.good_rows
        answer = QMessageBox.question(self, TITLE, f"Import {count:,} web accounts now?")
        return answer == QMessageBox.StandardButton.Yes


# --- 5. the run, 6. the result ------------------------------------------------------------------

class RunPage(JobRunPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__("Importing", "Passwords are hashed on every processor core; this can "
                         "take a while for a large file.", "&Cancel the import")
        self.wizard_ = wizard
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.cancel_button, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addStretch()

    def initializePage(self) -> None:
        try:
            job = imports.start_import(self.wizard_.session, self.wizard_.check,
                                       self.wizard_.mode_page.options())
        except ClerkDeskError as error:
            self.status.setText(error_text(error))
            self.cancel_button.hide()
            return
        self.launch(job)

    def finished(self, result: ImportResult) -> None:
        self.wizard_.source = None  # the file's cells (its passwords too) are not needed now
        self.wizard_.result = result
        self.completeChanged.emit()
        self.wizard_.next()

    def failed(self, error: Exception) -> None:
        self.wizard_.source = None
        self.cancel_button.hide()
        self.status.setText(error_text(error))
        if self.wizard_.check.file_has_plain_passwords:
            self.status.setText(error_text(error) + "\n\nThe file holds plain passwords: "
                                "delete it once you no longer need it.")

    def isComplete(self) -> bool:
        return self.wizard_.result is not None


class DonePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Done")
        self.setSubTitle("The households can sign in to the portal with their imported user "
                         "names.")
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.advice = QLabel()
        self.advice.setObjectName("problem")
        self.advice.setWordWrap(True)
        self.advice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("&Save exceptions as CSV…")
        self.save_button.clicked.connect(self._save)
        layout.addWidget(self.summary)
        layout.addWidget(self.advice)
        layout.addWidget(self.save_button, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addStretch()

    def initializePage(self) -> None:
        result = self.wizard_.result
        self.summary.setText(result_html(result))
        path = self.wizard_.file_page.path.text().strip()
        self.advice.setText(f"<b>Delete the file now.</b> {html.escape(result.advice)}"
                            f"<br>The file: {html.escape(path)}" if result.advice else "")
        self.advice.setVisible(bool(result.advice))
        self.save_button.setVisible(bool(self._problems()))

    def _problems(self) -> list[RowProblem]:
        return self.wizard_.check.problems + self.wizard_.result.problems

    def _save(self) -> None:
        save_exceptions(self, self._problems())


def result_html(result: ImportResult) -> str:
    skipped = result.skipped + len(result.problems)
    lines = [f"{result.with_password:,} with their old password, now stored only as a hash",
             f"{result.with_old_hash:,} with the old system's hash: their old password keeps "
             "working", f"{result.without_password:,} without a password: they choose one "
             "(Forgot password, or at the desk)"]
    if result.set_password_sent or result.set_password_unsent:
        lines.append(f"set-password emails: {result.set_password_sent:,} sent, "
                     f"{result.set_password_unsent:,} not sent (no address, or refused)")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (f"<b>{result.imported:,} web accounts imported</b> from "
            f"{html.escape(result.file_name)}"
            + (f" ({skipped:,} rows with problems skipped)" if skipped else "")
            + f":<ul>{items}</ul>")
