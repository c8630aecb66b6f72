"""Communications → New mailing, page by page through the real widgets: targeting with a live
count and highlighted records, the message with merge fields, preview and test, the teaser,
the history record, and the warnings before processing in rehearsal and live."""

from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWizard

from clerkdesk.models import (
    CommunicationHistory,
    Household,
    Mailing,
    Member,
    OutboxMessage,
    Pass,
    PassType,
    WebAccount,
)
from clerkdesk.services import settings as site_settings
from clerkdesk.services.mailing_drafts import PIN_PLACEHOLDER
from clerkdesk.ui.mailing_wizard import (
    DONE,
    HISTORY,
    MESSAGE,
    READY,
    SEQUENCE,
    TARGETING,
    MailingWizard,
    open_mailing_wizard,
)
from tests.smtp_server import body_of
from tests.ui.modal import when_modal

TODAY = date.today()
BODY = "Dear <FirstName>, user name <WebID>, PIN <WebPin>. Sign in at <PortalLink>"


def make_household(number, pass_code="CY-CHILD", login=True):
    home = Household.create(client_id=f"{number:05}", name=f"Family{number}",
                            email=f"h{number}@example.org", city="Boulder", region="CO",
                            postal_code="80302")
    Member.create(household=home, first_name=f"Ann{number}", last_name=f"Last{number}",
                  is_primary=True)
    kind, _ = PassType.get_or_create(code=pass_code)
    Pass.create(household=home, pass_type=kind, status="Actv-New", start_date=TODAY,
                expiration_date=TODAY + timedelta(days=90))
    if login:
        WebAccount.create(household=home, username=f"user{number}",
                          username_key=f"user{number}", pin_rule="digits:6",
                          password_hash="$2b$04$bulk-assigned-hash")
    return home.id


@pytest.fixture
def town(admin):
    site_settings.set_settings(admin, {"email.mode": "smtp", "email.from_address":
                                       "desk@example.org",
                                       "portal.url": "https://portal.example.org"})
    return [make_household(1), make_household(2), make_household(3),
            make_household(4, pass_code="CY-MST")]


def open_wizard(qtbot, session):
    wizard = MailingWizard(session)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def counted(qtbot, wizard, number):
    page = wizard.targeting_page
    qtbot.waitUntil(lambda: page.count_label.text() == f"Total records extracted: {number}",
                    timeout=5000)


def next_page(qtbot, wizard):
    button = wizard.button(QWizard.WizardButton.NextButton)
    if wizard.currentPage().isCommitPage():
        button = wizard.button(QWizard.WizardButton.CommitButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def write_message(qtbot, wizard, subject="Your portal login", body=BODY):
    page = wizard.message_page
    qtbot.keyClicks(page.subject, subject)
    page.body.setFocus()
    qtbot.keyClicks(page.body, body)


def to_ready(qtbot, wizard, description="Web login go-live"):
    next_page(qtbot, wizard)
    assert wizard.currentId() == MESSAGE
    write_message(qtbot, wizard)
    next_page(qtbot, wizard)
    assert wizard.currentId() == SEQUENCE
    next_page(qtbot, wizard)
    assert wizard.currentId() == HISTORY
    qtbot.keyClicks(wizard.history_page.description, description)
    next_page(qtbot, wizard)
    assert wizard.currentId() == READY
    qtbot.waitUntil(lambda: wizard.ready_page.readiness is not None, timeout=5000)


def process(qtbot, wizard, answer_message_box):
    seen = answer_message_box(QMessageBox.StandardButton.Yes)
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.currentId() == DONE, timeout=10_000)
    return seen


def nothing_queued():
    return not Mailing.select().exists() and not OutboxMessage.select().exists()


def hashes():
    return {a.id: (a.password_hash, a.must_change) for a in WebAccount.select()}


