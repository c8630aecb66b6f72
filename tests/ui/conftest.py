"""UI tests drive the real widgets on SQLite; the services below them run on both databases."""

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


@pytest.fixture
def answer_message_box():
    """Answer the next modal message box with `button`; returns the texts it showed."""

    def arm(button=QMessageBox.StandardButton.Ok):
        seen: list[str] = []

        def answer():
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                QTimer.singleShot(20, answer)  # not open yet: look again shortly
                return
            seen.append(box.text())
            box.button(button).click()

        QTimer.singleShot(0, answer)
        return seen

    return arm
