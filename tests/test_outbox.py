"""The outbox and its sender against a real SMTP server on loopback: one connection for many
messages, refused addresses, a server that goes away, credentials minted at send time, and
messages left behind by a sender that died."""

import subprocess
import sys

import pytest

from clerkdesk.models import AuditEvent, Household, Member, OutboxMessage, WebAccount, utcnow
from clerkdesk.services import bulk_assign, outbox, portal
from clerkdesk.services.bulk_assign import AssignOptions
from clerkdesk.services.email_delivery import DeliveryError, mailer_from_settings
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.portal import Outcome
from tests.conftest import stored_bytes
from tests.smtp_server import body_of


def queue(count, to="h{}@example.org", body="Hello <FirstName>"):
    return [outbox.enqueue(to.format(i), f"Message {i}", body) for i in range(count)]


def send(cancel=None):
    sender = outbox.OutboxSender(mailer_from_settings())
    return sender.run(lambda progress: None, cancel or CancelToken())


def states():
    return sorted({m.state for m in OutboxMessage.select()})


def test_many_messages_go_over_one_connection(mail):
    queue(45)
    summary = send()
    assert summary.sent == 45 and summary.failed == 0
    assert len(mail.received) == 45
    assert len(set(mail.recorder.peers)) == 1
    assert states() == ["sent"]
    assert outbox.pending() == 0


def test_refused_address_fails_alone_with_its_reason(mail):
    mail.recorder.reject.add("h1@example.org")
    queue(3)
    summary = send()
    assert (summary.sent, summary.failed) == (2, 1)
    failed = OutboxMessage.get(OutboxMessage.to_address == "h1@example.org")
    assert failed.state == "failed" and "550" in failed.last_error
    assert len(mail.received) == 2


def test_a_server_that_is_down_keeps_everything_queued(mail):
    queue(3)
    mail.stop()
    with pytest.raises(DeliveryError, match="refused the connection"):
        send()
    assert states() == ["queued"]
    assert all(m.attempts == 0 for m in OutboxMessage.select())


def test_connection_lost_midway_retries_later_and_loses_nothing(mail, monkeypatch):
    queue(4)
    sender = outbox.OutboxSender(mailer_from_settings())
    original = sender.mailer.send
    calls = []

    def flaky(message):
        calls.append(1)
        if len(calls) == 2:
            mail.stop()
        original(message)

    monkeypatch.setattr(sender.mailer, "send", flaky)
    summary = sender.run(lambda progress: None, CancelToken())
    assert summary.sent == 1 and summary.retrying == 3
    waiting = list(OutboxMessage.select().where(OutboxMessage.state == "queued"))
    assert len(waiting) == 3
    assert all(m.attempts == 1 and m.next_attempt_at > utcnow() for m in waiting)
    assert all("lost" in m.last_error or "refused" in m.last_error for m in waiting)


def test_web_pin_is_minted_at_send_time_and_works(mail, supervisor, db_url):
    home = Household.create(client_id="0012345", name="O'Brien", email="s@example.org")
    Member.create(household=home, first_name="Siobhán", last_name="O'Brien", is_primary=True)
    bulk_assign.start_run(supervisor, AssignOptions()).run(lambda p: None, CancelToken())
    account = WebAccount.get()
    outbox.enqueue("s@example.org", "Your login", "User sobri345, PIN <WebPin>",
                   household_id=home.id, account_id=account.id)
    assert "<WebPin>" in OutboxMessage.get().body  # queued without any PIN
    assert send().sent == 1
    pin = body_of(mail.received[0][1]).rsplit("PIN ", 1)[1].strip()
    assert pin.isdigit() and 12_345_678 <= int(pin) <= 87_654_321
    assert portal.authenticate("sobri345", pin).outcome == Outcome.MUST_CHANGE
    assert WebAccount.get().credentials_delivered_at is not None
    assert AuditEvent.select().where(AuditEvent.action == "web_account.credential_mailed").count()
    assert pin.encode() not in stored_bytes(db_url)


def test_web_pin_needs_an_account(db):
    with pytest.raises(ValueError, match="must name the web account"):
        outbox.enqueue("a@example.org", "PIN", "<WebPin>")
    assert OutboxMessage.select().count() == 0


def test_cancel_gives_back_what_was_not_sent(mail):
    queue(5)
    token = CancelToken()
    sender = outbox.OutboxSender(mailer_from_settings())
    summary = sender.run(lambda progress: token.cancel(), token)
    assert summary.sent == 1
    assert sorted(m.state for m in OutboxMessage.select()) == ["queued"] * 4 + ["sent"]
    assert all(m.lease_owner == "" for m in OutboxMessage.select())


def test_messages_held_by_a_dead_sender_go_back_to_the_queue(mail):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    from clerkdesk.services.runs_claim import this_runner

    here = this_runner().rpartition(":")[0]
    held_by_dead, held_by_live = queue(2)
    soon = utcnow() + outbox.LEASE
    OutboxMessage.update(state="sending", lease_owner=f"{here}:{dead}", lease_until=soon) \
        .where(OutboxMessage.id == held_by_dead).execute()
    OutboxMessage.update(state="sending", lease_owner="other-desk:1", lease_until=soon) \
        .where(OutboxMessage.id == held_by_live).execute()
    assert send().sent == 1
    assert OutboxMessage.get_by_id(held_by_dead).state == "sent"
    assert OutboxMessage.get_by_id(held_by_live).state == "sending"  # its lease still runs
    OutboxMessage.update(lease_until=utcnow()).where(OutboxMessage.id == held_by_live).execute()
    assert send().sent == 1
    assert len(mail.received) == 2


def test_a_server_answering_421_gets_the_message_again_later(mail):
    mail.recorder.busy.add("h1@example.org")
    queue(3)
    summary = send()
    assert (summary.sent, summary.retrying, summary.failed) == (2, 1, 0)
    later = OutboxMessage.get(OutboxMessage.to_address == "h1@example.org")
    assert later.state == "queued" and later.attempts == 1 and "421" in later.last_error
    OutboxMessage.update(next_attempt_at=utcnow()).execute()  # the backoff has passed
    assert send().sent == 1
    assert sorted(r[0] for r, _ in mail.received) == [f"h{n}@example.org" for n in range(3)]


def test_a_connection_dropped_mid_batch_reconnects_for_the_rest(mail):
    mail.recorder.drop.add("h2@example.org")
    queue(5)
    summary = send()
    assert (summary.sent, summary.retrying) == (4, 1)
    assert len(set(mail.recorder.peers)) == 2  # a new connection after the cut
    OutboxMessage.update(next_attempt_at=utcnow()).execute()
    assert send().sent == 1
    delivered = sorted(r[0] for r, _ in mail.received)
    assert delivered == [f"h{n}@example.org" for n in range(5)]
