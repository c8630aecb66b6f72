"""File → Import portal users, page by page through the real widgets."""

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWizard

from clerkdesk.models import Household, WebAccount
from clerkdesk.services import portal
from clerkdesk.services.portal import Outcome
from clerkdesk.ui.import_wizard import (
    CHECK,
    DONE,
    MAP,
    MODE,
    NOT_IN_FILE,
    ImportWizard,
    open_import_wizard,
)

PLAIN = "Kennel-old-pw-99"
FORMULA = "=cmd|'/c calc'!A0"


@pytest.fixture
def kennel(db, tmp_path):
    for client_id, name in (("1001", "O'Brien"), ("1002", "Ng"), ("1003", "García")):
        Household.create(client_id=client_id, name=name, email=f"{client_id}@example.org")
    path = tmp_path / "olr-users.csv"
    path.write_text("Client ID,Login,Email Address,Password\n"
                    f"1001,obrien,s@example.org,{PLAIN}\n"
                    "1002,ng,not-an-email,\n"
                    f'1003,"{FORMULA}",,\n', encoding="utf-8-sig")
    return path


def open_wizard(qtbot, session):
    wizard = ImportWizard(session)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def next_page(qtbot, wizard):
    button = wizard.button(QWizard.WizardButton.NextButton)
    if wizard.currentPage().isCommitPage():
        button = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def to_check(qtbot, wizard, path):
    qtbot.keyClicks(wizard.file_page.path, str(path))
    next_page(qtbot, wizard)
    assert wizard.currentId() == MAP
    next_page(qtbot, wizard)
    assert wizard.currentId() == CHECK
    qtbot.waitUntil(lambda: wizard.check is not None)


def test_walk_the_wizard_and_import_skipping_the_bad_row(qtbot, supervisor, kennel, tmp_path,
                                                         monkeypatch, answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    qtbot.keyClicks(wizard.file_page.path, str(kennel))
    next_page(qtbot, wizard)
    page = wizard.map_page
    assert page.combos["client_id"].currentText() == "Client ID"
    assert page.combos["email"].currentText() == "Email Address"
    assert page.combos["password"].currentText() == "Password"
    assert page.examples["password"].text() == "(hidden: never shown)"
    assert "UTF-8 (with BOM)" in page.file_label.text()
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.check is not None)
    check_page = wizard.check_page
    assert "<b>2</b> can be imported" in check_page.summary.text()
    assert [row[2] for row in check_page.sample.rows] == ["obrien", FORMULA]
    assert check_page.sample.rows[0][6] == "plain (will be hashed)"
    assert check_page.problems.rows[0][:3] == (3, "Email Address", "not-an-email")
    assert PLAIN not in repr(check_page.sample.rows) + repr(check_page.problems.rows)
    report = tmp_path / "problems.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(report), ""))
    seen = answer_message_box()
    qtbot.mouseClick(check_page.save_button, Qt.MouseButton.LeftButton)
    assert "Saved 1 exceptions" in seen[0]
    with open(report, encoding="utf-8-sig", newline="") as stream:
        assert list(csv.reader(stream))[1][:2] == ["3", "Email Address"]
    next_page(qtbot, wizard)
    assert wizard.currentId() == MODE
    assert wizard.mode_page.skip_bad.isChecked()  # there are bad rows
    seen = answer_message_box(QMessageBox.StandardButton.Yes)
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.currentId() == DONE, timeout=10_000)
    assert "Import 2 web accounts now?" in seen[0]
    done = wizard.done_page
    assert "<b>2 web accounts imported</b> from olr-users.csv (1 rows with problems skipped)" \
        in done.summary.text()
    assert done.advice.isVisible() and "Delete the file now." in done.advice.text()
    assert str(kennel) in done.advice.text()
    assert {a.username for a in WebAccount.select()} == {"obrien", FORMULA}
    assert portal.authenticate("obrien", PLAIN).outcome is Outcome.OK


def test_all_or_nothing_cannot_start_with_bad_rows(qtbot, supervisor, kennel):
    wizard = open_wizard(qtbot, supervisor)
    to_check(qtbot, wizard, kennel)
    next_page(qtbot, wizard)
    mode = wizard.mode_page
    mode.all_or_nothing.setChecked(True)
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert "nothing would be imported" in mode.mode_note.text()
    mode.skip_bad.setChecked(True)
    assert wizard.button(QWizard.WizardButton.CommitButton).isEnabled()


def test_a_missing_required_column_blocks_the_mapping_page(qtbot, supervisor, kennel):
    wizard = open_wizard(qtbot, supervisor)
    qtbot.keyClicks(wizard.file_page.path, str(kennel))
    next_page(qtbot, wizard)
    page = wizard.map_page
    page.combos["username"].setCurrentText(NOT_IN_FILE)
    assert "User name" in page.problem.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    page.combos["username"].setCurrentText("Login")
    page.required["phone"].setChecked(True)
    assert "Phone" in page.problem.text()
    page.required["phone"].setChecked(False)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_an_unreadable_file_is_explained_on_the_first_page(qtbot, supervisor, kennel, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Client,Login\n1001,\x81\x8d\x8f\n")
    wizard = open_wizard(qtbot, supervisor)
    qtbot.keyClicks(wizard.file_page.path, str(bad))
    next_page(qtbot, wizard)
    assert wizard.currentId() == 0
    assert "CSV UTF-8" in wizard.file_page.problem.text()


def test_a_clerk_is_told_the_import_needs_its_permission(qtbot, clerk, answer_message_box):
    seen = answer_message_box()
    assert open_import_wizard(None, clerk) is None
    assert "data.import" in seen[0]
