"""The outbox and its sender against a real SMTP server on loopback: one connection for many
messages, refused addresses, a server that goes away, credentials minted at send time, and
messages left behind by a sender that died."""

import email
import email.generator
import email.policy
import io
import re
import subprocess
import sys
from email.message import EmailMessage
from email.utils import formataddr

import pytest

from clerkdesk.models import AuditEvent, Household, Member, OutboxMessage, WebAccount, utcnow
from clerkdesk.services import bulk_assign, email_delivery, outbox, portal, settings
from clerkdesk.services.bulk_assign import AssignOptions
from clerkdesk.services.email_delivery import (
    Attachment,
    DeliveryError,
    OutgoingEmail,
    PreparedEmail,
    build_message,
    mailer_from_settings,
    prepare_message,
)
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.portal import Outcome
from clerkdesk.services.rate_limit import RateLimiter
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


# --- the messages as the server receives them (built as bytes, without EmailMessage) --------

NAMES_AND_SUBJECTS = [
    ("Front Desk", "Your appointment (1)"),
    ("Siobhán O'Brien — Banque alimentaire", "Rendez-vous de Siobhán « O'Brien » <b>mardi</b>"),
    ('The "Front" Desk, Inc.', 'He said "hi" (twice); <script>alert(1)</script> & more'),
    ("<b>Desk</b>", "=?utf-8?q?not_an_encoded_word?= but text"),
    ("Zoë", "A subject long enough to be folded over more than one line of the header, "
            "with ünïcödé in the middle and at the end: ñ"),
    ("Desk", "Two  spaces,\ta tab and a trailing space "),
    ("Привет", "Привет мир"),
]
BODIES = [
    "Short ASCII lines.\nSecond line.\n",
    "Chère Siobhán,\n\nÀ mardi.\n",
    "A line much longer than seventy-eight characters, so that it needs quoted-printable to "
    "go out: with = signs, trailing spaces   \n.\n.leading dot\nFrom the desk\n",
    "Длинная строка на русском языке, которая длиннее семидесяти восьми байтов в UTF-8. " * 3,
    "No newline at the end",
    "",
    "Bare\rCR and CRLF\r\nline ends\n",
]


def received_as_sent(message):
    """The received message parsed again with the modern policy (headers decoded)."""
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def normal_text(body):
    """The body as set_content stores it: every line end a newline, one at the end."""
    return "".join(line + "\n" for line in body.splitlines()) or "\n"


@pytest.mark.parametrize(("name", "subject"), NAMES_AND_SUBJECTS)
def test_names_and_subjects_arrive_encoded_right(mail, admin, name, subject):
    settings.set_settings(admin, {"email.from_name": name})
    outbox.enqueue("h1@example.org", subject, "Hello\n", cc=("c1@example.org", "c2@example.org"))
    assert send().sent == 1
    (recipients, message), = mail.received
    assert recipients == ["h1@example.org", "c1@example.org", "c2@example.org"]
    parsed = received_as_sent(message)
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, "desk@example.org")
    # As EmailMessage has it; that is the subject itself unless it holds an encoded word.
    as_before = build_message(OutgoingEmail("h1@example.org", subject, ""), "desk@example.org")
    assert str(parsed["Subject"]) == str(as_before["Subject"])
    assert str(parsed["Subject"]) == subject or "=?" in subject
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["c1@example.org", "c2@example.org"]
    assert parsed["Message-ID"].endswith("@example.org>") and parsed["Date"].datetime
    assert parsed.get_content_type() == "text/plain"  # HTML in a name stays text
    assert all(len(line) <= 78 for line in message.as_bytes().splitlines())


@pytest.mark.parametrize("body", BODIES)
def test_bodies_arrive_as_written(mail, body):
    outbox.enqueue("h1@example.org", "Body", body)
    assert send().sent == 1
    (_, message), = mail.received
    parsed = received_as_sent(message)
    assert parsed.get_content().replace("\r\n", "\n") == normal_text(body)
    assert parsed.get_content_charset() == "utf-8"
    assert all(len(line) <= 78 for line in message.as_bytes().splitlines())


