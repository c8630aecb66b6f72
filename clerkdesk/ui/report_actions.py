"""What every report window offers: a print preview of its HTML, and asking where to save
a copy (the file name always gets the format's suffix)."""

from pathlib import Path

from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QFileDialog, QWidget

from .report_document import landscape_layout, print_document, report_document


def preview_report(parent: QWidget, html: str) -> None:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(landscape_layout())
    preview = QPrintPreviewDialog(printer, parent)
    document = report_document(html)
    preview.paintRequested.connect(lambda device: print_document(document, device))
    preview.exec()


def ask_save_path(parent: QWidget, caption: str, name: str, kinds: str) -> Path | None:
    """The chosen path with `name`'s suffix, or None when the person cancelled."""
    chosen, _ = QFileDialog.getSaveFileName(parent, caption, name, kinds)
    if not chosen:
        return None
    suffix = Path(name).suffix
    path = Path(chosen)
    return path if path.suffix.lower() == suffix else path.with_suffix(suffix)
