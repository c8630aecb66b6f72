"""Acting on a modal dialog from a test: it blocks the test until someone answers it."""

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget


def when_modal(kind: type, act: Callable[[QWidget], None]) -> None:
    """Once a modal of `kind` is open, call `act(dialog)` on it (checked every 20 ms)."""

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind):
            QTimer.singleShot(20, look)
            return
        act(dialog)

    QTimer.singleShot(0, look)
