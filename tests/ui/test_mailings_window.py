"""Communications → Mailings and Send queued messages, driven through the real widgets: pause,
resume and cancel a mailing, send it to a real SMTP server (or into the rehearsal folder),
pause the sender with messages still queued, a server that is down, and a clerk kept out."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QMessageBox

from clerkdesk.services import mailings, outbox
from clerkdesk.services import settings as site_settings
from clerkdesk.services.errors import PermissionDenied
from clerkdesk.ui import sending_window
from clerkdesk.ui.mailings_window import MailingsWindow, open_mailings
from clerkdesk.ui.main_window import MainWindow
from clerkdesk.ui.sending_window import SendingWindow, about
from tests.test_mailings import draft, make_household, pass_holders, queue, send
from tests.ui.modal import when_modal


@pytest.fixture(autouse=True)
def _no_sending_window_left_over():
    sending_window._open_window = None
    yield
    sending_window._open_window = None


def queued_mailing(supervisor, households=3, **changes):
    for number in range(1, households + 1):
        make_household(number, email=f"h{number}@example.org")
    return queue(supervisor, draft(**changes)).mailing_id


def mailings_window(qtbot, session):
    window = MailingsWindow(session)
    qtbot.addWidget(window)
    window.show()
    return window


def sending(qtbot, session):
    window = SendingWindow(session)
    qtbot.addWidget(window, before_close_func=lambda w: stop_quietly(qtbot, w))
    window.show()
    window.start()
    return window


def stop_quietly(qtbot, window):
    """After a failed test: stop the sender, so closing the window does not ask."""
    if window.token is not None:
        window.token.cancel()
    qtbot.waitUntil(lambda: window.token is None, timeout=15000)


def row(window, mailing_id):
    """The mailing's row as shown: heading → text."""
    [index] = [i for i, view in enumerate(window.model.views) if view.id == mailing_id]
    return dict(zip(window.model.headings, window.model.rows[index], strict=True))


def click(qtbot, button):
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_until_stopped(qtbot, window, timeout=15000):
    qtbot.waitUntil(lambda: not window.running, timeout=timeout)


def number(window, key):
    return int(window.numbers[key].text().replace(",", ""))


def test_pause_resume_and_cancel_a_mailing(qtbot, mail, supervisor, answer_message_box):
    mailing_id = queued_mailing(supervisor)
    window = mailings_window(qtbot, supervisor)
    shown = row(window, mailing_id)
    assert (shown["Mode"], shown["Recipients"], shown["Waiting"], shown["Status"]) \
        == ("LIVE", "3", "3", "Sending")
    assert window.timer.isActive()  # the counts follow a mailing that is sending
    assert not window.buttons["resume"].isEnabled()

    click(qtbot, window.buttons["pause"])
    assert row(window, mailing_id)["Status"] == "Paused"
    assert not window.timer.isActive()
    assert send().sent == 0 and mail.received == []  # the sender leaves it alone
    assert not window.buttons["pause"].isEnabled()

    click(qtbot, window.buttons["resume"])
    assert row(window, mailing_id)["Status"] == "Sending"

    seen = answer_message_box(QMessageBox.StandardButton.Yes)
    click(qtbot, window.buttons["cancel"])
    assert "3 queued messages will be withdrawn" in seen[0]
    assert "Nothing of it has been sent yet" in seen[0]
    shown = row(window, mailing_id)
    assert (shown["Status"], shown["Waiting"]) == ("Cancelled · 3 withdrawn", "0")
    assert "3 messages withdrawn" in window.note.text()
    assert not window.buttons["cancel"].isEnabled()
    assert send().sent == 0 and mail.received == []


def test_answering_no_to_cancel_changes_nothing(qtbot, mail, supervisor, answer_message_box):
    mailing_id = queued_mailing(supervisor, households=2)
    window = mailings_window(qtbot, supervisor)
    seen = answer_message_box(QMessageBox.StandardButton.No)
    click(qtbot, window.buttons["cancel"])
    assert seen and row(window, mailing_id)["Status"] == "Sending"
    assert mailings.get_mailing(supervisor, mailing_id).waiting == 2


