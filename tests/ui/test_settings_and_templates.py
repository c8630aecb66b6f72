"""Settings tabs (choices, test email) and the email templates editor, through the widgets."""

from PySide6.QtWidgets import QComboBox, QInputDialog, QMessageBox

from clerkdesk.models import EmailTemplate
from clerkdesk.services import email_templates, settings
from clerkdesk.ui.settings_dialog import SettingsDialog
from clerkdesk.ui.templates_dialog import TemplatesDialog
from tests.ui.modal import when_modal


def _answer_input(text):
    def answer(dialog):
        dialog.setTextValue(text)
        dialog.accept()

    when_modal(QInputDialog, answer)


def test_choices_are_combo_boxes_and_save(qtbot, admin):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    mode = dialog.editors["email.mode"]
    assert isinstance(mode, QComboBox)
    assert [mode.itemData(i) for i in range(mode.count())] == ["smtp", "capture"]
    mode.setCurrentIndex(1)
    dialog.save()
    assert settings.get_setting("email.mode") == "capture"


def test_send_test_email_from_the_settings(qtbot, admin, smtp_server, answer_message_box):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editors["email.smtp_host"].setText("127.0.0.1")
    dialog.editors["email.smtp_port"].setValue(smtp_server.port)
    dialog.editors["email.smtp_security"].setCurrentIndex(2)  # none
    dialog.editors["email.from_address"].setText("desk@example.org")
    _answer_input("me@example.org")
    seen = answer_message_box()
    dialog.test_button.click()
    assert seen and "went out through SMTP server" in seen[0]
    assert len(smtp_server.recorder.messages_to("me@example.org")) == 1
    assert settings.get_setting("email.smtp_host") == "127.0.0.1"  # saved before the test


def test_test_email_failure_is_shown_in_the_dialog(qtbot, admin):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    _answer_input("me@example.org")
    dialog.test_button.click()
    assert "enter the SMTP server" in dialog.problem.text()


def test_template_edit_with_an_inserted_merge_field(qtbot, admin):
    dialog = TemplatesDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    items = [dialog.names.item(i).text() for i in range(dialog.names.count())]
    dialog.names.setCurrentRow(items.index(email_templates.TEST_EMAIL))
    dialog.body.setPlainText("Hi ")
    dialog.body.moveCursor(dialog.body.textCursor().MoveOperation.End)
    dialog.body.insertPlainText("<FirstName>")
    dialog.save_button.click()
    assert EmailTemplate.get(EmailTemplate.name == "Test Email").body == "Hi <FirstName>"


def test_unknown_merge_field_is_refused_and_kept_on_screen(qtbot, admin, answer_message_box):
    dialog = TemplatesDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    name = dialog.names.currentItem().text()
    before = EmailTemplate.get(EmailTemplate.name == name).body
    dialog.body.setPlainText("Dear <Nickname>")
    dialog.save_button.click()
    assert "Unknown merge field <Nickname>" in dialog.problem.text()
    assert dialog.body.toPlainText() == "Dear <Nickname>"
    assert EmailTemplate.get(EmailTemplate.name == name).body == before
    answer_message_box(QMessageBox.StandardButton.Discard)  # the close at teardown asks
    dialog.reject()


def test_closing_with_unsaved_edits_asks_first(qtbot, admin, answer_message_box):
    dialog = TemplatesDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.body.setPlainText("Dear <Nickname>")
    seen = answer_message_box(QMessageBox.StandardButton.Discard)
    dialog.reject()
    assert seen and not dialog.isVisible()


def test_switching_away_from_unsaved_edits_asks(qtbot, admin, answer_message_box):
    dialog = TemplatesDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    first = dialog.names.currentItem().text()
    dialog.subject.setText("Changed subject")
    seen = answer_message_box(QMessageBox.StandardButton.Cancel)
    dialog.names.setCurrentRow(1)
    assert seen and "Save your changes" in seen[0]
    assert dialog.names.currentItem().text() == first  # stayed, edits intact
    assert dialog.subject.text() == "Changed subject"
    seen = answer_message_box(QMessageBox.StandardButton.Save)
    dialog.names.setCurrentRow(1)
    assert EmailTemplate.get(EmailTemplate.name == first).subject == "Changed subject"


def test_a_refused_value_brings_its_tab_forward(qtbot, admin):
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(0)
    dialog.editors["email.from_address"].setText("not an address <script>")
    dialog.save()
    assert "email" in dialog.problem.text().lower()
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Email"
    assert settings.get_setting("email.from_address") == ""


def test_leaving_rehearsal_mode_is_confirmed_and_audited(qtbot, admin, answer_message_box):
    from clerkdesk.models import AuditEvent

    settings.set_setting(admin, "email.mode", "capture")
    dialog = SettingsDialog(admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editors["email.mode"].setCurrentIndex(0)  # smtp
    seen = answer_message_box(QMessageBox.StandardButton.No)
    dialog.save()
    assert seen and "real households" in seen[0]
    assert settings.get_setting("email.mode") == "capture" and dialog.isVisible()
    answer_message_box(QMessageBox.StandardButton.Yes)
    dialog.save()
    assert settings.get_setting("email.mode") == "smtp"
    event = AuditEvent.select().where(AuditEvent.entity_id == "email.mode") \
        .order_by(AuditEvent.id.desc()).get()
    assert (event.actor, '"old": "capture"' in event.details) == ("root-admin", True)
