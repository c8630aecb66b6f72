"""Starting the program: demo database, first run, and a database that cannot be opened."""

from clerkdesk.models import Household, StaffUser
from clerkdesk.services import demo
from clerkdesk.services.database import close_database
from clerkdesk.ui import app as gui
from clerkdesk.ui.sign_in import FirstRunDialog, SignInDialog
from tests.ui.modal import when_modal


def _answer_dialog(qtbot, kind, fill):
    """Once a dialog of `kind` is the active modal window, fill it in and submit it."""
    seen = []

    def act(dialog):
        seen.append(dialog)
        fill(qtbot, dialog)
        dialog.ok_button.click()

    when_modal(kind, act)
    return seen


def _sign_in_as(username, password):
    def fill(qtbot, dialog):
        qtbot.keyClicks(dialog.username, username)
        qtbot.keyClicks(dialog.password, password)
    return fill


def test_demo_mode_creates_the_demo_database_then_signs_in(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CLERKDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_HOUSEHOLDS", 300)
    desk = gui.Desk(None, demo_mode=True)
    assert desk.open()
    assert (tmp_path / "demo.sqlite3").exists()
    assert Household.select().count() == 300
    seen = _answer_dialog(qtbot, SignInDialog, _sign_in_as("clerk", "clerk-demo-pass"))
    assert desk.sign_in()
    qtbot.addWidget(desk.window)
    assert seen and desk.window.role_label.text() == "Signed in as Casey Lee · Clerk"
    assert "demo.sqlite3" in desk.window.database_status.text()
    # A second start reuses the demo database instead of adding more households.
    close_database()
    assert gui.Desk(None, demo_mode=True).open()
    assert Household.select().count() == 300
    close_database()


def test_first_run_on_an_empty_database(qtbot, tmp_path):
    desk = gui.Desk(f"sqlite:///{tmp_path / 'new.sqlite3'}", demo_mode=False)
    assert desk.open()

    def fill(qtbot, dialog):
        qtbot.keyClicks(dialog.username, "boss")
        qtbot.keyClicks(dialog.password, "first-admin-pass")
        qtbot.keyClicks(dialog.confirm, "first-admin-pass")

    _answer_dialog(qtbot, FirstRunDialog, fill)
    assert desk.sign_in()
    qtbot.addWidget(desk.window)
    assert StaffUser.get().username == "boss"
    assert "Administrator" in desk.window.role_label.text()
    close_database()


def test_a_database_that_cannot_be_opened_is_explained(qtbot, answer_message_box):
    seen = answer_message_box()
    desk = gui.Desk("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2", False)
    assert not desk.open()
    assert seen and "cannot be reached" in seen[0]


def test_cancelling_sign_in_quits(qtbot, admin):
    desk = gui.Desk(None, demo_mode=False)
    desk.database_label = "test"

    when_modal(SignInDialog, lambda dialog: dialog.reject())
    assert desk.sign_in() is False
    assert desk.window is None