def test_f5_refreshes_the_counts(qtbot, mail, supervisor):
    mailing_id = queued_mailing(supervisor, households=2)
    window = mailings_window(qtbot, supervisor)
    send()
    assert row(window, mailing_id)["Sent"] == "0"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts go to the active window
    qtbot.keyClick(window.table, Qt.Key.Key_F5)
    assert (row(window, mailing_id)["Sent"], row(window, mailing_id)["Status"]) \
        == ("2", "Finished")


def test_sending_window_sends_everything_and_counts(qtbot, mail, supervisor):
    mailing_id = queued_mailing(supervisor)
    mail.recorder.reject = {"h2@example.org"}
    window = sending(qtbot, supervisor)
    assert "SMTP server 127.0.0.1" in window.target.text()
    assert "real households" in window.target.text()
    wait_until_stopped(qtbot, window)
    assert (number(window, "sent"), number(window, "failed"), number(window, "remaining")) \
        == (2, 1, 0)
    assert len(mail.received) == 2
    assert window.status.text().startswith("<b>Finished.</b> 2 sent, 1 failed (see the "
                                           "mailing's summary report), 0 waiting.")
    assert window.bar.value() == window.bar.maximum()
    assert mailings.get_mailing(supervisor, mailing_id).status == "Finished"
    assert window.resume_button.text() == "&Send again" and window.resume_button.isEnabled()


def test_send_now_from_the_mailings_window_refreshes_the_list(qtbot, mail, supervisor):
    mailing_id = queued_mailing(supervisor, households=2)
    window = mailings_window(qtbot, supervisor)
    click(qtbot, window.buttons["send"])
    sender = sending_window._open_window
    qtbot.addWidget(sender)
    assert sender.parentWidget() is None  # the list has no parent here; the main window would
    wait_until_stopped(qtbot, sender)
    qtbot.waitUntil(lambda: row(window, mailing_id)["Status"] == "Finished")
    assert row(window, mailing_id)["Sent"] == "2"


def test_a_paused_mailing_is_left_alone_and_named_at_the_end(qtbot, mail, supervisor):
    paused = queued_mailing(supervisor, households=2)
    mailings.pause(supervisor, paused)
    third = make_household(3, email="h3@example.org")
    queue(supervisor, draft(targeting=pass_holders(household_ids=(third,))))
    window = sending(qtbot, supervisor)
    wait_until_stopped(qtbot, window)
    assert (number(window, "sent"), number(window, "remaining")) == (1, 0)
    assert "2 messages wait in paused mailings" in window.status.text()
    assert mailings.get_mailing(supervisor, paused).waiting == 2


def test_a_rehearsal_goes_to_the_capture_folder(qtbot, mail, admin, supervisor, tmp_path):
    site_settings.set_setting(admin, "email.capture_folder", str(tmp_path / "captured"))
    queued_mailing(supervisor, households=2, rehearsal=True)
    listed = mailings_window(qtbot, supervisor)
    assert listed.model.rows[0][5] == "REHEARSAL"
    window = sending(qtbot, supervisor)
    assert str(tmp_path / "captured" / "rehearsals") in window.target.text()
    wait_until_stopped(qtbot, window)
    assert number(window, "sent") == 2 and mail.received == []
    assert len(list((tmp_path / "captured" / "rehearsals").glob("*.eml"))) == 2


def test_pause_stops_after_the_message_in_flight_and_resume_goes_on(qtbot, mail, admin,
                                                                   supervisor):
    site_settings.set_setting(admin, "email.rate_per_minute", 1)  # one now, the next in 60 s
    queued_mailing(supervisor)
    window = sending(qtbot, supervisor)
    qtbot.waitUntil(lambda: number(window, "sent") == 1, timeout=10000)
    assert number(window, "remaining") == 2
    assert window.numbers["eta"].text() == "about 2 min"  # the rate limit, not the first one
    click(qtbot, window.pause_button)
    wait_until_stopped(qtbot, window)
    assert "<b>Paused.</b> 1 sent, 0 failed, 2 waiting." in window.status.text()
    assert outbox.state_counts(supervisor)["queued"] == 2 and len(mail.received) == 1
    assert window.resume_button.isEnabled() and not window.pause_button.isEnabled()

    click(qtbot, window.resume_button)  # a new sender: its first message goes at once
    qtbot.waitUntil(lambda: number(window, "sent") == 2, timeout=10000)
    window.pause()
    wait_until_stopped(qtbot, window)
    assert len(mail.received) == 2 and outbox.state_counts(supervisor)["queued"] == 1


