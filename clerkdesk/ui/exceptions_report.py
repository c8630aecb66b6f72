"""The exceptions report of a bulk assign: a sortable, filterable table; print preview, PDF
and CSV; a double-click opens that household's Web Details; re-run for exceptions only."""

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import bulk_report
from clerkdesk.services.bulk_assign import RunView
from clerkdesk.services.bulk_report import HEADERS, ExceptionRow
from clerkdesk.services.session import StaffSession

from .report_actions import ask_save_path, preview_report
from .report_document import write_pdf
from .table_model import RowTableModel
from .web_details import WebDetailsDialog


def plain_table(table: QTableView, widths: tuple[int, ...], lines: int = 1) -> None:
    """The desk's list look: no grid, striped rows, left-aligned headings, set column widths
    (the last column takes the rest); rows of `lines` lines, and a cell's tooltip shows a
    value that does not fit in full."""
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(lines > 1)
    if lines > 1:
        rows = table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(table.fontMetrics().lineSpacing() * lines + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)


class ExceptionsModel(RowTableModel):
    headings = HEADERS[1:]

    def __init__(self, rows: list[ExceptionRow]) -> None:
        super().__init__()
        self.exceptions = rows
        self.rows = [bulk_report.columns(row)[1:] for row in rows]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == SORT_ROLE:
            return sort_key(str(self.cell(index.row(), index.column())))
        return super().data(index, role)


SORT_ROLE = Qt.ItemDataRole.UserRole


def sort_key(text: str) -> str:
    """Client IDs in number order (7 before 10), other text without regard to case."""
    return text.zfill(20) if text.isdigit() else text.casefold()


class ExceptionsReportDialog(QDialog):
    def __init__(self, session: StaffSession, title: str, subtitle: str,
                 rows: list[ExceptionRow], parent: QWidget | None = None,
                 run: RunView | None = None) -> None:
        super().__init__(parent)
        self.session, self.title, self.subtitle, self.run = session, title, subtitle, run
        self.setWindowTitle(title)
        self.resize(1180, 600)
        self.model = ExceptionsModel(rows)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._build()

    @classmethod
    def for_run(cls, session: StaffSession, run: RunView,
                parent: QWidget | None = None) -> "ExceptionsReportDialog":
        rows = bulk_report.run_exceptions(session, run.id)
        return cls(session, f"Bulk Web ID/PIN Assign — exceptions of run {run.id}", run.summary,
                   rows, parent, run)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        heading = QLabel(f"{self.subtitle}\n{len(self.model.rows):,} exceptions. Double-click "
                         "one to open the household's Web Details.")
        heading.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: type a name, client ID or reason")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # in household order until a heading is clicked
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        plain_table(self.table, (80, 150, 150, 190, 260), lines=2)
        self.table.doubleClicked.connect(self.open_web_details)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, self.open_current)
        for widget in (heading, self.filter, self.table):
            layout.addWidget(widget)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, slot, shortcut in (("Print pre&view…", self.print_preview, "Ctrl+P"),
                                     ("Save &PDF…", self.save_pdf, "Ctrl+Shift+P"),
                                     ("Save &CSV…", self.save_csv, "Ctrl+S")):
            button = QPushButton(text)
            button.clicked.connect(slot)
            button.setShortcut(QKeySequence(shortcut))
            row.addWidget(button)
        self.retry_button = QPushButton("&Re-run for exceptions only…")
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.setVisible(self.run is not None)
        self.retry_button.setEnabled(bool(self.model.rows))
        row.addWidget(self.retry_button)
        row.addStretch()
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        return row

    def html(self) -> str:
        return bulk_report.report_html(self.title, self.subtitle, self.model.exceptions)

    def print_preview(self) -> None:
        preview_report(self, self.html())

    def save_pdf(self) -> None:
        path = ask_save_path(self, "Save the exceptions as PDF", "exceptions.pdf",
                             "PDF files (*.pdf)")
        if path is not None:
            write_pdf(self.html(), path)
            self._saved(path)

    def save_csv(self) -> None:
        path = ask_save_path(self, "Save the exceptions as CSV", "exceptions.csv",
                             "CSV files (*.csv)")
        if path is not None:
            bulk_report.write_csv(self.model.exceptions, path)
            self._saved(path)

    def _saved(self, path: Path) -> None:
        QMessageBox.information(self, self.title, f"Saved {len(self.model.rows):,} exceptions "
                                f"to {path}.")

    def open_current(self) -> None:
        self.open_web_details(self.table.currentIndex())

    def open_web_details(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        row = self.model.exceptions[self.proxy.mapToSource(index).row()]
        label = f"{row.household} ({row.client_id})"
        WebDetailsDialog(self.session, row.household_id, label, row.member_id, self).exec()

    def retry(self) -> None:
        from .bulk_assign_wizard import BulkAssignWizard  # the wizard opens this dialog too

        self.accept()
        BulkAssignWizard(self.session, self.parentWidget(), retry_of=self.run.id).exec()
