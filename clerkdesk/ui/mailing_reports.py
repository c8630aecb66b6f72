"""The mailing reports: records with invalid or no email (table, print preview, PDF, CSV, and
credential letters printed for them), and the summary of one mailing.

A letter's PIN is minted when it is printed and exists nowhere else: the window warns before
minting, and again when the chosen printer would write the PINs into a file.
"""

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSizeF, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence, QPagedPaintDevice, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import letters, mailing_reports, mailings
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.letters import LetterPlan, MintLetters
from clerkdesk.services.mailing_reports import HEADERS, MailingSummary, NoEmailRow
from clerkdesk.services.mailing_targets import Targeting
from clerkdesk.services.session import StaffSession

from .exceptions_report import SORT_ROLE, plain_table, sort_key
from .job_dialog import run_job
from .messages import show_error
from .report_actions import ask_save_path, preview_report
from .report_document import report_document, write_pdf
from .table_model import RowTableModel

LETTER_FONT_POINTS = 11
Yes, Cancel = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel


# --- opening ----------------------------------------------------------------------------------

def open_no_email_report(parent: QWidget | None, session: StaffSession,
                         mailing_id: int) -> "NoEmailReportDialog | None":
    """The records a mailing could not reach by email, with what its mail server refused."""
    title = f"Mailing {mailing_id} — records with invalid or no email"
    try:
        view = mailings.get_mailing(session, mailing_id)
        rows = mailing_reports.no_email_rows_for_mailing(session, mailing_id)
    except ClerkDeskError as error:
        show_error(parent, title, error)
        return None
    subtitle = (f"{view.description} — {'rehearsal' if view.rehearsal else 'live'}, "
                f"created {view.created_at:%Y-%m-%d %H:%M} by {view.created_by}.")
    return _show(NoEmailReportDialog(session, title, subtitle, rows, parent))


def open_no_email_report_for_targeting(parent: QWidget | None, session: StaffSession,
                                       targeting: Targeting,
                                       title: str) -> "NoEmailReportDialog | None":
    """Before a mailing: who it would not reach by email, to print letters for instead."""
    try:
        rows = mailing_reports.no_email_rows(session, targeting)
    except ClerkDeskError as error:
        show_error(parent, title, error)
        return None
    subtitle = "The records of this selection that have no valid email address."
    return _show(NoEmailReportDialog(session, title, subtitle, rows, parent))


def open_mailing_summary(parent: QWidget | None, session: StaffSession,
                         mailing_id: int) -> "MailingSummaryDialog | None":
    try:
        report = mailing_reports.summary(session, mailing_id)
    except ClerkDeskError as error:
        show_error(parent, f"Mailing {mailing_id} — summary", error)
        return None
    return _show(MailingSummaryDialog(session, report, parent))


def _show(dialog: QDialog) -> QDialog:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


# --- the no-email report ----------------------------------------------------------------------

class NoEmailModel(RowTableModel):
    headings = HEADERS

    def __init__(self, rows: list[NoEmailRow]) -> None:
        super().__init__()
        self.records = rows
        self.rows = [mailing_reports.columns(row) for row in rows]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == SORT_ROLE:
            return sort_key(str(self.cell(index.row(), index.column())))
        return super().data(index, role)