def test_walk_the_wizard_in_rehearsal_queues_with_the_pin_unexpanded(qtbot, supervisor, town,
                                                                     answer_message_box):
    before = hashes()
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    assert [box.isChecked() for box in wizard.targeting_page.statuses.values()][:2] == [
        True, True]
    qtbot.waitUntil(lambda: wizard.targeting_page.records.rowCount() == 4)
    to_ready(qtbot, wizard)
    ready = wizard.ready_page
    assert "REHEARSAL" in ready.mode_banner.text()
    assert "<b>4</b> targeted" in ready.summary.text()
    assert "No rate limit is set" in ready.summary.text()
    assert wizard.button(QWizard.WizardButton.CommitButton).text() == "&Process"
    seen = process(qtbot, wizard, answer_message_box)
    assert "Queue 4 messages to 4 households as a REHEARSAL" in seen[0]
    mailing = Mailing.get()
    assert mailing.rehearsal and mailing.description == "Web login go-live"
    assert mailing.category.code == "WEB"
    assert OutboxMessage.select().count() == 4
    assert all("<WebPin>" in m.body and "user" in m.body for m in OutboxMessage.select())
    assert CommunicationHistory.select().count() == 4
    assert f"Mailing {mailing.id} is queued as a REHEARSAL" in wizard.done_page.summary.text()
    assert hashes() == before


def test_live_count_follows_the_pass_types(qtbot, supervisor, town):
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    types = wizard.targeting_page.pass_types
    mst = types.findItems("CY-MST", Qt.MatchFlag.MatchStartsWith)[0]
    types.setFocus()
    types.setCurrentItem(mst)
    qtbot.keyClick(types, Qt.Key.Key_Space)  # ticks it off, as a keyboard user would
    assert mst.checkState() == Qt.CheckState.Unchecked
    counted(qtbot, wizard, 3)
    qtbot.waitUntil(lambda: wizard.targeting_page.records.rowCount() == 3)
    wizard.targeting_page.every_member.click()
    counted(qtbot, wizard, 3)


def test_highlighted_records_only_processes_just_those(qtbot, supervisor, town,
                                                       answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    page = wizard.targeting_page
    qtbot.waitUntil(lambda: page.records.rowCount() == 4)
    table = page.table
    for row, modifier in ((0, Qt.KeyboardModifier.NoModifier),
                          (2, Qt.KeyboardModifier.ControlModifier)):
        rect = table.visualRect(page.records.index(row, 0))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
    qtbot.mouseClick(page.highlighted_only, Qt.MouseButton.LeftButton)
    assert page.highlighted_ids() == (town[0], town[2])
    assert "2 highlighted" in page.highlighted_label.text()
    to_ready(qtbot, wizard)
    assert "<b>2</b> targeted" in wizard.ready_page.summary.text()
    process(qtbot, wizard, answer_message_box)
    assert sorted(m.household_id for m in OutboxMessage.select()) == [town[0], town[2]]


def test_highlighted_only_with_nothing_highlighted_is_refused(qtbot, supervisor, town,
                                                              answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    qtbot.mouseClick(wizard.targeting_page.highlighted_only, Qt.MouseButton.LeftButton)
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == TARGETING
    assert "Highlight the records" in seen[0]


def test_merge_field_menu_inserts_web_id(qtbot, supervisor, town):
    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    body = wizard.message_page.body
    qtbot.keyClicks(body, "Login: ")
    menu = body.context_menu()
    insert = next(a for a in menu.actions() if a.text() == "Insert merge &field").menu()
    assert [a.text() for a in insert.actions()][:2] == ["<WebID>", "<WebPin>"]
    next(a for a in insert.actions() if a.text() == "<WebID>").trigger()
    assert body.toPlainText() == "Login: <WebID>"
    teaser_menu = wizard.sequence_page.body.context_menu()
    teaser_fields = next(a for a in teaser_menu.actions()
                         if a.text() == "Insert merge &field").menu()
    assert "<WebPin>" not in [a.text() for a in teaser_fields.actions()]


def test_preview_shows_the_placeholder_and_mints_nothing(qtbot, supervisor, town):
    before = hashes()
    wizard = open_wizard(qtbot, supervisor)
    qtbot.waitUntil(lambda: wizard.targeting_page.records.rowCount() == 4)
    next_page(qtbot, wizard)
    page = wizard.message_page
    write_message(qtbot, wizard)
    assert page.preview_household.count() == 4
    page.preview_household.setCurrentIndex(1)
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    shown = page.preview_text.toPlainText()
    assert "Subject: Your portal login" in shown
    assert "Dear Ann2, user name user2" in shown and PIN_PLACEHOLDER in shown
    assert hashes() == before and nothing_queued()


def test_preview_of_a_household_without_a_login_says_it_is_skipped(qtbot, supervisor, town):
    make_household(5, login=False)
    wizard = open_wizard(qtbot, supervisor)
    qtbot.waitUntil(lambda: wizard.targeting_page.records.rowCount() == 5)
    next_page(qtbot, wizard)
    page = wizard.message_page
    write_message(qtbot, wizard)
    page.preview_household.setCurrentIndex(4)
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    assert "Ann5 Last5 has no web login yet" in page.preview_text.toPlainText()


def test_send_a_test_to_me_goes_out_once_and_mints_nothing(qtbot, supervisor, town, mail):
    before = hashes()
    wizard = open_wizard(qtbot, supervisor)
    qtbot.waitUntil(lambda: wizard.targeting_page.records.rowCount() == 4)
    next_page(qtbot, wizard)
    page = wizard.message_page
    write_message(qtbot, wizard)
    asked = []

    def answer(dialog):
        asked.append(dialog.textValue())
        dialog.setTextValue("me@example.org")
        dialog.accept()

    when_modal(QInputDialog, answer)
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert asked == ["desk@example.org"]  # the From address by default
    qtbot.waitUntil(lambda: "A test went to" in page.test_result.text(), timeout=5000)
    [message] = mail.recorder.messages_to("me@example.org")
    assert PIN_PLACEHOLDER in body_of(message)
    assert len(mail.recorder.received) == 1
    assert hashes() == before and nothing_queued()


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("", BODY, "Enter the subject"),
    ("Hello", "Dear <Nickname>", "Unknown merge field <Nickname>"),
    ("Hello", "<b>Bold</b> <script>alert(1)</script>", "Unknown merge field <b>"),
    ("PIN <WebPin>", BODY, "cannot go in the subject"),
    ("Hello", "", "Write the email body"),
])
def test_a_bad_message_is_refused_clearly_and_nothing_is_queued(
        qtbot, supervisor, town, answer_message_box, subject, body, expected):
    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    write_message(qtbot, wizard, subject, body)
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == MESSAGE
    assert expected in seen[0]
    assert nothing_queued()


