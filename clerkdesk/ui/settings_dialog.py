"""Settings: one form built from the settings registry, saved all at once or not at all."""

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import settings
from clerkdesk.services.session import StaffSession

from .messages import error_text

GROUPS = {
    "password_policy": "Password device (portal sign-in)",
    "security": "Security",
    "staff": "Staff sign-in",
    "portal": "Portal",
    "accounts": "Web accounts",
    "phone": "Phone numbers",
}


class SettingsDialog(QDialog):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Settings")
        self.resize(620, 640)
        self.editors: dict[str, QWidget] = {}
        self.original: dict[str, object] = {}
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.body_layout = QVBoxLayout(body)
        self._build_groups()
        scroll.setWidget(body)
        outer.addWidget(scroll)
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

    def _build_groups(self) -> None:
        forms: dict[str, QFormLayout] = {}
        for spec, value in settings.all_settings():
            prefix = spec.key.split(".", 1)[0]
            if prefix not in forms:
                box = QGroupBox(GROUPS.get(prefix, prefix.title()))
                forms[prefix] = QFormLayout(box)
                self.body_layout.addWidget(box)
            editor = self._editor(spec, value)
            editor.setObjectName(spec.key)
            editor.setToolTip(spec.help)
            forms[prefix].addRow(spec.label + ":", editor)
            self.editors[spec.key] = editor
            self.original[spec.key] = value

    @staticmethod
    def _editor(spec: settings.SettingSpec, value: object) -> QWidget:
        if spec.kind is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if spec.kind is int:
            spin = QSpinBox()
            spin.setRange(spec.minimum, spec.maximum)
            spin.setValue(int(value))
            if spec.minimum == 0:
                spin.setSpecialValueText("0 (off)")
            return spin
        line = QLineEdit(str(value))
        line.setPlaceholderText(spec.help)
        return line

    def values(self) -> dict[str, object]:
        current: dict[str, object] = {}
        for key, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                current[key] = editor.isChecked()
            elif isinstance(editor, QSpinBox):
                current[key] = editor.value()
            else:
                current[key] = editor.text()
        return current

    def save(self) -> None:
        changes = {k: v for k, v in self.values().items() if v != self.original[k]}
        try:
            settings.set_settings(self.session, changes)
        except Exception as error:
            self.problem.setText(error_text(error))
            self.problem.show()
            editor = self.editors.get(getattr(error, "field", ""))
            if editor is not None:
                editor.setFocus()
            return
        self.accept()
