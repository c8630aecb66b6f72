"""The mailing reports through the real widgets: the no-email report filtered, saved as CSV and
PDF; credential letters printed to a PDF file (after both warnings) whose PINs sign in; a
cancel at the confirmation mints nothing; the mailing summary."""

import re
import shutil
import subprocess

import pytest
from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from clerkdesk.models import AuditEvent, WebAccount
from clerkdesk.services import portal
from clerkdesk.services import settings as site_settings
from clerkdesk.services.letters import PRINTED_ACTION
from clerkdesk.services.mailing_targets import Targeting
from clerkdesk.services.portal import Outcome
from clerkdesk.ui.job_dialog import JobDialog
from clerkdesk.ui.mailing_reports import (
    open_mailing_summary,
    open_no_email_report,
    open_no_email_report_for_targeting,
)
from tests.test_mailing_reports import home
from tests.test_mailings import draft, pass_holders, queue

Yes, Cancel, Ok = (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel,
                   QMessageBox.StandardButton.Ok)


@pytest.fixture
def town(db, admin):
    site_settings.set_settings(admin, {"portal.url": "https://portal.example.org",
                                       "email.mode": "capture"})
    return {"garcia": home(1, name="García Márquez", first="José"),
            "html": home(2, name="<b>Bold</b>"),
            "fine": home(3, email="fine@example.org"),
            "nologin": home(4, name="Nguyễn", login=False)}