def test_body_length_limit_and_hostile_but_harmless_text(qtbot, supervisor, town,
                                                         answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    page = wizard.message_page
    qtbot.keyClicks(page.subject, "'; DROP TABLE mailing; -- Ça va?")
    page.body.setPlainText("x" * 100_001)
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == MESSAGE and "100,000 characters" in seen[0]
    page.body.setPlainText("Siobhán 😀 <WebID> " + "x" * 10_000)
    next_page(qtbot, wizard)
    assert wizard.currentId() == SEQUENCE
    assert nothing_queued()


def test_description_is_required_on_the_history_page(qtbot, supervisor, town,
                                                     answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    write_message(qtbot, wizard)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == HISTORY and "history description" in seen[0]
    assert nothing_queued()


def test_a_teaser_cannot_carry_the_pin_and_goes_first(qtbot, supervisor, town,
                                                      answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    next_page(qtbot, wizard)
    write_message(qtbot, wizard)
    next_page(qtbot, wizard)
    sequence = wizard.sequence_page
    sequence.enabled.setFocus()
    qtbot.keyClick(sequence.enabled, Qt.Key.Key_Space)
    assert sequence.enabled.isChecked()
    qtbot.keyClicks(sequence.subject, "Coming soon")
    sequence.body.setFocus()
    qtbot.keyClicks(sequence.body, "Your PIN <WebPin>")
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == SEQUENCE and "must not carry <WebPin>" in seen[0]
    sequence.body.clear()
    qtbot.keyClicks(sequence.body, "Dear <FirstName>, watch your inbox.")
    next_page(qtbot, wizard)
    qtbot.keyClicks(wizard.history_page.description, "Go-live")
    next_page(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.ready_page.readiness is not None, timeout=5000)
    process(qtbot, wizard, answer_message_box)
    result = wizard.result
    assert result.teaser_id is not None
    assert Mailing.get_by_id(result.mailing_id).after_id == result.teaser_id
    assert OutboxMessage.select().count() == 8


def test_households_without_login_and_missing_portal_are_warned(qtbot, supervisor, town,
                                                                admin):
    make_household(5, login=False)
    site_settings.set_settings(admin, {"portal.url": ""})
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 5)
    to_ready(qtbot, wizard)
    ready = wizard.ready_page
    assert "1 targeted households have no web login" in ready.summary.text()
    assert "Bulk Web ID/PIN Assign" in ready.summary.text()
    assert ready.problems.isVisible() and "portal address" in ready.problems.text()
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()


def test_live_needs_yes_typed_and_a_confirmation_naming_the_count(qtbot, supervisor, town,
                                                                   answer_message_box):
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    to_ready(qtbot, wizard)
    ready = wizard.ready_page
    assert ready.live_button.isEnabled()
    qtbot.mouseClick(ready.live_button, Qt.MouseButton.LeftButton)
    assert "LIVE" in ready.mode_banner.text()
    qtbot.waitUntil(lambda: ready.readiness is not None, timeout=5000)
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    assert not commit.isEnabled()
    qtbot.keyClicks(ready.confirm, "yes")
    assert not commit.isEnabled()
    ready.confirm.clear()
    qtbot.keyClicks(ready.confirm, "YES")
    assert commit.isEnabled()
    seen = answer_message_box(QMessageBox.StandardButton.No)
    next_page(qtbot, wizard)
    assert seen == ["Send 4 messages to 4 households LIVE?"]
    assert wizard.currentId() == READY and nothing_queued()
    process(qtbot, wizard, answer_message_box)
    assert not Mailing.get().rehearsal


def test_live_is_disabled_when_the_site_captures_its_mail(qtbot, supervisor, town, admin):
    site_settings.set_settings(admin, {"email.mode": "capture"})
    wizard = open_wizard(qtbot, supervisor)
    counted(qtbot, wizard, 4)
    to_ready(qtbot, wizard)
    ready = wizard.ready_page
    assert not ready.live_button.isEnabled() and ready.rehearsal_button.isChecked()
    assert ready.capture_note.isVisible()
    assert "REHEARSAL" in ready.mode_banner.text()


def test_a_clerk_is_refused(qtbot, clerk, town, answer_message_box):
    seen = answer_message_box()
    assert open_mailing_wizard(None, clerk) is None
    assert "Send bulk email" in seen[0]
    wizard = open_wizard(qtbot, clerk)  # even reached some other way, the services refuse
    next_page(qtbot, wizard)
    write_message(qtbot, wizard)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    qtbot.keyClicks(wizard.history_page.description, "Sneaky")
    seen = answer_message_box()
    next_page(qtbot, wizard)
    assert wizard.currentId() == HISTORY and "Send bulk email" in seen[0]
    assert nothing_queued()


def test_open_mailing_wizard_shows_it_for_a_supervisor(qtbot, supervisor, town):
    wizard = open_mailing_wizard(None, supervisor)
    qtbot.addWidget(wizard)
    assert wizard.isVisible() and wizard.windowTitle() == "New mailing"
    counted(qtbot, wizard, 4)


def test_templates_save_and_load_and_attachments_have_a_limit(qtbot, supervisor, town,
                                                              answer_message_box, tmp_path,
                                                              monkeypatch):
    from clerkdesk.services import email_delivery

    wizard = open_wizard(qtbot, supervisor)
    next_page(qtbot, wizard)
    page = wizard.message_page
    write_message(qtbot, wizard)
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *args, **kwargs: ("Go-live", True)))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.templates.currentText() == "Go-live"
    page.subject.clear()
    page.body.clear()
    qtbot.mouseClick(page.load_button, Qt.MouseButton.LeftButton)
    assert page.subject.text() == "Your portal login" and page.body.toPlainText() == BODY
    monkeypatch.setattr(email_delivery, "MAX_ATTACHMENT_BYTES", 100)
    monkeypatch.setattr("clerkdesk.ui.mailing_pages.MAX_ATTACHMENT_BYTES", 100)
    small, big = tmp_path / "flyer.txt", tmp_path / "huge.pdf"
    small.write_bytes(b"x" * 60)
    big.write_bytes(b"x" * 60)
    page.add_attachment(str(small))
    seen = answer_message_box()
    page.add_attachment(str(big))
    assert "too big" in seen[0]
    assert [a.file_name for a in page.message().attachments] == ["flyer.txt"]