class NoEmailReportDialog(QDialog):
    def __init__(self, session: StaffSession, title: str, subtitle: str,
                 rows: list[NoEmailRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.title, self.subtitle = session, title, subtitle
        self.setWindowTitle(title)
        self.resize(1280, 620)
        self.model = NoEmailModel(rows)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        heading = QLabel(f"{self.subtitle}\n{len(self.model.rows):,} records. "
                         + self._letters_hint())
        heading.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: type a name, client ID, town or reason")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # in household order until a heading is clicked
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        plain_table(self.table, (70, 150, 130, 150, 100, 55, 75, 170, 200))
        for widget in (heading, self.filter, self.table):
            layout.addWidget(widget)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, slot, shortcut in (("Print pre&view…", self.print_preview, "Ctrl+P"),
                                     ("Save &PDF…", self.save_pdf, "Ctrl+Shift+P"),
                                     ("Save &CSV…", self.save_csv, "Ctrl+S"),
                                     ("Print &letters…", self.print_letters, "Ctrl+L")):
            button = QPushButton(text)
            button.clicked.connect(slot)
            button.setShortcut(QKeySequence(shortcut))
            row.addWidget(button)
            if slot == self.print_letters:
                self.letters_button = button
                button.setEnabled(self._any_login())
                button.setToolTip("Mints a new PIN for each household and prints it: the "
                                  "printed page is the only copy." if self._any_login() else
                                  "None of these households has a web login yet.")
        row.addStretch()
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        return row

    def _any_login(self) -> bool:
        return any(r.has_login for r in self.model.records)

    def _letters_hint(self) -> str:
        if not self.model.records:
            return ""
        if not self._any_login():
            return ("None of them has a web login yet, so no letter can be printed: give "
                    "them one first (Web Details, or Bulk Web ID/PIN Assign).")
        return ("Select rows and press “Print letters…” to send those households their user "
                "name and a new PIN on paper (no selection: every row shown).")

    # rows shown and chosen

    def shown_rows(self) -> list[NoEmailRow]:
        """The rows the filter leaves, in the order shown: what is printed and saved."""
        return [self.model.records[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
                for i in range(self.proxy.rowCount())]

    def chosen_rows(self) -> list[NoEmailRow]:
        selected = sorted(self.table.selectionModel().selectedRows(), key=QModelIndex.row)
        if not selected:
            return self.shown_rows()
        return [self.model.records[self.proxy.mapToSource(index).row()] for index in selected]

    # reports

    def html(self) -> str:
        shown = self.shown_rows()
        subtitle = self.subtitle
        if len(shown) != len(self.model.records):
            subtitle += f" Filtered by “{self.filter.text()}”: {len(shown):,} of " \
                        f"{len(self.model.records):,} records."
        return mailing_reports.report_html(self.title, subtitle, shown)

    def print_preview(self) -> None:
        preview_report(self, self.html())

    def save_pdf(self) -> None:
        path = ask_save_path(self, "Save the report as PDF", "no-email.pdf", "PDF files (*.pdf)")
        if path is not None:
            write_pdf(self.html(), path)
            _saved(self, self.title, path)

    def save_csv(self) -> None:
        path = ask_save_path(self, "Save the report as CSV", "no-email.csv", "CSV files (*.csv)")
        if path is not None:
            mailing_reports.write_csv(path, self.shown_rows())
            _saved(self, self.title, path)

    # letters

    def print_letters(self) -> None:
        household_ids = list(dict.fromkeys(r.household_id for r in self.chosen_rows()))
        try:
            plan = letters.prepare_letters(self.session, household_ids) if household_ids \
                else None
        except ClerkDeskError as error:
            show_error(self, "Print letters", error)
            return
        if plan is None or not plan.letters:
            QMessageBox.information(self, "Print letters", _nothing_to_print(plan))
            return
        if not self._confirm_minting(plan):
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if QPrintDialog(printer, self).exec() != QDialog.DialogCode.Accepted:
            return
        if prints_to_file(printer) and not self._confirm_file(printer):
            return
        printed = run_job(MintLetters(self.session, [t.household_id for t in plan.letters]),
                          self)
        if printed:
            print_letters_on(printer, letters.letter_html(printed))
            self._printed(len(printed), len(plan.letters))

    def _confirm_minting(self, plan: LetterPlan) -> bool:
        lines = [f"Print {_letters(len(plan.letters))}?"]
        if plan.to_mint:
            lines.append(f"A new PIN is minted NOW for {plan.to_mint:,} households: their old "
                         "PIN or password stops working at once, and the printed page is "
                         "the only copy of the new one; ClerkDesk keeps none.")
        kept = len(plan.letters) - plan.to_mint
        if kept:
            lines.append(f"{kept:,} households chose their own password: their letter "
                         "carries their user name only, and their password is kept.")
        if plan.refused:
            shown = "\n".join(f"• {r.label}" for r in plan.refused[:8])
            more = f"\n…and {len(plan.refused) - 8:,} more" if len(plan.refused) > 8 else ""
            lines.append(f"{len(plan.refused):,} households get no letter:\n{shown}{more}")
        return _ask(self, "Print letters — PINs are minted now", "\n\n".join(lines))

    def _confirm_file(self, printer: QPrinter) -> bool:
        where = printer.outputFileName() or "a PDF file"
        return _ask(self, "Print letters — to a file?",
                    f"This printer writes a file ({where}), not paper. That file would hold "
                    "every new PIN in readable form, and anyone who can open it can sign in "
                    "as these households.\n\nPrint to paper instead unless you are sure. "
                    "Write the PINs into the file anyway?")

    def _printed(self, printed: int, planned: int) -> None:
        text = f"{_letters(printed)} went to the printer."
        if printed < planned:
            text += f" Stopped early: {planned - printed:,} households got no new PIN."
        text += " If a page is lost, print that household's letter again: it mints a new PIN."
        QMessageBox.information(self, "Print letters", text)


def prints_to_file(printer: QPrinter) -> bool:
    """True when the printer's output is a file on disk (Print to PDF, or a file name set)."""
    return printer.outputFormat() == QPrinter.OutputFormat.PdfFormat \
        or bool(printer.outputFileName())


def letter_document(html: str) -> QTextDocument:
    """The letters in a larger type than the reports: households read them at home."""
    document = report_document(html)
    font = document.defaultFont()
    font.setPointSize(LETTER_FONT_POINTS)
    document.setDefaultFont(font)
    return document


def print_letters_on(device: QPagedPaintDevice, html: str) -> None:
    """Laid out on the device's own page (in the text engine's 96-dpi pixels), so Qt prints
    no page number: a household's letter is a page of its own, not page 7 of a run."""
    document = letter_document(html)
    page = device.pageLayout().paintRectPoints()
    document.setPageSize(QSizeF(page.width() * 96 / 72, page.height() * 96 / 72))
    document.print_(device)


def _letters(count: int) -> str:
    return f"{count:,} letter" + ("" if count == 1 else "s")


def _nothing_to_print(plan: LetterPlan | None) -> str:
    if plan is None:
        return "There are no records to print letters for."
    shown = "\n".join(f"• {r.label}" for r in plan.refused[:8])
    return f"None of these households has a web login to print a letter for:\n{shown}\n\n" \
           "Give them a login first (Web Details, or Bulk Web ID/PIN Assign)."


# --- the summary ------------------------------------------------------------------------------

class MailingSummaryDialog(QDialog):
    def __init__(self, session: StaffSession, report: MailingSummary,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.report = session, report
        self.title = f"Mailing {report.mailing_id} — summary"
        self.setWindowTitle(self.title)
        self.resize(900, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setDocument(report_document(self.html()))
        layout.addWidget(self.browser)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, slot, shortcut in (("Print pre&view…", self.print_preview, "Ctrl+P"),
                                     ("Save &PDF…", self.save_pdf, "Ctrl+Shift+P"),
                                     ("Save failures as &CSV…", self.save_csv, "Ctrl+S"),
                                     ("Records with &no email…", self.open_no_email, "")):
            button = QPushButton(text)
            button.clicked.connect(slot)
            if shortcut:
                button.setShortcut(QKeySequence(shortcut))
            if slot == self.save_csv:
                button.setEnabled(bool(self.report.failures))  # nothing failed: no CSV
            row.addWidget(button)
        row.addStretch()
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        return row

    def html(self) -> str:
        return mailing_reports.summary_html(self.report)

    def print_preview(self) -> None:
        preview_report(self, self.html())

    def save_pdf(self) -> None:
        path = ask_save_path(self, "Save the summary as PDF", f"mailing-{self.report.mailing_id}"
                         ".pdf", "PDF files (*.pdf)")
        if path is not None:
            write_pdf(self.html(), path)
            _saved(self, self.title, path)

    def save_csv(self) -> None:
        path = ask_save_path(self, "Save the failed messages as CSV", f"mailing-"
                         f"{self.report.mailing_id}-failures.csv", "CSV files (*.csv)")
        if path is not None:
            mailing_reports.write_failures_csv(path, self.report)
            _saved(self, self.title, path)

    def open_no_email(self) -> None:
        open_no_email_report(self.parentWidget(), self.session, self.report.mailing_id)


# --- shared -----------------------------------------------------------------------------------

def _saved(parent: QWidget, title: str, path: Path) -> None:
    QMessageBox.information(parent, title, f"Saved to {path}.")


def _ask(parent: QWidget, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, Yes | Cancel, parent)
    box.setDefaultButton(Cancel)  # Enter must not mint PINs by accident
    return box.exec() == Yes
