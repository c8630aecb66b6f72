"""The Bulk Web ID/PIN Assign wizard and its exceptions report, page by page through the
real widgets."""

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWizard

from clerkdesk.models import BulkAssignItem, BulkAssignRun, Household, Member, WebAccount
from clerkdesk.services import bulk_assign
from clerkdesk.ui.bulk_assign_wizard import BulkAssignWizard
from clerkdesk.ui.bulk_runs import BulkRunsDialog
from clerkdesk.ui.exceptions_report import ExceptionsReportDialog
from clerkdesk.ui.main_window import MainWindow
from clerkdesk.ui.web_details import WebDetailsDialog
from tests.ui.modal import when_modal

SCOPE, RULES, PREVIEW, RUN, FINISH = range(5)


def add(client_id, last, first, email=""):
    home = Household.create(client_id=client_id, name=last, email=email)
    Member.create(household=home, first_name=first, last_name=last, is_primary=True,
                  birth_date=date(1990, 1, 2))
    return home.id


@pytest.fixture
def town(db):
    return {"obrien": add("0012345", "O'Brien", "Siobhán", "s@example.org"),
            "ng": add("7", "Ng", "J", "j@example.org"),
            "noemail": add("555", "García", "José"),
            "html": add("556", "<b>Bold</b>", "Al", "al@example.org")}


def open_wizard(qtbot, session, **kwargs):
    wizard = BulkAssignWizard(session, **kwargs)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def next_page(qtbot, wizard):
    button = wizard.button(QWizard.WizardButton.NextButton)
    if wizard.currentPage().isCommitPage():
        button = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def to_preview(qtbot, wizard):
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    assert wizard.currentId() == PREVIEW
    qtbot.waitUntil(lambda: wizard.preview is not None)


def run_it(qtbot, wizard, answer_message_box):
    seen = answer_message_box(QMessageBox.StandardButton.Yes)
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.currentId() == FINISH, timeout=10_000)
    return seen


def test_walk_the_wizard_preview_run_and_print_exceptions(qtbot, supervisor, town,
                                                          answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    assert wizard.scope_page.only_email.isChecked()
    assert wizard.rules_page.must_change.isChecked()
    next_page(qtbot, wizard)
    assert "sobri345" in wizard.rules_page.example.text()
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.preview is not None)
    page = wizard.preview_page
    assert "<b>4</b> households" in page.summary.text()
    assert "no email: 1" in page.summary.text()
    assert WebAccount.select().count() == 0  # the preview wrote nothing
    assert sorted(row[3] for row in page.sample.rows) == ["abbol556", "jng7", "sobri345"]
    seen = run_it(qtbot, wizard, answer_message_box)
    assert "Assign 3 logins now?" in seen[0]
    assert {a.username for a in WebAccount.select()} == {"sobri345", "jng7", "abbol556"}
    assert "3 logins assigned, 1 exceptions" in wizard.page(FINISH).summary.text()

    def check_report(dialog):
        assert dialog.model.rows[0][0] == "555" and dialog.model.rows[0][3] == "no email"
        dialog.accept()

    when_modal(ExceptionsReportDialog, check_report)
    qtbot.mouseClick(wizard.page(FINISH).print_button, Qt.MouseButton.LeftButton)


def test_custom_pattern_shows_its_example_and_a_bad_one_is_refused(qtbot, supervisor, town,
                                                                   answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    rules = wizard.rules_page
    rules.rule.setCurrentIndex(rules.rule.findData(""))
    rules.pattern.clear()
    qtbot.keyClicks(rules.pattern, "{last}-{id:-2}")
    assert "obrien-45" in rules.example.text()
    rules.pattern.clear()
    qtbot.keyClicks(rules.pattern, "{first} <script>")
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == RULES
    assert "Between the tokens" in seen[0]
    assert BulkAssignRun.select().count() == 0


def test_overwrite_needs_yes_typed_on_the_preview(qtbot, supervisor, town, answer_message_box):
    from clerkdesk.services import web_accounts

    web_accounts.create_account(supervisor, town["ng"], "j-own")
    wizard = open_wizard(qtbot, supervisor)
    wizard.scope_page.kinds.buttons()[1].setChecked(True)  # all households
    wizard.scope_page.overwrite.setChecked(True)
    to_preview(qtbot, wizard)
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    assert not commit.isEnabled()
    assert "0 logins that households have already used" in \
        wizard.preview_page.confirm_note.text()
    qtbot.keyClicks(wizard.preview_page.confirm, "yes")
    assert not commit.isEnabled()
    wizard.preview_page.confirm.clear()
    qtbot.keyClicks(wizard.preview_page.confirm, "YES")
    assert commit.isEnabled()
    run_it(qtbot, wizard, answer_message_box)
    assert WebAccount.get(WebAccount.household == town["ng"]).username == "jng7"


def test_cancel_then_resume_does_nothing_twice(qtbot, supervisor, town, answer_message_box,
                                               monkeypatch):
    monkeypatch.setattr(bulk_assign, "BATCH", 1)
    wizard = open_wizard(qtbot, supervisor)
    wizard.scope_page.only_email.setChecked(False)
    to_preview(qtbot, wizard)
    answer_message_box(QMessageBox.StandardButton.Yes)
    run_page = wizard.run_page
    run_page.initializePage = _cancelling_start(run_page, run_page.initializePage)
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: run_page.resume_button.isVisible(), timeout=10_000)
    stopped = BulkAssignRun.get()
    assert stopped.state == "cancelled" and stopped.done < 4
    assert "resume" in run_page.status.text().lower()
    qtbot.mouseClick(run_page.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.currentId() == FINISH, timeout=10_000)
    assert BulkAssignRun.get().state == "finished"
    assert BulkAssignItem.select().count() == 4
    assert WebAccount.select().count() == 4