def pdf_text(path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed"
    return subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def in_turn(*steps):
    """Answer the next modal windows one after another: each step is (kind, act)."""
    pending, seen = list(steps), []

    def look():
        if not pending:
            return
        kind, act = pending[0]
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            pending.pop(0)
            seen.append(dialog.text() if isinstance(dialog, QMessageBox) else "")
            act(dialog)
        QTimer.singleShot(20, look)

    QTimer.singleShot(0, look)
    return pending, seen


def click(button):
    return lambda box: box.button(button).click()


def print_to(path):
    def act(dialog):
        dialog.printer().setOutputFileName(str(path))
        dialog.done(QPrintDialog.DialogCode.Accepted)  # accept() would reread its own fields
    return act


def open_report(qtbot, supervisor):
    dialog = open_no_email_report_for_targeting(None, supervisor, Targeting(), "No email")
    qtbot.addWidget(dialog)
    return dialog


def test_report_filters_and_saves_csv_and_pdf(qtbot, supervisor, town, tmp_path,
                                              monkeypatch, answer_message_box):
    dialog = open_report(qtbot, supervisor)
    assert dialog.proxy.rowCount() == 3  # García, <b>Bold</b>, Nguyễn
    dialog.filter.setText("garcía")
    assert [r.household for r in dialog.shown_rows()] == ["García Márquez"]
    dialog.filter.setText("")
    for suffix, save in ((".csv", dialog.save_csv), (".pdf", dialog.save_pdf)):
        target = tmp_path / f"report{suffix}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, t=target: (str(t), "")))
        answer_message_box()
        save()
        assert target.exists()
    csv_text = (tmp_path / "report.csv").read_text("utf-8-sig")
    assert "García Márquez" in csv_text and "(no web login)" in csv_text
    text = pdf_text(tmp_path / "report.pdf")
    assert "García Márquez" in text and "<b>Bold</b>" in text and "Nguyễn" in text


def test_letters_print_to_a_pdf_after_both_warnings_and_their_pins_sign_in(
        qtbot, supervisor, town, tmp_path, monkeypatch, answer_message_box):
    dialog = open_report(qtbot, supervisor)
    letters_pdf = tmp_path / "letters.pdf"
    pending, seen = in_turn((QMessageBox, click(Yes)), (QPrintDialog, print_to(letters_pdf)),
                            (QMessageBox, click(Yes)), (QMessageBox, click(Ok)))
    dialog.print_letters()  # nothing selected: every row shown
    qtbot.waitUntil(lambda: not pending, timeout=20_000)
    confirm, file_warning, done = seen[0], seen[2], seen[3]
    assert "minted NOW for 2 households" in confirm and "only copy" in confirm
    assert "Nguyễn (00004): no web login" in confirm
    assert "letters.pdf" in file_warning and "every new PIN" in file_warning
    assert done.startswith("2 letters went to the printer")
    text = pdf_text(letters_pdf)
    assert "García Márquez" in text and "<b>Bold</b>" in text and "Nguyễn" not in text
    pins = re.findall(r"^PIN\s+(\d{6})$", text, re.MULTILINE)
    assert len(pins) == 2
    for username, pin in zip(("user1", "user2"), pins, strict=True):
        assert username in text
        assert portal.authenticate(username, pin).outcome == Outcome.MUST_CHANGE
    for suffix, save in ((".csv", dialog.save_csv), (".pdf", dialog.save_pdf)):
        target = tmp_path / f"after{suffix}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, t=target: (str(t), "")))
        answer_message_box()
        save()
    saved = pdf_text(tmp_path / "after.pdf") + (tmp_path / "after.csv").read_text("utf-8-sig")
    assert "García Márquez" in saved and not [pin for pin in pins if pin in saved]


def test_letters_for_the_selected_rows_only(qtbot, supervisor, town, tmp_path):
    dialog = open_report(qtbot, supervisor)
    dialog.table.selectionModel().select(
        dialog.proxy.index(1, 0), QItemSelectionModel.SelectionFlag.Select
        | QItemSelectionModel.SelectionFlag.Rows)
    pending, seen = in_turn((QMessageBox, click(Yes)),
                            (QPrintDialog, print_to(tmp_path / "one.pdf")),
                            (QMessageBox, click(Yes)), (QMessageBox, click(Ok)))
    dialog.print_letters()
    qtbot.waitUntil(lambda: not pending, timeout=20_000)
    assert "Print 1 letter?" in seen[0]
    assert AuditEvent.select().where(AuditEvent.action == PRINTED_ACTION).count() == 1


@pytest.mark.parametrize("where", ["confirmation", "file warning"])
def test_cancel_mints_nothing(qtbot, supervisor, town, tmp_path, where):
    dialog = open_report(qtbot, supervisor)
    hashes = [a.password_hash for a in WebAccount.select().order_by(WebAccount.id)]
    steps = [(QMessageBox, click(Cancel))] if where == "confirmation" else [
        (QMessageBox, click(Yes)), (QPrintDialog, print_to(tmp_path / "x.pdf")),
        (QMessageBox, click(Cancel))]
    pending, _ = in_turn(*steps)
    dialog.print_letters()
    qtbot.waitUntil(lambda: not pending, timeout=10_000)
    assert not isinstance(QApplication.activeModalWidget(), JobDialog)
    assert [a.password_hash for a in WebAccount.select().order_by(WebAccount.id)] == hashes
    assert not AuditEvent.select().where(AuditEvent.action == PRINTED_ACTION).exists()
    assert not (tmp_path / "x.pdf").exists()


def test_mailing_report_and_summary_open_for_a_mailing(qtbot, supervisor, town, tmp_path,
                                                       monkeypatch, answer_message_box):
    mailing_id = queue(supervisor, draft(targeting=pass_holders(), rehearsal=True)).mailing_id
    report = open_no_email_report(None, supervisor, mailing_id)
    qtbot.addWidget(report)
    assert report.proxy.rowCount() == 3 and "Mailing" in report.windowTitle()
    summary = open_mailing_summary(None, supervisor, mailing_id)
    qtbot.addWidget(summary)
    shown = summary.browser.toPlainText()
    assert "Web user and password" in shown and "Rehearsal" in shown
    target = tmp_path / "summary.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a: (str(target), "")))
    answer_message_box()
    summary.save_pdf()
    assert "Households that got no message" in pdf_text(target)


def test_a_clerk_is_told_and_no_window_opens(qtbot, clerk, town, answer_message_box):
    seen = answer_message_box()
    assert open_mailing_summary(None, clerk, 1) is None
    assert "permission" in seen[0]
