"""Settings → Email templates: edit the messages ClerkDesk sends, with merge fields."""

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import email_templates
from clerkdesk.services.session import StaffSession

from .forms import small_note
from .messages import error_text

FIELD_HELP = {
    "WebID": "the user name", "WebPin": "the password (minted when the email is sent)",
    "FirstName": "first name", "LastName": "last name", "HouseholdName": "household name",
    "PortalLink": "the portal address", "ResetLink": "a single-use reset link",
}


class MergeFieldEdit(QPlainTextEdit):
    """A body editor whose context menu inserts merge fields at the cursor."""

    def contextMenuEvent(self, event) -> None:
        menu = self.createStandardContextMenu()
        menu.addSeparator()
        add_field_actions(menu.addMenu("Insert merge field"), self.insertPlainText)
        menu.exec(event.globalPos())


def add_field_actions(menu: QMenu, insert) -> None:
    for field in email_templates.MERGE_FIELDS:
        action = menu.addAction(f"<{field}>  —  {FIELD_HELP[field]}")
        action.triggered.connect(lambda _=False, f=field: insert(f"<{f}>"))


class TemplatesDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Email templates")
        self.resize(900, 560)
        self.names = QListWidget()
        self.names.addItems(email_templates.template_names())
        self.names.setMaximumWidth(240)
        self.subject = QLineEdit()
        self.body = MergeFieldEdit()
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.insert_button = QPushButton("Insert merge &field")
        self.insert_button.clicked.connect(self._insert_menu)
        self.save_button = QPushButton("&Save template")
        self.save_button.clicked.connect(lambda: self.save())
        self._layout()
        self.loaded = ("", "")
        self.names.currentItemChanged.connect(self._switch)
        self.names.setCurrentRow(0)

    def _layout(self) -> None:
        editor = QVBoxLayout()
        form = QFormLayout()
        form.addRow("&Subject:", self.subject)
        editor.addLayout(form)
        editor.addWidget(self.body)
        editor.addWidget(small_note("Merge fields such as <WebID> are filled in when the email "
                                    "is sent. Right-click in the text to insert one."))
        editor.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self.insert_button)
        buttons.addStretch()
        buttons.addWidget(self.save_button)
        editor.addLayout(buttons)
        top = QHBoxLayout()
        top.addWidget(self.names)
        top.addLayout(editor, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        outer.addWidget(close)

    def load(self, name: str) -> None:
        template = email_templates.get_template(name)
        self.subject.setText(template.subject)
        self.body.setPlainText(template.body)
        self.problem.hide()
        self.loaded = (template.subject, template.body)

    def _switch(self, current, previous) -> None:
        if previous is not None and not self.confirm_leave(previous.text()):
            self.names.blockSignals(True)
            self.names.setCurrentItem(previous)
            self.names.blockSignals(False)
            return
        if current is not None:
            self.load(current.text())

    def confirm_leave(self, name: str) -> bool:
        """Nothing typed is lost: unsaved edits are saved, dropped or kept on request."""
        if (self.subject.text(), self.body.toPlainText()) == self.loaded:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save your changes to “{name}”?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save(name)
        return answer == QMessageBox.StandardButton.Discard

    def reject(self) -> None:
        current = self.names.currentItem()
        if current is None or self.confirm_leave(current.text()):
            super().reject()

    def save(self, name: str | None = None) -> bool:
        name = name or self.names.currentItem().text()
        try:
            email_templates.save_template(self.session, name, self.subject.text(),
                                          self.body.toPlainText())
        except Exception as error:
            self.problem.setText(error_text(error))
            self.problem.show()
            return False
        self.loaded = (self.subject.text(), self.body.toPlainText())
        self.problem.hide()
        self.save_button.setText("&Save template")
        return True

    def _insert_menu(self) -> None:
        menu = QMenu(self)
        add_field_actions(menu, self.body.insertPlainText)
        menu.exec(self.insert_button.mapToGlobal(QPoint(0, self.insert_button.height())))
