"""Household Maintenance and Web Details through their widgets, for each role."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QMessageBox

from clerkdesk.models import Household, WebAccount
from clerkdesk.services import households, portal, web_accounts
from clerkdesk.services.households import HouseholdData, MemberData
from clerkdesk.services.portal import Outcome
from clerkdesk.ui.household_maintenance import HouseholdMaintenanceWindow
from clerkdesk.ui.web_details import WebDetailsDialog
from tests.smtp_server import body_of
from tests.ui.modal import when_modal

NEW_PASSWORD = "Counter-Pass-4455"


@pytest.fixture
def families(clerk):
    made = []
    for number, (name, first) in enumerate((("O'Brien", "Siobhán"), ("Smith", "Ann"),
                                            ("Smithers", "Bob"))):
        made.append(households.save_household(clerk, None, None, HouseholdData(
            client_id=f"10{number}", name=name, email=f"{first.lower()}@example.org",
            phone=f"303-555-01{number}0",
            members=(MemberData(first_name=first, last_name=name),))).id)
    return made


def _window(qtbot, session):
    window = HouseholdMaintenanceWindow(session)
    # Closing at teardown must not stop on the unsaved-changes question.
    qtbot.addWidget(window, before_close_func=lambda w: w._set_dirty(False))
    window.show()
    return window


def _window_with_new_member(qtbot, session, household_id, first_name):
    """Household Maintenance on a household, a member added through the editor and saved."""
    window = _window(qtbot, session)
    window.open_household(household_id)
    window.editor.add_member()
    row = window.editor.members.rowCount() - 1
    window.editor.members.item(row, 0).setText(first_name)
    window.save()
    return window


def _ids(window):
    return [window.model.household_id(r) for r in range(window.model.rowCount())]


def test_type_arrow_enter_opens_the_household(qtbot, clerk, families):
    window = _window(qtbot, clerk)
    qtbot.keyClicks(window.search_box, "smi")
    assert _ids(window) == [families[1], families[2]]
    qtbot.waitUntil(lambda: window.count.text() == "2 households")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Down)
    assert window.focusWidget() is window.results
    qtbot.keyClick(window.results, Qt.Key.Key_Down)
    qtbot.keyClick(window.results, Qt.Key.Key_Return)
    assert window.editor.lines["name"].text() == "Smithers"


def test_search_by_phone_client_id_and_user_name(qtbot, clerk, families):
    web_accounts.create_account(clerk, families[0], "siobhan.family")
    window = _window(qtbot, clerk)
    for query, expected in (("555-0100", families[0]), ("101", families[1]),
                            ("siobhan.fam", families[0]), ("O'BRIEN", families[0])):
        window.search_box.setText(query)
        assert _ids(window)[0] == expected, query


def test_edit_and_save_refreshes_only_that_row(qtbot, clerk, families):
    window = _window(qtbot, clerk)
    window.open_household(families[1])
    window.editor.lines["city"].clear()
    qtbot.keyClicks(window.editor.lines["city"], "Fort Irwin")
    assert "unsaved" in window.windowTitle()
    keys = {s.key().toString() for s in window.findChildren(QShortcut)}
    assert {"Ctrl+S", "Ctrl+F", "Ctrl+W", "Ctrl+N", "Esc"} <= keys
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert Household.get_by_id(families[1]).city == "Fort Irwin"
    assert "unsaved" not in window.windowTitle()


def test_bad_input_is_shown_and_nothing_saved(qtbot, clerk, families):
    window = _window(qtbot, clerk)
    window.open_household(families[0])
    window.editor.lines["email"].setText("not-an-email")
    window.editor.edited.emit()
    window.save_button.click()
    assert "not a valid email" in window.problem.text()
    assert Household.get_by_id(families[0]).email == "siobhán@example.org"


def test_two_clerk_conflict_is_refused_and_offers_reload(qtbot, clerk, supervisor, families,
                                                         answer_message_box):
    window = _window(qtbot, clerk)
    window.open_household(families[1])
    other = households.get_household(supervisor, families[1])
    households.save_household(supervisor, other.id, other.version,
                              replace(other.data, city="Barstow"))
    window.editor.lines["city"].setText("Fort Irwin")
    window.editor.edited.emit()
    seen = answer_message_box(QMessageBox.StandardButton.No)
    window.save_button.click()
    assert seen and "Sam changed this household" in seen[0]
    assert Household.get_by_id(families[1]).city == "Barstow"
    assert window.editor.lines["city"].text() == "Fort Irwin"  # the clerk's edit is kept


def test_switching_with_unsaved_changes_asks(qtbot, clerk, families, answer_message_box):
    window = _window(qtbot, clerk)
    window.open_household(families[0])
    window.editor.lines["city"].setText("Cork")
    window.editor.edited.emit()
    seen = answer_message_box(QMessageBox.StandardButton.Cancel)
    assert window.open_household(families[1]) is False
    assert seen and window.editor.lines["city"].text() == "Cork"


def test_members_add_and_case_note(qtbot, clerk, families):
    window = _window_with_new_member(qtbot, clerk, families[0], "Aoife")
    assert [m.first_name for m in households.get_household(clerk, families[0]).data.members] \
        == ["Siobhán", "Aoife"]
    qtbot.keyClicks(window.editor.note_text, "Asked about <i>swim</i> times")
    qtbot.keyClick(window.editor.note_text, Qt.Key.Key_Return)
    assert "Asked about <i>swim</i> times" in window.editor.notes.item(0).text()


def _dialog(qtbot, session, household_id):
    dialog = WebDetailsDialog(session, household_id, "Test")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_create_web_account_from_web_details(qtbot, clerk, families, answer_message_box):
    dialog = _dialog(qtbot, clerk, families[1])
    assert dialog.create_button.isVisible() and not dialog.email_button.isVisible()
    qtbot.keyClicks(dialog.username, "ann.smith")
    seen = answer_message_box()
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.account is not None)
    qtbot.waitUntil(lambda: bool(seen))
    assert WebAccount.get().username == "ann.smith"


def test_change_user_name_and_password_then_done(qtbot, clerk, families, mail):
    account = web_accounts.create_account(clerk, families[0], "obrien")
    dialog = _dialog(qtbot, clerk, families[0])
    assert dialog.password.text() == "" and dialog.password.echoMode().name == "Password"
    dialog.username.setText("OBrien.Family")
    qtbot.keyClicks(dialog.password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.confirm, NEW_PASSWORD)
    qtbot.mouseClick(dialog.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted)
    assert portal.authenticate("obrien.family", NEW_PASSWORD).outcome is Outcome.MUST_CHANGE
    assert web_accounts.get_account(clerk, account.id).username == "OBrien.Family"


def test_mismatch_and_duplicate_name_are_shown(qtbot, clerk, families):
    web_accounts.create_account(clerk, families[0], "taken")
    web_accounts.create_account(clerk, families[1], "mine")
    dialog = _dialog(qtbot, clerk, families[1])
    qtbot.keyClicks(dialog.password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.confirm, NEW_PASSWORD + "x")
    dialog.done_button.click()
    qtbot.waitUntil(dialog.problem.isVisible)
    assert "do not match" in dialog.problem.text() and dialog.focusWidget() is dialog.confirm
    dialog.confirm.setText(NEW_PASSWORD)
    dialog.username.setText("TAKEN")
    dialog.done_button.click()
    qtbot.waitUntil(lambda: "already taken" in dialog.problem.text())
    assert WebAccount.get(WebAccount.username == "mine").password_hash is None


def test_clerk_cannot_unlock_supervisor_can(qtbot, clerk, supervisor, families):
    account = web_accounts.create_account(clerk, families[0], "locked-out")
    web_accounts.lock_account(supervisor, account.id)
    dialog = _dialog(qtbot, clerk, families[0])
    assert dialog.locked.isChecked() and not dialog.locked.isEnabled()
    assert "Unlock web accounts" in dialog.locked.toolTip()
    assert not dialog.status.isEnabled()
    dialog = _dialog(qtbot, supervisor, families[0])
    assert dialog.locked.isEnabled()
    dialog.locked.setChecked(False)
    dialog.done_button.click()
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted)
    assert not WebAccount.get_by_id(account.id).locked


def test_email_credentials_asks_before_minting(qtbot, clerk, families, mail,
                                               answer_message_box):
    web_accounts.create_account(clerk, families[0], "obrien")
    dialog = _dialog(qtbot, clerk, families[0])
    asked = answer_message_box(QMessageBox.StandardButton.Yes)
    dialog.email_button.click()
    qtbot.waitUntil(lambda: bool(asked))
    confirmed = answer_message_box()
    qtbot.waitUntil(lambda: bool(confirmed), timeout=10_000)
    assert "Two emails went to siobhán@example.org" in confirmed[0]
    assert len(mail.received) == 2
    assert "password for our online services" in body_of(mail.received[1][1])


def test_email_with_the_server_down_offers_to_keep_the_change(qtbot, clerk, families, mail,
                                                              answer_message_box):
    web_accounts.create_account(clerk, families[0], "obrien")
    mail.stop()
    dialog = _dialog(qtbot, clerk, families[0])
    qtbot.keyClicks(dialog.password, NEW_PASSWORD)
    qtbot.keyClicks(dialog.confirm, NEW_PASSWORD)
    asked = answer_message_box(QMessageBox.StandardButton.No)
    dialog.email_button.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert "refused the connection" in asked[0] and "not changed" in asked[0]
    assert WebAccount.get().password_hash is None


def test_generate_password_shows_it_once(qtbot, clerk, families):
    web_accounts.create_account(clerk, families[0], "obrien")
    dialog = _dialog(qtbot, clerk, families[0])
    texts = []

    def answer(box):
        texts.append(box.text())
        box.button(QMessageBox.StandardButton.Yes if "Mint" in box.text()
                   else QMessageBox.StandardButton.Ok).click()
        if len(texts) < 2:
            when_modal(QMessageBox, answer)

    when_modal(QMessageBox, answer)
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: len(texts) == 2, timeout=10_000)
    minted = texts[1].split("<b>")[1].split("</b>")[0]
    assert portal.authenticate("obrien", minted).outcome is Outcome.MUST_CHANGE
    assert minted not in dialog.findChild(type(dialog.facts)).text()


def test_per_member_accounts_follow_the_selected_member(qtbot, clerk, admin, families,
                                                        answer_message_box):
    from clerkdesk.services import settings

    settings.set_setting(admin, "accounts.per_member", True)
    window = _window_with_new_member(qtbot, clerk, families[0], "Aoife")
    window.editor.members.selectRow(1)
    member_id = window.editor.selected_member_id()
    dialogs = []

    def create_in_dialog(dialog):
        dialogs.append(dialog)
        dialog.username.setText("aoife")
        answer_message_box()
        dialog.create_button.click()
        qtbot.waitUntil(lambda: dialog.account is not None)
        dialog.reject()

    when_modal(WebDetailsDialog, create_in_dialog)
    window.open_web_details()
    assert dialogs and dialogs[0].member_id == member_id
    assert WebAccount.get(WebAccount.username == "aoife").member_id == member_id


def test_administrator_can_disable_from_web_details(qtbot, clerk, admin, families):
    account = web_accounts.create_account(clerk, families[2], "bob")
    dialog = _dialog(qtbot, admin, families[2])
    assert dialog.status.isEnabled() and dialog.locked.isEnabled()
    dialog.status.setCurrentIndex(1)
    dialog.done_button.click()
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted)
    assert web_accounts.get_account(admin, account.id).status == "disabled"
