"""Web Utilities → Bulk Web ID/PIN Assign: scope, rules, a dry-run preview, the run itself
(in the background, with progress, ETA and Cancel) and the finish page with the exceptions."""


from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from clerkdesk.services import bulk_assign, bulk_targets, bulk_undo
from clerkdesk.services.bulk_assign import AssignOptions, Preview, RunView
from clerkdesk.services.bulk_report import rows_from_decisions
from clerkdesk.services.bulk_targets import Scope
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import Cancelled, CancelToken, Progress
from clerkdesk.services.session import StaffSession
from clerkdesk.services.username_rules import NameParts, RuleProblem, compile_rule, make_username

from .background import run_in_background
from .exceptions_report import ExceptionsReportDialog, plain_table
from .forms import small_note
from .job_dialog import JobRunPage
from .messages import error_text, show_error
from .table_model import RowTableModel

USERNAME_RULES = (("WebReg: first initial, 4 letters of the last name, last 3 of the client ID",
                   "webreg"), ("Email address", "email"), ("Client ID", "client-id"),
                  ("first.last", "first.last"), ("Custom pattern", ""))
EXAMPLE = NameParts("Siobhán", "O'Brien", "0012345", "siobhan@example.org", "3035550147",
                    "80302", "19800517")


class BulkAssignWizard(QWizard):
    def __init__(self, session: StaffSession, parent: QWidget | None = None, *,
                 retry_of: int | None = None, resume: RunView | None = None) -> None:
        super().__init__(parent)
        self.session, self.retry_of, self.resume = session, retry_of, resume
        self.preview: Preview | None = None
        self.finished_run: RunView | None = None
        self.setWindowTitle("Bulk Web ID/PIN Assign")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setMinimumSize(760, 560)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.scope_page, self.rules_page = ScopePage(self), RulesPage(self)
        self.preview_page, self.run_page = PreviewPage(self), RunPage(self)
        for page in (self.scope_page, self.rules_page, self.preview_page, self.run_page,
                     FinishPage(self)):
            self.addPage(page)
        if resume is not None:
            self.setStartId(3)

    def options(self) -> AssignOptions:
        scope = self.scope_page.scope()
        return AssignOptions(scope=scope, only_with_email=self.scope_page.only_email.isChecked(),
                             overwrite=self.scope_page.overwrite.isChecked(),
                             **self.rules_page.rules())

    def reject(self) -> None:
        if self.run_page.running:
            self.run_page.cancel()  # the page closes the wizard once the batch is committed
            return
        super().reject()


class ScopePage(QWizardPage):
    def __init__(self, wizard: BulkAssignWizard) -> None:
        super().__init__()
        self.setTitle("Who gets a login")
        self.setSubTitle("Choose the households. Inactive households are never included.")
        self.wizard_ = wizard
        layout = QVBoxLayout(self)
        self.kinds = QButtonGroup(self)
        for text, kind in (("Households without a web account", "without-account"),
                           ("All households", "all"),
                           ("Active pass holders of these pass types:", "pass-holders")):
            button = QRadioButton(text)
            button.setProperty("kind", kind)
            self.kinds.addButton(button)
            layout.addWidget(button)
        self.kinds.buttons()[0].setChecked(True)
        self.pass_types = QListWidget()
        self.pass_types.setMaximumHeight(110)
        for code, description in bulk_targets.pass_type_choices():
            item = QListWidgetItem(f"{code} — {description}")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.pass_types.addItem(item)
        layout.addWidget(self.pass_types)
        self._more_choices(layout)
        self.kinds.buttonToggled.connect(self._scope_changed)
        self._scope_changed()

    def _more_choices(self, layout: QVBoxLayout) -> None:
        self.only_email = QCheckBox("Only households with an email address (WebReg's rule)")
        self.only_email.setChecked(True)
        self.every_member = QCheckBox("A login for every member (per-contact logins) instead of "
                                      "one for the primary member")
        self.overwrite = QCheckBox("Overwrite existing user names and PINs")
        self.overwrite.setToolTip("Households that already have a login get a new one. The "
                                  "preview shows how many logins in use would be replaced.")
        for box in (self.only_email, self.every_member, self.overwrite):
            layout.addWidget(box)
        if self.wizard_.retry_of is not None:
            layout.addWidget(small_note(f"Re-run for the exceptions of run "
                                        f"{self.wizard_.retry_of} only."))
        layout.addStretch()

    def _scope_changed(self) -> None:
        self.pass_types.setEnabled(self.kind() == "pass-holders")
        self.completeChanged.emit()

    def kind(self) -> str:
        return self.kinds.checkedButton().property("kind")

    def scope(self) -> Scope:
        codes = tuple(self.pass_types.item(i).data(Qt.ItemDataRole.UserRole)
                      for i in range(self.pass_types.count())
                      if self.pass_types.item(i).checkState() == Qt.CheckState.Checked)
        return Scope(self.kind(), codes if self.kind() == "pass-holders" else (),
                     self.every_member.isChecked(), self.wizard_.retry_of)

    def validatePage(self) -> bool:
        try:
            self.scope().check()
        except ClerkDeskError as error:
            show_error(self, "Choose the households", error)
            return False
        return True


