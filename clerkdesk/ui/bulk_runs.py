"""Web Utilities → Bulk Assign Runs: earlier runs, to resume, report or undo them."""

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import bulk_assign
from clerkdesk.services.bulk_assign import RunView
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from .bulk_assign_wizard import BulkAssignWizard, confirm_and_undo
from .exceptions_report import ExceptionsReportDialog, plain_table
from .table_model import RowTableModel


class RunsModel(RowTableModel):
    headings = ("Run", "Started", "By", "State", "Households", "Assigned", "Exceptions")

    def __init__(self, runs: list[RunView]) -> None:
        super().__init__()
        self.runs = runs
        self.rows = [(run.id, local_text(run.started_at), run.started_by, run.state,
                      f"{run.done:,} of {run.total:,}", f"{run.assigned:,}",
                      f"{run.exceptions:,}") for run in runs]


class BulkRunsDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Bulk Assign Runs")
        self.resize(820, 420)
        layout = QVBoxLayout(self)
        self.table = QTableView()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.doubleClicked.connect(self.show_exceptions)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.buttons = {}
        for key, text, slot in (("new", "&New run…", self.new_run),
                                ("resume", "&Resume…", self.resume),
                                ("exceptions", "&Exceptions…", self.show_exceptions),
                                ("undo", "&Undo…", self.undo)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[key] = button
        row.addStretch()
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout.addLayout(row)
        self.reload()

    def reload(self) -> None:
        self.model = RunsModel(bulk_assign.recent_runs(self.session))
        self.table.setModel(self.model)
        plain_table(self.table, (50, 140, 110, 90, 140, 90))
        self.table.selectionModel().currentRowChanged.connect(self._enable)
        if self.model.rows:
            self.table.selectRow(0)
        self._enable()

    def selected(self) -> RunView | None:
        index = self.table.currentIndex()
        return self.model.runs[index.row()] if index.isValid() else None

    def _enable(self) -> None:
        run = self.selected()
        self.buttons["resume"].setEnabled(run is not None and run.resumable)
        self.buttons["exceptions"].setEnabled(run is not None and run.exceptions > 0)
        self.buttons["undo"].setEnabled(run is not None and run.state != "undone")

    def new_run(self) -> None:
        open_bulk_assign(self.session, self)
        self.reload()

    def resume(self) -> None:
        run = self.selected()
        if run is not None and run.resumable:
            BulkAssignWizard(self.session, self, resume=run).exec()
            self.reload()

    def show_exceptions(self) -> None:
        run = self.selected()
        if run is not None:
            ExceptionsReportDialog.for_run(self.session, run, self).exec()
            self.reload()

    def undo(self) -> None:
        run = self.selected()
        if run is not None and confirm_and_undo(self, self.session, run):
            self.reload()


def open_bulk_assign(session: StaffSession, parent: QWidget | None) -> None:
    """The wizard; when a run stopped before its end, offer to resume it first."""
    waiting = bulk_assign.unfinished_run()
    if waiting is not None:
        run = bulk_assign.get_run(session, waiting.id)
        answer = QMessageBox.question(
            parent, "Bulk Web ID/PIN Assign", f"{run.summary}\n\nResume it now? (A new run can "
            "start once this one is finished or undone.)")
        if answer == QMessageBox.StandardButton.Yes:
            BulkAssignWizard(session, parent, resume=run).exec()
        return
    BulkAssignWizard(session, parent).exec()