def test_stop_can_cancel_the_mailings_too(qtbot, mail, admin, supervisor):
    site_settings.set_setting(admin, "email.rate_per_minute", 1)
    mailing_id = queued_mailing(supervisor)
    window = sending(qtbot, supervisor)
    qtbot.waitUntil(lambda: number(window, "sent") == 1, timeout=10000)
    seen = []

    def answer_yes(box):
        seen.append(box.informativeText())
        box.button(QMessageBox.StandardButton.Yes).click()

    when_modal(QMessageBox, answer_yes)
    click(qtbot, window.stop_button)
    wait_until_stopped(qtbot, window)
    assert "cancel the mailings" in seen[0]
    assert "2 messages withdrawn" in window.status.text()
    view = mailings.get_mailing(supervisor, mailing_id)
    assert (view.status, view.counts) == ("Cancelled", {"sent": 1, "cancelled": 2})


def test_closing_while_sending_asks_and_keeps_the_queue(qtbot, mail, admin, supervisor,
                                                        answer_message_box):
    site_settings.set_setting(admin, "email.rate_per_minute", 1)
    queued_mailing(supervisor, households=2)
    window = sending(qtbot, supervisor)
    qtbot.waitUntil(lambda: number(window, "sent") == 1, timeout=10000)
    seen = answer_message_box(QMessageBox.StandardButton.No)
    window.close()
    assert "still being sent" in seen[0] and window.isVisible() and window.running
    seen = answer_message_box(QMessageBox.StandardButton.Yes)
    window.close()
    assert seen and not window.isVisible()
    wait_until_stopped(qtbot, window)
    assert outbox.state_counts(supervisor)["queued"] == 1


def test_a_server_that_is_down_is_explained_and_changes_nothing(qtbot, mail, supervisor):
    mailing_id = queued_mailing(supervisor)
    mail.stop()
    window = sending(qtbot, supervisor)
    wait_until_stopped(qtbot, window)
    text = window.status.text()
    assert "Sending stopped." in text and "mail server" in text
    assert "Nothing was lost: 3 messages still queued" in text
    assert outbox.state_counts(supervisor)["queued"] == 3
    view = mailings.get_mailing(supervisor, mailing_id)
    assert (view.status, view.waiting, view.counts.get("failed", 0)) == ("Sending", 3, 0)
    assert window.resume_button.isEnabled()


def test_time_left_is_said_the_way_people_say_it():
    assert about(None) == "—"
    assert about(20) == "less than a minute"
    assert about(4 * 60 + 10) == "about 4 min"
    assert about(130 * 60) == "about 2 h 10 min"


# --- the Communications menu ----------------------------------------------------------------
def _main_window(qtbot, session):
    window = MainWindow(session, "SQLite · test")
    qtbot.addWidget(window)
    return window


def _communications(window):
    menu = next(m for m in window.menuBar().findChildren(QMenu)
                if m.title() == "&Communications")
    return {a.text().replace("&", ""): a for a in menu.actions()}


def test_communications_menu_for_a_supervisor(qtbot, mail, supervisor):
    window = _main_window(qtbot, supervisor)
    actions = _communications(window)
    assert list(actions) == ["New mailing…", "Mailings…", "Send queued messages…"]
    assert all(action.isEnabled() for action in actions.values())
    assert actions["New mailing…"].shortcut().toString() == "Ctrl+Shift+M"
    actions["Mailings…"].trigger()
    assert window.mailings is not None and window.mailings.isVisible()
    qtbot.addWidget(window.mailings)


def test_a_clerk_cannot_open_the_mailings_window(qtbot, clerk, answer_message_box):
    window = _main_window(qtbot, clerk)
    for action in _communications(window).values():
        assert not action.isEnabled()
        assert "Send bulk email" in action.statusTip()
    seen = answer_message_box()
    assert open_mailings(None, clerk) is None
    assert "Send bulk email" in seen[0]
    with pytest.raises(PermissionDenied):
        MailingsWindow(clerk)
    sender = sending(qtbot, clerk)
    assert "Sending stopped." in sender.status.text()