class RulesPage(QWizardPage):
    def __init__(self, wizard: BulkAssignWizard) -> None:
        super().__init__()
        self.setTitle("User names, PINs and first login")
        self.setSubTitle("Names are folded to plain letters and digits: accents, apostrophes, "
                         "spaces and hyphens go.")
        form = QFormLayout(self)
        self.rule = QComboBox()
        for text, value in USERNAME_RULES:
            self.rule.addItem(text, value)
        self.pattern = QLineEdit("{first:1}{last:4}{id:-3}")
        self.pattern.setToolTip("Tokens: {first} {last} {id} {email} {phone} {postal} {birth};"
                                " {last:4} takes the first 4, {id:-3} the last 3.")
        self.example = QLabel()
        self.example.setObjectName("note")
        form.addRow("User-name &rule:", self.rule)
        form.addRow("&Pattern:", self.pattern)
        form.addRow("", self.example)
        form.addRow("Collisions:", self._collisions())
        form.addRow("PINs:", self._pins())
        self.must_change = QCheckBox("Require a new password at first login (recommended)")
        self.must_change.setChecked(True)
        form.addRow("", self.must_change)
        for signal in (self.rule.currentIndexChanged, self.pattern.textChanged):
            signal.connect(self._show_example)
        self._show_example()

    def _collisions(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.suffix = QRadioButton("Add a number (smith2, smith3…)")
        self.as_exception = QRadioButton("List as exceptions")
        self.suffix.setChecked(True)
        row.addWidget(self.suffix)
        row.addWidget(self.as_exception)
        row.addStretch()
        return box

    def _pins(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.pin_kind = QComboBox()
        self.pin_kind.addItem("Random number in a range", "range")
        self.pin_kind.addItem("Random number of N digits", "digits")
        self.pin_kind.addItem("Pattern from household data", "pattern")
        self.low, self.high = QLineEdit("12345678"), QLineEdit("87654321")
        self.digits = QSpinBox()
        self.digits.setRange(4, 12)
        self.digits.setValue(8)
        self.pin_pattern = QLineEdit("{phone:-4}{id:-4}")
        row = QHBoxLayout()
        for widget in (self.pin_kind, self.low, QLabel("to"), self.high, self.digits,
                       self.pin_pattern):
            row.addWidget(widget)
        column.addLayout(row)
        self.pin_note = small_note("")
        column.addWidget(self.pin_note)
        self.pin_kind.currentIndexChanged.connect(self._pin_kind_changed)
        self._pin_kind_changed()
        return box

    def _pin_kind_changed(self) -> None:
        kind = self.pin_kind.currentData()
        for widget, shown in ((self.low, kind == "range"), (self.high, kind == "range"),
                              (self.digits, kind == "digits"),
                              (self.pin_pattern, kind == "pattern")):
            widget.setVisible(shown)
        self.pin_note.setText(
            "Pattern PINs can be worked out from the household's data; they are hashed now."
            if kind == "pattern" else "Random PINs are minted when the credentials are "
            "delivered (email or letter): nobody sees them before, and none is stored.")

    def _show_example(self) -> None:
        custom = self.rule.currentData() == ""
        self.pattern.setEnabled(custom)
        try:
            name = make_username(compile_rule(self.rules()["usernames"]), EXAMPLE)
            self.example.setText(f"Siobhán O'Brien, client 0012345 → {name}")
        except (ClerkDeskError, RuleProblem) as error:
            self.example.setText(error_text(error) if isinstance(error, ClerkDeskError)
                                 else str(error))

    def rules(self) -> dict:
        kind = self.pin_kind.currentData()
        pins = {"range": f"range:{self.low.text().strip()}-{self.high.text().strip()}",
                "digits": f"digits:{self.digits.value()}",
                "pattern": self.pin_pattern.text()}[kind]
        return {"usernames": self.rule.currentData() or self.pattern.text(), "pins": pins,
                "on_collision": "suffix" if self.suffix.isChecked() else "exception",
                "must_change": self.must_change.isChecked()}

    def validatePage(self) -> bool:
        try:
            self.wizard().options().check()
        except ClerkDeskError as error:
            show_error(self, "Check the rules", error)
            return False
        return True


class SampleModel(RowTableModel):
    headings = ("Client ID", "Household", "Member", "User name")


class PreviewPage(QWizardPage):
    """The dry run: nothing is written until the next page."""

    def __init__(self, wizard: BulkAssignWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Preview (nothing has been changed yet)")
        self.setSubTitle("What the run would do. Run starts it; it can be cancelled, resumed "
                         "and undone.")
        self.setCommitPage(True)  # past this page the run has started: no way back
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Run")
        layout = QVBoxLayout(self)
        self.progress = QProgressBar()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.sample = SampleModel()
        table = QTableView()
        table.setModel(self.sample)
        plain_table(table, (80, 170, 230))
        self.exceptions_button = QPushButton("Show &exceptions…")
        self.exceptions_button.clicked.connect(self._show_exceptions)
        self.confirm_note = QLabel()
        self.confirm_note.setObjectName("problem")
        self.confirm_note.setWordWrap(True)
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText("Type YES to overwrite")
        self.confirm.textChanged.connect(self.completeChanged)
        for widget in (self.progress, self.summary, table):
            layout.addWidget(widget)
        layout.addWidget(self.exceptions_button, alignment=Qt.AlignmentFlag.AlignLeft)
        for widget in (self.confirm_note, self.confirm):
            layout.addWidget(widget)
        self.token: CancelToken | None = None
        self.needs_yes = False

    def initializePage(self) -> None:
        self.wizard_.preview = None
        self.sample.beginResetModel()
        self.sample.rows = []
        self.sample.endResetModel()
        self.summary.setText("Looking at every household in scope…")
        self.exceptions_button.setEnabled(False)
        self.needs_yes = self.wizard_.scope_page.overwrite.isChecked()
        self.confirm_note.setVisible(False)
        self.confirm.setVisible(self.needs_yes)
        self.confirm.clear()
        self.progress.show()
        options, session = self.wizard_.options(), self.wizard_.session
        self.token = run_in_background(
            lambda report, cancel: bulk_assign.preview(session, options, report, cancel),
            self._shown, self._failed, self._progress)

    def cleanupPage(self) -> None:
        if self.token is not None:
            self.token.cancel()

    def _progress(self, progress: Progress) -> None:
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)

    def _shown(self, preview: Preview) -> None:
        self.token = None
        self.wizard_.preview = preview
        self.progress.hide()
        reasons = "".join(f"<li>{reason}: {count:,}</li>"
                          for reason, count in sorted(preview.by_reason.items()))
        self.summary.setText(
            f"<b>{preview.households:,}</b> households in scope. <b>{preview.assigned:,}</b> "
            f"logins would be assigned; <b>{len(preview.exceptions):,}</b> exceptions"
            + (f":<ul>{reasons}</ul>" if reasons else ". ")
            + f"PINs: {preview.pin_description}. "
            + ("They are minted when the credentials are delivered." if
               preview.pins_minted_at_delivery else "They are hashed during the run.")
            + (f"<br>The first {len(preview.sample):,} user names:" if preview.sample else ""))
        self.sample.beginResetModel()
        self.sample.rows = [(d.target.client_id, d.target.household_name, d.target.person,
                             d.username) for d in preview.sample]
        self.sample.endResetModel()
        self.exceptions_button.setEnabled(bool(preview.exceptions))
        self._ask_for_yes(preview)
        self.completeChanged.emit()

    def _ask_for_yes(self, preview: Preview) -> None:
        if not self.needs_yes:
            return
        self.confirm_note.setText(
            f"Overwrite: {preview.live_logins_overwritten:,} logins that households have "
            "already used would be replaced, and they will no longer be able to sign in with "
            "their current password. Type YES to go on.")
        self.confirm_note.show()
        self.confirm.setFocus()

    def _failed(self, error: Exception) -> None:
        self.token = None
        self.progress.hide()
        if not isinstance(error, Cancelled):
            self.summary.setText(error_text(error))

    def _show_exceptions(self) -> None:
        preview = self.wizard_.preview
        if preview is not None:
            ExceptionsReportDialog(self.wizard_.session, "Bulk assign preview — exceptions",
                                   "Dry run: nothing has been written.",
                                   rows_from_decisions(preview.exceptions), self).exec()

    def isComplete(self) -> bool:
        if self.wizard_.preview is None:
            return False
        return not self.needs_yes or self.confirm.text().strip() == "YES"

    def validatePage(self) -> bool:
        answer = QMessageBox.question(
            self, "Start the run", f"Assign {self.wizard_.preview.assigned:,} logins now? "
            "The run can be cancelled, resumed and undone.")
        return answer == QMessageBox.StandardButton.Yes


class RunPage(JobRunPage):
    cancelling_text = "Cancelling after the current batch; nothing is lost…"

    def __init__(self, wizard: BulkAssignWizard) -> None:
        super().__init__("Assigning", "Each batch of households is saved as it is done: a "
                         "cancelled run keeps its work and can be resumed.", "&Cancel the run")
        self.wizard_ = wizard
        self.resume_button = QPushButton("&Resume")
        self.resume_button.clicked.connect(self._resume)
        layout = QVBoxLayout(self)
        for widget in (self.progress, self.status, self.cancel_button, self.resume_button):
            layout.addWidget(widget)
        layout.addStretch()
        self.first_report = True

    def initializePage(self) -> None:
        if self.wizard_.resume is not None:
            self._start(lambda: bulk_assign.resume_run(self.wizard_.session,
                                                       self.wizard_.resume.id))
            return
        options = self.wizard_.options()
        confirm = self.wizard_.preview_page.confirm.text()
        self._start(lambda: bulk_assign.start_run(self.wizard_.session, options, confirm))

    def _start(self, make_job) -> None:
        self.resume_button.hide()
        try:
            job = make_job()
        except ClerkDeskError as error:
            self.status.setText(error_text(error))
            return
        self.run_id, self.first_report = job.run_id, True
        self.launch(job)

    def show_progress(self, progress: Progress) -> None:
        if self.first_report:  # a resumed run: the ETA counts this session's work only
            self.first_report, self.done_before = False, progress.done
        super().show_progress(progress)

    def finished(self, run) -> None:
        self.wizard_.finished_run = bulk_assign.get_run(self.wizard_.session, run.id)
        self.cancel_button.hide()
        self.completeChanged.emit()
        self.wizard_.next()

    def failed(self, error: Exception) -> None:
        self.cancel_button.setEnabled(False)
        view = bulk_assign.get_run(self.wizard_.session, self.run_id)
        self.wizard_.resume = view
        self.status.setText(f"{error_text(error)}\n{view.summary}\nResume it now or later "
                            "from Web Utilities → Bulk Assign Runs.")
        self.resume_button.show()

    def _resume(self) -> None:
        self._start(lambda: bulk_assign.resume_run(self.wizard_.session, self.run_id))

    def isComplete(self) -> bool:
        return self.wizard_.finished_run is not None


class FinishPage(QWizardPage):
    def __init__(self, wizard: BulkAssignWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Done")
        self.setSubTitle("The households that got no login are listed as exceptions.")
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.print_button = QPushButton("&Print Exceptions…")
        self.print_button.clicked.connect(self._print_exceptions)
        self.undo_button = QPushButton("&Undo this run…")
        self.undo_button.clicked.connect(self._undo)
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addWidget(small_note("Next: fix the exceptions (in Print Exceptions…, "
                                    "double-click one to open its Web Details), then mail the "
                                    "credentials."))
        layout.addStretch()

    def initializePage(self) -> None:
        run = self.wizard_.finished_run
        self.summary.setText(run.summary)
        self.print_button.setEnabled(run.exceptions > 0)

    def _print_exceptions(self) -> None:
        ExceptionsReportDialog.for_run(self.wizard_.session, self.wizard_.finished_run,
                                       self).exec()

    def _undo(self) -> None:
        if confirm_and_undo(self, self.wizard_.session, self.wizard_.finished_run):
            self.undo_button.setEnabled(False)
            self.print_button.setEnabled(False)


def confirm_and_undo(parent: QWidget, session: StaffSession, run: RunView) -> bool:
    answer = QMessageBox.warning(
        parent, "Undo the run", f"Undo run {run.id}? Logins it created are deleted and "
        "overwritten ones get their previous user name and password back. Logins households "
        "have used since are kept.", QMessageBox.StandardButton.Yes
        | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    try:
        result = bulk_undo.undo_run(session, run.id)
    except ClerkDeskError as error:
        show_error(parent, "Undo the run", error)
        return False
    kept = "".join(f"\n• household {k.household_id}, “{k.username}”: {k.why}"
                   for k in result.kept[:20])
    more = f"\n…and {len(result.kept) - 20:,} more" if len(result.kept) > 20 else ""
    QMessageBox.information(parent, "Undo the run", f"{result.deleted:,} logins deleted, "
                            f"{result.restored:,} restored, {len(result.kept):,} kept."
                            + kept + more)
    return True
