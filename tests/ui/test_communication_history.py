"""The household's Communication History tab, as the seed's RecConnect History describes it:
each mailing the household was slated to receive, and what the mail server made of every
message (sent, refused and why, still queued, withdrawn)."""

from datetime import date, timedelta

from PySide6.QtCore import Qt

from clerkdesk.services import mailings
from clerkdesk.services.mailing_history import Delivery
from clerkdesk.ui.communication_history import CAUTION, CommunicationHistory, state_text
from clerkdesk.ui.household_maintenance import HouseholdMaintenanceWindow
from tests.test_mailings import draft, make_household, pass_holders, queue, send


def history_widget(qtbot, session, household_id):
    widget = CommunicationHistory(session)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=5000):
        widget.show_household(household_id)
    return widget


def shown(widget):
    """Each mailing row's texts, with its message rows' texts under it."""
    tree = widget.tree
    mailings_shown = []
    for index in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(index)
        children = [[item.child(c).text(column) for column in range(tree.columnCount())]
                    for c in range(item.childCount())]
        mailings_shown.append(([item.text(column) for column in range(tree.columnCount())],
                               children))
    return mailings_shown


def test_each_mailing_with_every_message_and_its_state(qtbot, mail, supervisor):
    home = make_household(1, members=("Ann", "Bob"))
    mail.recorder.reject = {"bob1@example.org"}
    every_member = pass_holders(every_member=True)
    queue(supervisor, draft(targeting=every_member, description="Web user and password"))
    send()
    withdrawn = queue(supervisor, draft(targeting=every_member, description="Pool closing",
                                        category="NEWS")).mailing_id
    mailings.cancel(supervisor, withdrawn)
    queue(supervisor, draft(targeting=every_member, description="Open house", category="",
                            rehearsal=True))

    widget = history_widget(qtbot, supervisor, home)
    (rehearsal, rehearsal_messages), (cancelled, cancelled_messages), (first, messages) = \
        shown(widget)
    assert first[:2] == ["Web user and password  · WEB", "1 sent, 1 failed"] and first[2]
    [ann, bob] = messages
    assert ann[:2] == ["Email to ann1@example.org", "sent"] and ann[2]  # sent at a time
    assert bob[0] == "Email to bob1@example.org"
    assert bob[1].startswith("failed: ") and "bob1@example.org" in bob[1] and bob[2] == ""
    assert cancelled[:2] == ["Pool closing  · NEWS", "2 cancelled"]
    assert [m[1] for m in cancelled_messages] == ["cancelled (withdrawn, never sent)"] * 2
    assert rehearsal[0] == "Open house  [REHEARSAL]"  # no category
    assert [m[1] for m in rehearsal_messages] == ["queued", "queued"]
    assert widget.status.text() == CAUTION  # slated to receive, not read


def test_a_rehearsal_that_went_says_captured_not_sent(qtbot, mail, supervisor):
    home = make_household(1, email="h1@example.org")
    queue(supervisor, draft(rehearsal=True))
    send()
    [(mailing, [message])] = shown(history_widget(qtbot, supervisor, home))
    assert "[REHEARSAL]" in mailing[0]
    assert mailing[1] == "1 captured" and message[1] == "captured (rehearsal)"
    assert mail.received == []


def test_refresh_reads_the_history_again(qtbot, mail, supervisor):
    home = make_household(1, email="h1@example.org")
    queue(supervisor, draft())
    widget = history_widget(qtbot, supervisor, home)
    assert shown(widget)[0][1][0][1] == "queued"
    send()
    with qtbot.waitSignal(widget.loaded, timeout=5000):
        qtbot.mouseClick(widget.refresh_button, Qt.MouseButton.LeftButton)
    assert shown(widget)[0][1][0][1] == "sent"


def test_a_household_in_no_mailing_says_so(qtbot, clerk):
    home = make_household(1, email="h1@example.org")
    widget = history_widget(qtbot, clerk, home)
    assert widget.tree.topLevelItemCount() == 0
    assert widget.status.text() == "This household was not part of any mailing."


def test_a_retry_shows_the_servers_answer():
    later = Delivery("email", "a@example.org", "queued", "421 try again later", None)
    assert state_text(later, False) == "queued, will retry: 421 try again later"


def test_the_household_editor_shows_it_in_its_tab(qtbot, mail, clerk, supervisor):
    home = make_household(1, email="h1@example.org")
    make_household(2, email="h2@example.org", expires=date.today() + timedelta(days=30))
    queue(supervisor, draft())
    send()
    window = HouseholdMaintenanceWindow(clerk)
    qtbot.addWidget(window)
    window.show()
    window.open_household(home)
    tabs = window.editor.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    history = window.editor.history
    assert tabs.widget(titles.index("Communication &History")) is history
    assert history.tree.topLevelItemCount() == 0  # read only once the tab is shown
    with qtbot.waitSignal(history.loaded, timeout=5000):
        tabs.setCurrentWidget(history)
    [(mailing, [message])] = shown(history)
    assert mailing[0] == "Web user and password  · WEB"
    assert message[:2] == ["Email to h1@example.org", "sent"]
    with qtbot.waitSignal(history.loaded, timeout=5000):  # another household: read again
        window.open_household(home + 1)
    assert shown(history)[0][1][0][0] == "Email to h2@example.org"