def _cancelling_start(page, start):
    def start_then_cancel():
        start()
        page.cancel()  # before the first batch has been committed

    return start_then_cancel


def test_report_double_click_opens_web_details_and_saves_csv_and_pdf(
        qtbot, supervisor, town, answer_message_box, tmp_path, monkeypatch):
    wizard = open_wizard(qtbot, supervisor)
    to_preview(qtbot, wizard)
    run_it(qtbot, wizard, answer_message_box)
    run = bulk_assign.recent_runs(supervisor)[0]
    dialog = ExceptionsReportDialog.for_run(supervisor, run)
    qtbot.addWidget(dialog)
    dialog.show()
    opened = []

    def look(details):
        opened.append(details.household_id)
        details.reject()

    when_modal(WebDetailsDialog, look)
    index = dialog.proxy.index(0, 0)
    dialog.table.doubleClicked.emit(index)
    assert opened == [town["noemail"]]
    for suffix, save, check in ((".csv", dialog.save_csv, lambda b: b"Garc" in b),
                                (".pdf", dialog.save_pdf, lambda b: b.startswith(b"%PDF"))):
        target = tmp_path / f"report{suffix}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, t=target: (str(t), "")))
        answer_message_box()
        save()
        assert check(target.read_bytes())


def test_undo_from_the_finish_page(qtbot, supervisor, town, answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    to_preview(qtbot, wizard)
    run_it(qtbot, wizard, answer_message_box)
    answer_message_box(QMessageBox.StandardButton.Yes)
    when_modal(QMessageBox, lambda box: box.button(QMessageBox.StandardButton.Ok).click()
               if "deleted" in box.text() else None)
    qtbot.mouseClick(wizard.page(FINISH).undo_button, Qt.MouseButton.LeftButton)
    assert WebAccount.select().count() == 0
    assert BulkAssignRun.get().state == "undone"


def test_runs_window_lists_runs_and_offers_what_fits(qtbot, supervisor, town,
                                                     answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    to_preview(qtbot, wizard)
    run_it(qtbot, wizard, answer_message_box)
    runs = BulkRunsDialog(supervisor)
    qtbot.addWidget(runs)
    assert runs.model.rows[0][3] == "finished"
    assert not runs.buttons["resume"].isEnabled()
    assert runs.buttons["exceptions"].isEnabled() and runs.buttons["undo"].isEnabled()


@pytest.mark.parametrize(("role", "enabled"), [("clerk", False), ("supervisor", True)])
def test_menu_entry_follows_the_bulk_assign_device(qtbot, request, role, enabled):
    session = request.getfixturevalue(role)
    window = MainWindow(session, "test")
    qtbot.addWidget(window)
    action = next(a for a in window.menuBar().actions()[2].menu().actions()
                  if a.text().startswith("&Bulk Web ID/PIN"))
    assert action.isEnabled() is enabled
    assert action.shortcut().toString() == "Ctrl+Shift+B"
    if not enabled:
        assert "Bulk assign web IDs and PINs" in action.toolTip()


def test_report_sorts_client_ids_as_numbers(qtbot, supervisor):
    from PySide6.QtCore import QPoint

    from clerkdesk.services.bulk_report import ExceptionRow

    rows = [ExceptionRow(i, client, "Name", "", "no email", "", "") for i, client in
            enumerate(("10", "9", "100", "C-7"))]
    dialog = ExceptionsReportDialog(supervisor, "Exceptions", "", rows)
    qtbot.addWidget(dialog)
    dialog.show()
    header = dialog.table.horizontalHeader()
    middle = QPoint(header.sectionViewportPosition(0) + header.sectionSize(0) // 2,
                    header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=middle)
    shown = [dialog.proxy.index(r, 0).data() for r in range(dialog.proxy.rowCount())]
    assert shown in (["9", "10", "100", "C-7"], ["C-7", "100", "10", "9"])
