"""A form dialog with an inline problem line and OK/Cancel: the shape of most dialogs."""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services.errors import ValidationError

from .background import call_in_background
from .messages import error_text


class FormDialog(QDialog):
    def __init__(self, title: str, heading: str, ok_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.body = QVBoxLayout(self)
        self.body.setSpacing(10)
        self.heading = QLabel(heading)
        self.heading.setWordWrap(True)
        self.heading.setObjectName("heading")
        self.body.addWidget(self.heading)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.body.addLayout(self.form)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        self.body.addWidget(self.problem)
        self.body.addStretch(1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.body.addWidget(self.buttons)
        self.fields: dict[str, QWidget] = {}

    def add_line(self, name: str, label: str, secret: bool = False,
                 placeholder: str = "", note: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name.replace(" ", "_"))
        edit.setPlaceholderText(placeholder)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        if note:
            self.form.addRow("", small_note(note))
        self.fields[name] = edit
        return edit

    def submit(self) -> None:
        """Subclasses validate through a service and call accept() or show_problem()."""
        self.accept()

    def submit_in_background(self, call: Callable[[], Any],
                             on_done: Callable[[Any], None]) -> None:
        """Run the service call off the GUI thread; a refusal is shown in the dialog."""
        self.set_busy(True)
        call_in_background(call, on_done, self.refused)

    def refused(self, error: Exception) -> None:
        self.set_busy(False)
        self.show_problem(error)

    def show_problem(self, error: Exception | str) -> None:
        message = error if isinstance(error, str) else error_text(error)
        self.problem.setText(message)
        self.problem.show()
        self.adjustSize()  # grow for the message instead of squeezing the form
        field = self.fields.get(error.field) if isinstance(error, ValidationError) else None
        if field is not None:
            field.setFocus()
            if isinstance(field, QLineEdit):
                field.selectAll()

    def set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)
        for field in self.fields.values():
            field.setEnabled(not busy)
        if busy:
            self.problem.hide()
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()


def small_note(text: str) -> QLabel:
    note = QLabel(text)
    note.setObjectName("note")
    note.setWordWrap(True)
    return note
