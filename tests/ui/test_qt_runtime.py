"""The Qt binding itself: PySide6 6.12.0 leaked a reference to None on every call returning
nothing, which aborts Python 3.11 after a few thousand calls; pyproject excludes it."""

import sys

from PySide6.QtWidgets import QWidget


def test_qt_calls_do_not_leak_references_to_none(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.repaint()
    assert before - sys.getrefcount(None) < 100