def flattened(message):
    """The bytes smtplib's send_message puts on the wire for an EmailMessage, but for one
    thing: send_message also turns a body line starting "From " into ">From " (mbox
    quoting, which changes the text); the prepared bytes leave the text as written."""
    out = io.BytesIO()
    email.generator.BytesGenerator(out, mangle_from_=False).flatten(message, linesep="\r\n")
    return out.getvalue()


def without_date_and_id(data):
    return re.sub(rb"(Date|Message-ID): [^\r]*\r\n", b"", data)


@pytest.mark.parametrize(("name", "subject"), NAMES_AND_SUBJECTS)
@pytest.mark.parametrize("body", BODIES)
def test_prepared_bytes_say_what_the_email_message_says(name, subject, body):
    """The same headers as EmailMessage writes them; the same body once decoded (the
    quoted-printable lines may break elsewhere)."""
    from_header = formataddr((name, "desk@example.org"))
    outgoing = OutgoingEmail("h1@example.org", subject, body, ("c@example.org",))
    prepared = prepare_message(outgoing, from_header)
    assert isinstance(prepared, PreparedEmail)
    assert (prepared.sender, prepared.recipients) == ("desk@example.org",
                                                     ("h1@example.org", "c@example.org"))
    expected = flattened(build_message(outgoing, from_header))
    head, _, _ = without_date_and_id(prepared.data).partition(b"\r\n\r\n")
    assert head == without_date_and_id(expected).partition(b"\r\n\r\n")[0] or \
        b"quoted-printable" in head or b"base64" in head  # only the encoding's choice may differ
    ours, theirs = (email.message_from_bytes(data, policy=email.policy.default)
                    for data in (prepared.data, expected))
    assert ours.get_content() == theirs.get_content()
    assert ours["Content-Transfer-Encoding"] == theirs["Content-Transfer-Encoding"]
    assert prepared.eight_bit == (ours["Content-Transfer-Encoding"] == "8bit")
    for header in ("From", "To", "Cc", "Subject"):
        assert str(ours[header]) == str(theirs[header])
    assert prepared["To"] == "h1@example.org"


@pytest.mark.parametrize("subject", [
    "Plain", "Re: (x) \"quoted\" <b>bold</b> & 100% [ok] {y} a\\b", "x" * 69, "x" * 70,
    "a.b@c.d, e; f: g", "Caf=C3=A9", "#$%&'*+-/=^_`|~!"])
def test_a_plain_header_is_written_as_the_registry_writes_it(subject):
    expected = email.policy.SMTP.header_store_parse("Subject", subject)[1].fold(
        policy=email.policy.SMTP)
    assert email_delivery._text_header("Subject", subject) == expected


@pytest.mark.parametrize("subject", ["Line\nbreak", "Carriage\rreturn", "Bcc: x\r\nfoo"])
def test_a_header_with_a_line_break_is_refused_as_before(subject):
    outgoing = OutgoingEmail("h1@example.org", subject, "Body")
    with pytest.raises(ValueError, match="linefeed"):
        build_message(outgoing, "desk@example.org")
    with pytest.raises(ValueError, match="linefeed"):
        prepare_message(outgoing, "desk@example.org")


@pytest.mark.parametrize("outgoing", [
    OutgoingEmail("Jo Smith <jo@example.org>", "Named", "Body"),
    OutgoingEmail("jö@example.org", "Non-ASCII address", "Body"),
    OutgoingEmail("h1@example.org", "Attached", "Body",
                  attachments=(Attachment("a.txt", b"text", "text/plain"),)),
])
def test_what_is_not_plain_is_built_by_the_standard_library(outgoing):
    assert isinstance(prepare_message(outgoing, "desk@example.org"), EmailMessage)


def test_a_non_ascii_sender_is_left_to_the_standard_library():
    outgoing = OutgoingEmail("h1@example.org", "Hi", "Body")
    assert isinstance(prepare_message(outgoing, "Dé <dé@example.org>"), EmailMessage)


def test_sent_is_recorded_with_its_time_and_the_lease_given_back(mail):
    before = utcnow()
    queue(3)
    assert send().sent == 3
    for message in OutboxMessage.select():
        assert message.state == "sent" and message.lease_owner == ""
        assert message.lease_until is None and before <= message.sent_at <= utcnow()
        assert message.attempts == 0 and message.last_error == ""


