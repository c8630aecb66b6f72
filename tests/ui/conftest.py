"""UI tests drive the real widgets on SQLite; the services below them run on both databases."""

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


@pytest.fixture
def answer_message_box(qtbot):
    """Answer the next modal message box with `button`; returns the texts it showed."""
    seen: list[str] = []

    def arm(button=QMessageBox.StandardButton.Ok):
        def answer():
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                seen.append(box.text())
                box.button(button).click()
            else:
                qtbot.wait(20)
                answer()

        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, answer)
        return seen

    return arm
