"""Printing a report: the services' HTML laid out by Qt's text engine, for the print preview,
the printer and PDF files alike, so every copy of a report looks the same.

Needs only QtGui, so the CLI can write a PDF without a window (offscreen platform).
"""

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QTextDocument,
)

REPORT_FONT_POINTS = 9


def report_document(html: str) -> QTextDocument:
    document = QTextDocument()
    font = QFont()
    font.setPointSize(REPORT_FONT_POINTS)
    document.setDefaultFont(font)
    document.setDefaultStyleSheet(
        "h2 { margin-bottom: 2px; } th { background-color: #e8e8e8; text-align: left; }"
        " td, th { padding: 3px; }")
    document.setHtml(html)
    return document


def landscape_layout() -> QPageLayout:
    """A4 landscape: the table has seven columns and the reasons are long."""
    return QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                       QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter)


def print_document(document: QTextDocument, device: QPagedPaintDevice) -> None:
    """Print on a QPrinter or QPdfWriter; with no page size of its own the document is laid
    out on the device's pages in points, so the text keeps its size at any resolution."""
    document.print_(device)


def write_pdf(html: str, path: Path) -> None:
    """The report as a PDF file; starts an offscreen Qt when no application is running."""
    _ensure_gui_application()
    writer = QPdfWriter(str(path))
    writer.setResolution(300)
    writer.setPageLayout(landscape_layout())
    writer.setTitle("ClerkDesk report")
    writer.setCreator("ClerkDesk")
    print_document(report_document(html), writer)


_APP: QGuiApplication | None = None


def _ensure_gui_application() -> None:
    global _APP
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = QGuiApplication(["clerkdesk"])