def test_each_message_is_recorded_sent_before_the_next_goes(mail, monkeypatch):
    """No batching of the "sent" marks: a sender killed after the server took a message
    must not send it again, so its mark is committed before the next message goes."""
    queue(4)
    sender = outbox.OutboxSender(mailer_from_settings())
    original = sender.mailer.send
    seen = []

    def checking(message):
        seen.append(OutboxMessage.select().where(OutboxMessage.state == "sent").count())
        original(message)

    monkeypatch.setattr(sender.mailer, "send", checking)
    assert sender.run(lambda progress: None, CancelToken()).sent == 4
    assert seen == [0, 1, 2, 3]


def test_an_unlimited_sender_does_not_keep_send_times(mail):
    queue(5)
    limiter = RateLimiter()
    outbox.OutboxSender(mailer_from_settings(), limiter).run(lambda p: None, CancelToken())
    assert limiter.sent == []
    assert OutboxMessage.select().where(OutboxMessage.state == "sent").count() == 5


def test_a_limited_sender_still_waits_for_its_limiter(mail):
    queue(3)
    clock = [0.0]
    limiter = RateLimiter(per_minute=60, clock=lambda: clock[0],
                          sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    outbox.OutboxSender(mailer_from_settings(), limiter).run(lambda p: None, CancelToken())
    assert limiter.sent == [0.0, 1.0, 2.0]


def test_an_hours_wait_is_not_spent_holding_leases(mail):
    """With the hourly limit reached the next message may wait an hour, far longer than a
    lease: the sender gives its batch back first, so no other sender can take (and send)
    messages it still holds."""
    queue(3)
    clock, held_while_sleeping = [0.0], []

    def sleep(seconds):
        if seconds >= 0.5:
            held_while_sleeping.append(
                OutboxMessage.select().where(OutboxMessage.state == "sending").count())
        clock[0] += seconds

    limiter = RateLimiter(per_hour=2, clock=lambda: clock[0], sleep=sleep)
    summary = outbox.OutboxSender(mailer_from_settings(), limiter).run(lambda p: None,
                                                                       CancelToken())
    assert summary.sent == 3 and limiter.sent == [0.0, 0.0, 3600.0]
    assert held_while_sleeping and set(held_while_sleeping) == {0}


@pytest.mark.parametrize(("taken", "seconds", "size"), [
    (20, 0.02, outbox.MAX_BATCH),  # fast: as many as go in about a second, at most MAX_BATCH
    (20, 0.4, 50),
    (20, 2.0, outbox.BATCH),  # rate-limited or slow server: as before
    (100, 0.0, outbox.MAX_BATCH),
    (3, 30.0, outbox.BATCH),
])
def test_the_batch_grows_only_while_messages_go_fast(taken, seconds, size):
    assert outbox._batch_size(taken, seconds) == size


def test_a_fast_sender_leases_bigger_batches(mail, monkeypatch):
    queue(150)
    sizes = []
    original = outbox._claim
    monkeypatch.setattr(outbox, "_claim", lambda count: sizes.append(count) or original(count))
    assert send().sent == 150
    assert sizes[0] == outbox.BATCH and max(sizes) > outbox.BATCH
    assert states() == ["sent"]


def test_progress_counts_down_the_waiting_messages(mail):
    queue(45)
    seen = []
    sender = outbox.OutboxSender(mailer_from_settings())
    sender.run(seen.append, CancelToken())
    assert [p.done for p in seen] == list(range(1, 46))
    assert all(p.total == 45 for p in seen)
    assert seen[0].message.endswith(" 44 waiting")
    assert seen[-1].message == "45 sent, 0 failed, 0 waiting"


def test_due_messages_go_in_the_order_they_fell_due(mail):
    first, second, third = queue(3)
    OutboxMessage.update(next_attempt_at=utcnow() - outbox.FIRST_RETRY) \
        .where(OutboxMessage.id == third).execute()  # a retry whose wait is over
    OutboxMessage.update(next_attempt_at=utcnow() + outbox.FIRST_RETRY) \
        .where(OutboxMessage.id == first).execute()  # a retry still waiting
    assert [m.id for m in outbox._claim(10)] == [third, second]
    assert OutboxMessage.get_by_id(first).state == "queued"
