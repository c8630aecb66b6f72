"""UI tests drive the real widgets on SQLite; the services below them run on both databases."""

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.ui.modal import when_modal


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


@pytest.fixture
def answer_message_box():
    """Answer the next modal message box with `button`; returns the texts it showed."""

    def arm(button=QMessageBox.StandardButton.Ok):
        seen: list[str] = []

        def answer(box):
            seen.append(box.text())
            box.button(button).click()

        when_modal(QMessageBox, answer)
        return seen

    return arm
