"""The sign-up review panel through its widgets: compare, link, create, refuse, once each."""

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from clerkdesk.models import Household, SignUpReview, WebAccount
from clerkdesk.services import households, portal, sign_up, web_accounts
from clerkdesk.services.households import HouseholdData, MemberData
from clerkdesk.ui.sign_up_reviews import SAME_COLOUR, RefuseDialog, SignUpReviewPanel
from tests.conftest import staff_without
from tests.ui.modal import when_modal

PASSWORD = "Heron-Pond-Lantern-7"


@pytest.fixture
def family(clerk):
    return households.save_household(clerk, None, None, HouseholdData(
        client_id="5001", name="Okafor", postal_code="80203", phone="303-555-0142",
        email="chidi.okafor@example.org", members=(
            MemberData(first_name="Chidi", last_name="Okafor", birth_date=date(1979, 3, 2)),))).id


def _request(email="chidi.okafor@example.org", username="maeve.nb", **changes):
    values = dict(first_name="Maeve", last_name="Brennan", email=email, phone="",
                  postal_code="", birth_date=date(1984, 7, 31), username=username,
                  password=PASSWORD, confirm=PASSWORD)
    values.update(changes)
    return portal.sign_up(**values).review_id


@pytest.fixture
def waiting(family):
    return _request()


def _panel(qtbot, session):
    panel = SignUpReviewPanel(session)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    return panel


def _row(panel, field_label):
    table = panel.comparison
    for row in range(table.rowCount()):
        if table.item(row, 0).text() == field_label:
            return [table.item(row, column) for column in range(4)]
    raise AssertionError(field_label)


def test_the_request_is_shown_beside_the_household_with_matches_highlighted(qtbot, clerk,
                                                                             waiting):
    panel = _panel(qtbot, clerk)
    assert panel.count.text() == "1 sign-up request waiting for review"
    assert panel.model.rowCount() == 1 and panel.model.cell(0, 0) == "Maeve Brennan"
    assert "maeve.nb" in panel.title.text()
    email = _row(panel, "Email")
    assert [item.text() for item in email] == ["Email", "chidi.okafor@example.org",
                                               "chidi.okafor@example.org", "✓ same"]
    assert email[1].background().color() == SAME_COLOUR
    last = _row(panel, "Last name")
    assert (last[1].text(), last[2].text(), last[3].text()) == ("Brennan", "Okafor", "differs")
    assert last[1].background().color() != SAME_COLOUR
    assert "Unsure" in panel.verdict.text()
    assert "Okafor (5001)" in panel.on_file_box.title()
    assert panel.link_button.isEnabled() and panel.refuse_button.isEnabled()


def test_link_asks_first_then_the_login_works(qtbot, clerk, family, waiting,
                                              answer_message_box):
    panel = _panel(qtbot, clerk)
    seen = []
    panel.reviews_changed.connect(seen.append)
    asked = answer_message_box(QMessageBox.StandardButton.Yes)
    panel.link_button.click()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert "maeve.nb" in asked[0] and "Okafor (5001)" in asked[0]
    assert seen[0].state == "linked" and seen[0].household_id == family
    assert portal.authenticate("maeve.nb", PASSWORD).signed_in
    assert panel.model.rowCount() == 0
    assert panel.title.text() == "No sign-up requests are waiting."
    assert "Okafor (5001) now has the web login “maeve.nb”" in panel.status.text()
    assert not panel.link_button.isEnabled()


def test_cancel_changes_nothing(qtbot, clerk, waiting, answer_message_box):
    panel = _panel(qtbot, clerk)
    answer_message_box(QMessageBox.StandardButton.Cancel)
    panel.create_button.click()
    assert SignUpReview.get_by_id(waiting).state == "pending"
    assert panel.model.rowCount() == 1


