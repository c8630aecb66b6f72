"""The first-run and sign-in dialogs, driven through their widgets."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from clerkdesk.models import StaffUser
from clerkdesk.ui.sign_in import FirstRunDialog, SignInDialog
from tests.conftest import STAFF_PASSWORD


def _type(qtbot, dialog, **values):
    for name, text in values.items():
        field = getattr(dialog, name)
        field.clear()
        qtbot.keyClicks(field, text)


def _press_ok(qtbot, dialog):
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_first_run_creates_the_administrator(qtbot, db):
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog, username="ada", display_name="Ada Lovelace",
          password="engine-number-1", confirm="engine-number-1")
    _press_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.session.username == "ada"
    assert StaffUser.get().display_name == "Ada Lovelace"


def test_first_run_mismatch_is_shown_and_nothing_is_created(qtbot, db):
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog, username="ada", password="engine-number-1", confirm="engine-number-2")
    _press_ok(qtbot, dialog)
    qtbot.waitUntil(dialog.problem.isVisible)
    assert "do not match" in dialog.problem.text()
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    assert dialog.confirm.hasFocus()
    assert StaffUser.select().count() == 0


def test_first_run_refuses_hostile_user_name(qtbot, db):
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog, username="<script>alert(1)</script>", password="engine-number-1",
          confirm="engine-number-1")
    _press_ok(qtbot, dialog)
    qtbot.waitUntil(dialog.problem.isVisible)
    assert "letters, digits" in dialog.problem.text()
    assert dialog.username.hasFocus()
    assert StaffUser.select().count() == 0


def test_sign_in_wrong_then_right(qtbot, admin):
    dialog = SignInDialog("SQLite · test")
    qtbot.addWidget(dialog)
    dialog.show()
    _type(qtbot, dialog, username="root-admin", password="not-the-password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.problem.isVisible)
    assert dialog.problem.text() == "The user name or password is not correct."
    assert dialog.password.text() == ""  # never left behind in the field
    _type(qtbot, dialog, password=STAFF_PASSWORD)
    _press_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.session.username == "root-admin"


def test_sign_in_with_empty_fields_says_what_to_enter(qtbot, admin):
    dialog = SignInDialog("SQLite · test")
    qtbot.addWidget(dialog)
    dialog.show()
    _press_ok(qtbot, dialog)
    qtbot.waitUntil(dialog.problem.isVisible)
    assert dialog.problem.text() == "Enter your user name."
    assert dialog.username.hasFocus()


def test_sign_in_shows_the_lockout(qtbot, admin):
    dialog = SignInDialog("SQLite · test")
    qtbot.addWidget(dialog)
    dialog.show()
    for _ in range(5):
        dialog.problem.hide()
        _type(qtbot, dialog, username="root-admin", password="wrong-password")
        _press_ok(qtbot, dialog)
        qtbot.waitUntil(dialog.problem.isVisible)
    assert "locked" in dialog.problem.text()
    assert "ask an administrator" in dialog.problem.text()


def test_demo_sign_in_hint(qtbot, db):
    dialog = SignInDialog("SQLite · demo", demo=True)
    qtbot.addWidget(dialog)
    hints = [label.text() for label in dialog.findChildren(type(dialog.problem))
             if label.objectName() == "hint"]
    assert hints and "admin-demo-pass" in hints[0] and "clerk" in hints[0]
