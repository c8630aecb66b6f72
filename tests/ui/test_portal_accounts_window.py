"""Portal Accounts through its widgets: filter, search, select, and each action's button."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from clerkdesk.models import Household, Member, WebAccount
from clerkdesk.services import portal, search_index, web_accounts
from clerkdesk.services.portal import Outcome
from clerkdesk.ui.main_window import MainWindow
from clerkdesk.ui.portal_accounts import EmailDialog, PortalAccountsWindow, ShownOnceDialog
from clerkdesk.ui.web_details import WebDetailsDialog
from tests.smtp_server import body_of
from tests.ui.modal import when_modal


@pytest.fixture
def accounts(clerk):
    made = {}
    for number, (name, first) in enumerate((("O'Brien", "Siobhán"), ("Smith", "Ann"),
                                            ("Smithers", "Bob"), ("Ng", "Li"))):
        home = Household.create(client_id=f"10{number}", name=name,
                                email=f"{first.lower()}@example.org")
        Member.create(household=home, first_name=first, last_name=name, is_primary=True)
        search_index.reindex(home.id)
        user = f"{first[0].lower()}{name.lower().replace(chr(39), '')}"
        made[user] = web_accounts.create_account(clerk, home.id, user).id
    return made


def _window(qtbot, session):
    window = PortalAccountsWindow(session)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.model.loading)
    return window


def _names(window):
    return [window.model.account(r).username for r in range(window.model.rowCount())]


def _select(window, username):
    window.results.selectRow(_names(window).index(username))
    assert window.selected().username == username


def test_filter_and_search_as_you_type(qtbot, clerk, accounts):
    WebAccount.update(locked=True).where(WebAccount.username == "bsmithers").execute()
    window = _window(qtbot, clerk)
    assert _names(window) == ["asmith", "bsmithers", "lng", "sobrien"]
    qtbot.waitUntil(lambda: window.count.text() == "4 accounts · All accounts")
    qtbot.keyClicks(window.search_box, "smi")
    qtbot.waitUntil(lambda: _names(window) == ["asmith", "bsmithers"])
    qtbot.waitUntil(lambda: window.count.text() == "2 accounts matching “smi” · All accounts")
    window.filter_box.setCurrentIndex(window.filter_box.findData("locked"))
    qtbot.waitUntil(lambda: _names(window) == ["bsmithers"])
    assert window.model.data(window.model.index(0, 5)) == "Locked"
    window.search_box.clear()
    qtbot.keyClicks(window.search_box, "<b>'; drop")
    qtbot.waitUntil(lambda: _names(window) == [])
    qtbot.keyClick(window.search_box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Backspace)
    window.filter_box.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len(_names(window)) == 4)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Down)
    assert window.focusWidget() is window.results and window.selected().username == "asmith"


def test_buttons_need_a_selection_and_their_permission(qtbot, clerk, supervisor, accounts):
    window = _window(qtbot, clerk)
    assert not window.buttons["edit_email"].isEnabled()  # nothing selected yet
    _select(window, "asmith")
    assert window.buttons["edit_email"].isEnabled()
    assert window.buttons["send_reset"].isEnabled()
    assert window.buttons["create_password"].isEnabled()
    for slot in ("toggle_active", "delete_account"):
        assert not window.buttons[slot].isEnabled()
        assert "Disable and delete web accounts" in window.buttons[slot].toolTip()
    assert "asmith" in window.title.text() and "Smith" in window.title.text()
    window = _window(qtbot, supervisor)
    _select(window, "asmith")
    assert window.buttons["toggle_active"].isEnabled()
    assert window.buttons["delete_account"].isEnabled()
    keys = {s.key().toString() for s in window.findChildren(QShortcut)}
    assert {"Ctrl+F", "Ctrl+E", "Ctrl+T", "Ctrl+R", "Ctrl+P", "Del", "Ctrl+W", "F5"} <= keys


def test_edit_email_through_its_dialog(qtbot, clerk, accounts):
    window = _window(qtbot, clerk)
    _select(window, "asmith")
    problems = []

    def answer(dialog):
        dialog.email.setText("not an email")
        dialog.ok_button.click()
        qtbot.waitUntil(dialog.problem.isVisible)
        problems.append(dialog.problem.text())
        dialog.email.setText("Ann.Smith@Example.org")
        dialog.ok_button.click()

    when_modal(EmailDialog, answer)
    window.buttons["edit_email"].click()
    assert problems and "not a valid email" in problems[0]
    assert WebAccount.get_by_id(accounts["asmith"]).email == "Ann.Smith@example.org"
    assert window.selected().email == "Ann.Smith@example.org"  # the row was refreshed
    assert "saved" in window.statusBar().currentMessage()


def test_deactivate_then_activate(qtbot, supervisor, accounts):
    window = _window(qtbot, supervisor)
    _select(window, "lng")
    assert window.buttons["toggle_active"].text() == "Deac&tivate"
    window.buttons["toggle_active"].click()
    qtbot.waitUntil(lambda: WebAccount.get_by_id(accounts["lng"]).status == "disabled")
    qtbot.waitUntil(lambda: window.buttons["toggle_active"].text() == "Ac&tivate")
    assert window.selected().state == "Deactivated"
    window.buttons["toggle_active"].click()
    qtbot.waitUntil(lambda: window.selected().state == "Active")
    assert WebAccount.get_by_id(accounts["lng"]).status == "active"


def test_send_reset_email_reaches_the_server(qtbot, clerk, accounts, mail):
    window = _window(qtbot, clerk)
    _select(window, "bsmithers")
    window.buttons["send_reset"].click()
    qtbot.waitUntil(lambda: len(mail.received) == 1, timeout=10_000)
    assert "reset?token=" in body_of(mail.received[0][1])
    qtbot.waitUntil(lambda: "bob@example.org" in window.statusBar().currentMessage())


def test_send_reset_refusal_is_shown(qtbot, clerk, accounts, answer_message_box):
    window = _window(qtbot, clerk)
    _select(window, "bsmithers")
    seen = answer_message_box()
    window.buttons["send_reset"].click()  # no portal address is set
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert "portal address is not set" in seen[0]


def _create_password(qtbot, window, email: bool):
    shown = []

    def on_password(dialog):
        shown.append(dialog.password.text())
        dialog.copy()
        (dialog.email_button if email else dialog.close_button).click()

    def on_question(box):
        assert "current password stops working" in box.text()
        when_modal(ShownOnceDialog, on_password)
        box.button(QMessageBox.StandardButton.Yes).click()

    when_modal(QMessageBox, on_question)
    window.buttons["create_password"].click()
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    return shown[0]


def test_create_client_password_is_shown_once_and_signs_in(qtbot, clerk, accounts):
    window = _window(qtbot, clerk)
    _select(window, "sobrien")
    password = _create_password(qtbot, window, email=False)
    assert QApplication.clipboard().text() == password
    assert portal.authenticate("sobrien", password).outcome is Outcome.MUST_CHANGE
    assert password not in window.facts.text() and password not in window.title.text()
    qtbot.waitUntil(lambda: "New password created" in window.statusBar().currentMessage())


def test_create_client_password_and_email_it(qtbot, clerk, accounts, mail):
    window = _window(qtbot, clerk)
    _select(window, "asmith")
    password = _create_password(qtbot, window, email=True)
    qtbot.waitUntil(lambda: "emailed to ann@example.org" in
                    window.statusBar().currentMessage(), timeout=10_000)
    assert any(password in body_of(message) for _, message in mail.received)
    assert portal.authenticate("asmith", password).outcome is Outcome.MUST_CHANGE


def test_delete_asks_naming_the_household_that_stays(qtbot, supervisor, accounts,
                                                     answer_message_box):
    window = _window(qtbot, supervisor)
    _select(window, "lng")
    seen = answer_message_box(QMessageBox.StandardButton.No)
    window.buttons["delete_account"].click()
    assert "household “Ng” (client 103)" in seen[0] and "stay" in seen[0]
    assert WebAccount.get_or_none(WebAccount.id == accounts["lng"]) is not None
    answer_message_box(QMessageBox.StandardButton.Yes)
    window.buttons["delete_account"].click()
    qtbot.waitUntil(lambda: "lng" not in _names(window))
    assert WebAccount.get_or_none(WebAccount.id == accounts["lng"]) is None
    assert Household.get(Household.client_id == "103").name == "Ng"


def test_double_click_opens_web_details(qtbot, clerk, accounts):
    window = _window(qtbot, clerk)
    _select(window, "sobrien")
    opened = []

    def look(dialog):
        opened.append(dialog.username.text())
        dialog.reject()

    when_modal(WebDetailsDialog, look)
    index = window.results.currentIndex()
    rect = window.results.visualRect(index)
    qtbot.mouseDClick(window.results.viewport(), Qt.MouseButton.LeftButton,
                      pos=rect.center())
    assert opened == ["sobrien"]


def test_many_accounts_are_fetched_as_the_list_scrolls(qtbot, clerk, accounts):
    for number in range(120):
        home = Household.create(client_id=f"M{number}", name=f"Many{number:03d}")
        WebAccount.create(household=home, username=f"many{number:03d}",
                          username_key=f"many{number:03d}")
    window = _window(qtbot, clerk)
    assert window.model.rowCount() == 50 and window.model.canFetchMore()
    while window.model.canFetchMore():
        window.model.fetchMore()
    names = _names(window)
    assert len(names) == 124 and len(set(names)) == 124


def test_main_window_opens_portal_accounts(qtbot, clerk):
    window = MainWindow(clerk, "SQLite · test")
    qtbot.addWidget(window)
    action = next(a for m in window.menuBar().findChildren(QMenu) for a in m.actions()
                  if a.text().replace("&", "") == "Portal Accounts…")
    assert action.isEnabled() and action.shortcut().toString() == "Ctrl+Shift+P"
    action.trigger()
    assert window.portal_accounts is not None and window.portal_accounts.isVisible()
    window.portal_accounts.close()
