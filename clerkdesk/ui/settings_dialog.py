"""Settings: one form per topic built from the settings registry, saved all at once or not
at all, with a test email to check the mail settings."""

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import email_delivery, settings
from clerkdesk.services.session import StaffSession

from .forms import small_note
from .messages import error_text

TABS = (
    ("password_policy", "Household passwords"),
    ("portal", "Portal"),
    ("accounts", "Portal"),
    ("phone", "Portal"),
    ("email", "Email"),
    ("sms", "Email"),
    ("staff", "Staff sign-in"),
    ("security", "Security"),
)
CHOICE_LABELS = {
    "smtp": "Send through the SMTP server", "capture": "Capture only (rehearsal: nothing "
    "leaves)", "starttls": "STARTTLS (port 587)", "ssl": "SSL/TLS (port 465)",
    "none": "None (local relay only)",
    "email-gateway": "An email-to-SMS gateway",
}


class SettingsDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Settings")
        self.resize(680, 600)
        self.editors: dict[str, QWidget] = {}
        self.original: dict[str, object] = {}
        outer = QVBoxLayout(self)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs)
        self._build_tabs()
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        outer.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

    def _build_tabs(self) -> None:
        forms: dict[str, QFormLayout] = {}
        tab_of = dict(TABS)
        for spec, value in settings.all_settings():
            title = tab_of.get(spec.key.split(".", 1)[0], "Other")
            if title not in forms:
                page = QWidget()
                forms[title] = QFormLayout(page)
                forms[title].setVerticalSpacing(4)
                # A tab taller than the dialog scrolls instead of squeezing its notes.
                scroller = QScrollArea()
                scroller.setWidget(page)
                scroller.setWidgetResizable(True)
                scroller.setFrameShape(QFrame.Shape.NoFrame)
                self.tabs.addTab(scroller, title)
            self._add_row(forms[title], spec, value)
        if "Email" in forms:
            self.test_button = QPushButton("Send a &test email…")
            self.test_button.clicked.connect(self.send_test_email)
            forms["Email"].addRow("", self.test_button)

    def _add_row(self, form: QFormLayout, spec: settings.SettingSpec, value: object) -> None:
        editor = _editor(spec, value)
        editor.setObjectName(spec.key)
        if isinstance(editor, QCheckBox):
            form.addRow("", editor)
        else:
            form.addRow(spec.label + ":", editor)
        if spec.help:
            form.addRow("", small_note(spec.help))
        self.editors[spec.key] = editor
        self.original[spec.key] = value

    def values(self) -> dict[str, object]:
        return {key: _value_of(editor) for key, editor in self.editors.items()}

    def changes(self) -> dict[str, object]:
        return {k: v for k, v in self.values().items() if v != self.original[k]}

    def save(self) -> None:
        if not self._confirm_leaving_rehearsal():
            return
        try:
            settings.set_settings(self.session, self.changes())
        except Exception as error:
            self._show_problem(error)
            return
        self.accept()

    def reject(self) -> None:
        if self.changes() and QMessageBox.question(
                self, "Discard changes?", "Close without saving your changes?") \
                != QMessageBox.StandardButton.Yes:
            return
        super().reject()

    def send_test_email(self) -> None:
        """Save first (so the test uses what is on screen), then send."""
        if not self._confirm_leaving_rehearsal():
            return
        try:
            settings.set_settings(self.session, self.changes())
        except Exception as error:
            self._show_problem(error)
            return
        self.original = self.values()
        address, ok = QInputDialog.getText(self, "Send a test email", "Send it to:")
        if not ok:
            return
        try:
            how = email_delivery.send_test_email(self.session, address)
        except Exception as error:
            self._show_problem(error)
            return
        self.problem.hide()
        QMessageBox.information(self, "Test email sent",
                                f"The test email to {address} went out through {how}.")

    def _confirm_leaving_rehearsal(self) -> bool:
        """Capture mode is the rehearsal that protects households from a practice run;
        leaving it must be a deliberate act (and the audit trail records who did)."""
        if self.changes().get("email.mode") != "smtp" or self.original["email.mode"] == "smtp":
            return True
        answer = QMessageBox.warning(
            self, "Leave rehearsal mode?",
            "From now on, mailings and credential emails go out through the SMTP server "
            "to real households, and PINs in them are minted for real.\n\n"
            "The change is recorded in the audit trail under your name. Leave rehearsal mode?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _show_problem(self, error: Exception) -> None:
        self.problem.setText(error_text(error))
        self.problem.show()
        editor = self.editors.get(getattr(error, "field", ""))
        if editor is not None:
            self.tabs.setCurrentWidget(_tab_of(editor))
            editor.setFocus()


def _editor(spec: settings.SettingSpec, value: object) -> QWidget:
    if spec.kind is bool:
        box = QCheckBox(spec.label)
        box.setChecked(bool(value))
        return box
    if spec.kind is int:
        spin = QSpinBox()
        spin.setRange(spec.minimum, spec.maximum)
        spin.setValue(int(value))
        spin.setMaximumWidth(120)
        if spec.minimum == 0:
            spin.setSpecialValueText("0 (off)")
        return spin
    if spec.choices:
        combo = QComboBox()
        for choice in spec.choices:
            combo.addItem(CHOICE_LABELS.get(choice, choice), choice)
        combo.setCurrentIndex(spec.choices.index(value) if value in spec.choices else 0)
        return combo
    if spec.multiline:
        text = QPlainTextEdit(str(value))
        text.setFixedHeight(64)
        return text
    return QLineEdit(str(value))


def _value_of(editor: QWidget) -> object:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QSpinBox):
        return editor.value()
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText()
    return editor.text()


def _tab_of(editor: QWidget) -> QWidget:
    """The scroll area (the tab's page) an editor sits in."""
    widget = editor
    while widget is not None and not isinstance(widget, QScrollArea):
        widget = widget.parentWidget()
    return widget or editor