def test_create_new_household(qtbot, clerk, family, waiting, answer_message_box):
    panel = _panel(qtbot, clerk)
    before = Household.select().count()
    asked = answer_message_box(QMessageBox.StandardButton.Yes)
    panel.create_button.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5000)
    assert "Maeve Brennan" in asked[0] and "different families" in asked[0]
    assert Household.select().count() == before + 1
    assert portal.authenticate("maeve.nb", PASSWORD).signed_in


def test_refuse_needs_a_reason(qtbot, clerk, waiting):
    panel = _panel(qtbot, clerk)
    problems = []

    def answer(dialog):
        dialog.ok_button.click()  # no reason yet
        problems.append(dialog.problem.text())
        qtbot.keyClicks(dialog.reason, "Not a member; phoned them")
        dialog.ok_button.click()

    when_modal(RefuseDialog, answer)
    panel.refuse_button.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5000)
    assert problems == ["Enter the reason for refusing."]
    assert SignUpReview.get_by_id(waiting).state == "refused"
    assert "refused" in panel.status.text()


def test_resolved_at_another_desk_meanwhile(qtbot, clerk, supervisor, family, waiting,
                                            answer_message_box):
    panel = _panel(qtbot, clerk)
    sign_up.refuse(supervisor, waiting, "Duplicate")
    answer_message_box(QMessageBox.StandardButton.Yes)
    shown = answer_message_box()

    panel.link_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "already refused by Sam" in shown[0]
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5000)
    assert WebAccount.select().count() == 0


def test_a_user_name_taken_meanwhile_asks_for_another(qtbot, clerk, family, waiting,
                                                      answer_message_box):
    other = Household.create(client_id="9", name="Else")
    web_accounts.create_account(clerk, other.id, "MAEVE.NB")
    panel = _panel(qtbot, clerk)
    answer_message_box(QMessageBox.StandardButton.Yes)
    asked = []

    def choose(dialog):
        asked.append(dialog.labelText())
        dialog.setTextValue("maeve.brennan")
        dialog.accept()

    when_modal(QInputDialog, choose)
    panel.link_button.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5000)
    assert "already taken" in asked[0]
    assert portal.authenticate("maeve.brennan", PASSWORD).signed_in


def test_several_requests_then_the_next_is_selected(qtbot, clerk, family,
                                                    answer_message_box):
    first = _request()
    second = _request(email="x@example.net", username="ann.okafor", first_name="Ann",
                      last_name="Okafor", postal_code="80203")
    panel = _panel(qtbot, clerk)
    assert panel.model.rowCount() == 2 and panel.detail.id == first
    panel.table.selectRow(1)
    assert panel.detail.id == second
    assert panel.model.cell(1, 2) == "Unsure"
    tip = panel.model.data(panel.model.index(1, 2), Qt.ItemDataRole.ToolTipRole)
    assert tip == "Same last name, postal code"
    answer_message_box(QMessageBox.StandardButton.Yes)
    panel.link_button.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    assert panel.detail.id == first


def test_refresh_shows_new_requests(qtbot, clerk, family):
    panel = _panel(qtbot, clerk)
    assert panel.count.text() == "No sign-up requests are waiting"
    assert not panel.refuse_button.isEnabled() and not panel.comparison.isVisible()
    _request()
    panel.refresh_button.click()
    assert panel.model.rowCount() == 1 and panel.comparison.isVisible()


def test_a_role_without_web_details_change_can_only_refuse(qtbot, admin, waiting):
    helper = staff_without(admin, "web_details.change", "hal")
    panel = _panel(qtbot, helper)
    assert panel.model.rowCount() == 1
    assert not panel.link_button.isEnabled() and not panel.create_button.isEnabled()
    assert "Change web user names" in panel.link_button.toolTip()
    assert panel.refuse_button.isEnabled()


def test_a_role_without_household_edit_sees_why(qtbot, admin, waiting):
    greeter = staff_without(admin, "household.edit", "gus")
    panel = _panel(qtbot, greeter)
    assert panel.model.rowCount() == 0
    assert "Edit households" in panel.status.text()
    assert not any(b.isEnabled() for b in (panel.link_button, panel.create_button,
                                           panel.refuse_button))
