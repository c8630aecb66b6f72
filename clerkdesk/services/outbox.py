"""The durable outbox and its sender.

Messages are queued in the database; `OutboxSender` drains them over one mail-server
connection at a time, within a rate limit. Each message is leased to the sender that took it;
a sender that dies leaves its lease to run out, and the message goes back to the queue. So a
sender killed at any point and started again loses no message and sends none twice, except the
one that was in flight (DESIGN decision 2 keeps even that one's credential valid: `<WebPin>`
is minted, hashed and stored in its own transaction just before each send).
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from peewee import fn

from clerkdesk.models import (
    OUTBOX_STATES,
    Mailing,
    MailingAttachment,
    OutboxMessage,
    database,
    utcnow,
)

from . import audit
from .account_store import account_by_id, fresh_credential, hash_for, store_secret
from .bulk import bulk_insert
from .email_delivery import (
    Attachment,
    CaptureMailer,
    DeliveryError,
    Mailer,
    OutgoingEmail,
    build_message,  # noqa: F401 - no longer used here, but importable from here as before
    capture_folder,
    mailer_from_settings,
    sender_header,
)
from .jobs import CancelToken, Job, Progress, ProgressCallback
from .permissions import Permission, require
from .rate_limit import RateLimiter
from .runs_claim import process_gone, this_runner
from .session import StaffSession
from .settings import get_setting, password_policy
from .text_messages import CaptureTexts, EmailToSmsGateway, TextProvider

WEB_PIN = "<WebPin>"
REHEARSAL_PIN = "[PIN: rehearsal, none minted]"
WAITING = ("queued", "sending")
LEASE = timedelta(minutes=5)
LONGEST_HELD_WAIT = 60.0  # seconds a sender may wait while holding leased messages
BATCH = 20  # messages leased at a time at first, and whenever they go slowly
MAX_BATCH = 100  # while they go fast: fewer claims and counts per message
BATCH_SECONDS = 1.0  # a bigger batch only while one goes out within about this time
RECOUNT_SECONDS = 1.0  # the progress report's count of waiting messages, redone this often
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_ERRORS_KEPT = 100  # every failure is on its message; the summary keeps the first few


def enqueue(to: str, subject: str, body: str, *, household_id: int | None = None,
            account_id: int | None = None, mailing_id: int | None = None,
            cc: tuple[str, ...] = (), channel: str = "email", rehearsal: bool = False) -> int:
    """Queue one message, inside the caller's transaction. Every merge field but `<WebPin>`
    is already filled in; that one needs `account_id` and is filled at send time."""
    if WEB_PIN in body and account_id is None:
        raise ValueError("a message carrying <WebPin> must name the web account")
    return OutboxMessage.create(to_address=to, cc=", ".join(cc), subject=subject, body=body,
                                household=household_id, account=account_id,
                                mailing_id=mailing_id, channel=channel,
                                rehearsal=rehearsal).id


# The columns of a row given to enqueue_many, in order.
QUEUED_FIELDS = [OutboxMessage.mailing_id, OutboxMessage.household, OutboxMessage.account,
                 OutboxMessage.channel, OutboxMessage.rehearsal, OutboxMessage.to_address,
                 OutboxMessage.cc, OutboxMessage.subject, OutboxMessage.body]


def enqueue_many(rows: list[tuple]) -> None:
    """Queue a batch at once (a mailing's), inside the caller's transaction."""
    if any(WEB_PIN in row[8] and row[2] is None for row in rows):
        raise ValueError("a message carrying <WebPin> must name the web account")
    bulk_insert(OutboxMessage, QUEUED_FIELDS, rows)


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def start_sender(actor: StaffSession) -> "OutboxSender":
    """A sender over the configured mail server (or the capture folder), within the
    configured rate; needs the bulk email device."""
    require(actor, Permission.BULK_EMAIL)
    limiter = RateLimiter(int(get_setting("email.rate_per_minute")),
                          int(get_setting("email.rate_per_hour")))
    mailer = mailer_from_settings()
    return OutboxSender(mailer, limiter, texts_from_settings(mailer))


def texts_from_settings(mailer: Mailer) -> TextProvider:
    """The configured text provider; capture unless a gateway is chosen and mail is live."""
    if get_setting("sms.provider") == "email-gateway" and get_setting("email.mode") == "smtp":
        return EmailToSmsGateway(mailer, str(get_setting("sms.gateway_domain")))
    return CaptureTexts(capture_folder() / "texts")


def state_counts(actor: StaffSession) -> dict[str, int]:
    """How many messages are in each state (queued, sending, sent, failed, cancelled)."""
    require(actor, Permission.BULK_EMAIL)
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    for state, count in (OutboxMessage.select(OutboxMessage.state, fn.COUNT(OutboxMessage.id))
                         .group_by(OutboxMessage.state).tuples()):
        counts[state] = count
    return counts


def pending() -> int:
    return OutboxMessage.select().where(OutboxMessage.state.in_(WAITING)).count()


class OutboxSender(Job):
    title = "Sending email"

    def __init__(self, mailer: Mailer, limiter: RateLimiter | None = None,
                 texts: TextProvider | None = None) -> None:
        self.mailer, self.limiter = mailer, limiter or RateLimiter()
        rehearsals = capture_folder() / "rehearsals"
        self.texts = texts or CaptureTexts(capture_folder() / "texts")
        # Rehearsals go to the capture folder whatever the delivery setting: nothing leaves.
        self.rehearsal_mailer = CaptureMailer(rehearsals)
        self.rehearsal_texts = CaptureTexts(rehearsals / "texts")
        self.attachments: dict[int, tuple[Attachment, ...]] = {}
        self.stopped: dict[int, str] = {}
        self.summary = SendSummary()

    def run(self, report: ProgressCallback, cancel: CancelToken) -> SendSummary:
        return_lapsed_leases()
        self.from_header = sender_header()  # once: a setting read per message costs
        try:
            if _live_waiting():
                self.mailer.open()  # a server that is down fails here and changes nothing
            limiter = self.limiter
            # No limit: no need to ask the limiter (nor to keep every send time) per message.
            self.unlimited = type(limiter) is RateLimiter and limiter.spacing <= 0 \
                and limiter.per_hour <= 0
            size, self.waiting, self.recount_at = BATCH, 0, 0.0
            while not cancel.cancelled and (batch := _claim(size)):
                started = time.monotonic()
                self._send_batch(batch, report, cancel)
                size = _batch_size(len(batch), time.monotonic() - started)
        finally:
            self.mailer.close()
        return self.summary

    def _send_batch(self, batch: list[OutboxMessage], report: ProgressCallback,
                    cancel: CancelToken) -> None:
        limiter = self.limiter
        for index, message in enumerate(batch):
            now = time.monotonic()
            if now >= self.recount_at:  # counting a long queue is not free: once a second
                self.waiting, self.recount_at = pending(), now + RECOUNT_SECONDS
                self.stopped = stopped_mailings()  # paused or cancelled since the lease
            if message.mailing_id in self.stopped:
                state = "cancelled" if self.stopped[message.mailing_id] == "cancelled" \
                    else "queued"
                _finish(message, state)
                continue
            if not self.unlimited and limiter.delay() > LONGEST_HELD_WAIT:
                # The hourly limit can mean an hour's wait: holding the batch that long
                # would outlive its leases and let another sender take it.
                _release(batch[index:])
                limiter.sleep_until_free(lambda: cancel.cancelled)
                return
            if cancel.cancelled or not (self.unlimited
                                        or limiter.wait(lambda: cancel.cancelled)):
                _release(batch[index:])
                return
            self._send(message)
            self.waiting -= 1
            self._report(report, self.waiting)

    def _report(self, report: ProgressCallback, waiting: int) -> None:
        done = self.summary.sent + self.summary.failed + self.summary.retrying
        report(Progress(done, done + max(waiting, 0), f"{self.summary.sent:,} sent, "
                        f"{self.summary.failed:,} failed, {max(waiting, 0):,} waiting"))

    def _send(self, message: OutboxMessage) -> None:
        try:
            body = message.body
            if WEB_PIN in body:
                pin = REHEARSAL_PIN if message.rehearsal \
                    else _mint_credential(message.account_id)
                body = body.replace(WEB_PIN, pin)
            self._deliver(message, body)
        except DeliveryError as error:
            self._failed(message, error)
            return
        _mark_sent(message.id)
        self.summary.sent += 1

    def _deliver(self, message: OutboxMessage, body: str) -> None:
        if message.channel == "text":
            texts = self.rehearsal_texts if message.rehearsal else self.texts
            texts.send(message.to_address, body, self.from_header)
            return
        mailer = self.rehearsal_mailer if message.rehearsal else self.mailer
        # Over SMTP, prepare gives the bytes directly rather than an EmailMessage: the
        # standard library's header registry costs more than sending the message.
        mailer.send(mailer.prepare(OutgoingEmail(
            message.to_address, message.subject, body,
            tuple(a for a in message.cc.split(", ") if a),
            self._attachments_of(message.mailing_id)), self.from_header))

    def _attachments_of(self, mailing_id: int | None) -> tuple[Attachment, ...]:
        """Read once per mailing and run, not once per message."""
        if mailing_id is None:
            return ()
        if mailing_id not in self.attachments:
            self.attachments[mailing_id] = tuple(
                Attachment(name, bytes(content), kind) for name, kind, content in
                MailingAttachment.select(MailingAttachment.file_name,
                                         MailingAttachment.content_type,
                                         MailingAttachment.content)
                .where(MailingAttachment.mailing == mailing_id)
                .order_by(MailingAttachment.id).tuples())
        return self.attachments[mailing_id]

    def _failed(self, message: OutboxMessage, error: DeliveryError) -> None:
        attempts = message.attempts + 1
        if error.permanent or attempts >= MAX_ATTEMPTS:
            _finish(message, "failed", attempts=attempts, last_error=str(error))
            self.summary.failed += 1
        else:
            _finish(message, "queued", attempts=attempts, last_error=str(error),
                    next_attempt_at=utcnow() + FIRST_RETRY * 2 ** (attempts - 1))
            self.summary.retrying += 1
        if len(self.summary.errors) < MAX_ERRORS_KEPT:
            self.summary.errors.append(str(error))


def _mint_credential(account_id: int | None) -> str:
    """A fresh PIN for the account, stored (hashed) before the message goes: a crash between
    the two just mints again on retry, and the last message sent always holds a working one."""
    with database.atomic():
        account = account_by_id(account_id)
        secret = fresh_credential(account)
        store_secret(account, hash_for(secret, password_policy()), must_change=True,
                     source="assigned")
        account.credentials_delivered_at = utcnow()
        account.save()
        audit.record(None, "web_account.credential_mailed", "web_account", account.id,
                     account.household_id)
    return secret


def _live_waiting() -> bool:
    return OutboxMessage.select().where(OutboxMessage.state.in_(WAITING)
                                        & ~OutboxMessage.rehearsal).exists()


def stopped_mailings() -> dict[int, str]:
    """{mailing id: "paused" or "cancelled"}: a sender re-reads it while it sends, so a
    pause or cancel also holds back what it has already leased."""
    return dict(Mailing.select(Mailing.id, Mailing.state)
                .where(Mailing.state.in_(("paused", "cancelled"))).tuples())


def held_mailings() -> list[int]:
    """Mailings whose messages must wait: being prepared, paused, or the second of a
    sequence whose first still has messages to send."""
    earlier = OutboxMessage.select(OutboxMessage.id).where(
        (OutboxMessage.mailing_id == Mailing.after) & OutboxMessage.state.in_(WAITING))
    return [mailing_id for (mailing_id,) in Mailing.select(Mailing.id).where(
        (Mailing.state != "sending") | (Mailing.after.is_null(False) & fn.EXISTS(earlier)))
        .tuples()]


def _claim(count: int) -> list[OutboxMessage]:
    """Lease the next due messages to this sender, leaving held mailings alone.

    Each statement reads only what it needs, however long the queue: the due messages in the
    order of the (state, next_attempt_at, id) index, which is when they fell due — the order
    they were queued in, a retry when its wait is over — so no sort of the whole queue; the
    UPDATE and the read-back by primary key (the state test is written so that SQLite does
    not pick the state index for it and walk every queued message instead)."""
    now, me = utcnow(), this_runner()
    due_now = (OutboxMessage.state == "queued") & (OutboxMessage.next_attempt_at <= now)
    held = held_mailings()
    if held:
        due_now &= OutboxMessage.mailing_id.is_null() | OutboxMessage.mailing_id.not_in(held)
    with database.atomic():
        due = [message_id for (message_id,) in OutboxMessage.select(OutboxMessage.id)
               .where(due_now).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
               .limit(count).tuples()]
        if not due:
            return []
        (OutboxMessage.update(state="sending", lease_owner=me, lease_until=now + LEASE)
         .where(OutboxMessage.id.in_(due)
                & (fn.COALESCE(OutboxMessage.state, "") == "queued")).execute())
    taken = {message.id: message for message in
             OutboxMessage.select().where(OutboxMessage.id.in_(due))
             if message.lease_owner == me and message.state == "sending"}
    return [taken[message_id] for message_id in due if message_id in taken]


def _batch_size(taken: int, seconds: float) -> int:
    """How many to lease next: what goes out in BATCH_SECONDS at the pace of the last batch,
    at least BATCH and at most MAX_BATCH. So leasing (four statements) costs little per
    message when nothing slows the sender, and a paused or cancelled mailing still stops
    within about a second — or BATCH messages, as before — and no lease (LEASE) runs short."""
    if seconds <= 0:
        return MAX_BATCH
    return max(BATCH, min(MAX_BATCH, int(BATCH_SECONDS * taken / seconds)))


def _finish(message: OutboxMessage, state: str, **changes: object) -> None:
    (OutboxMessage.update(state=state, lease_owner="", lease_until=None, **changes)
     .where(OutboxMessage.id == message.id).execute())


# The UPDATE that marks a message sent, as peewee writes it for each kind of database, with
# where the time and the id go among its parameters: built once, not once per message.
_SENT_STATEMENTS: dict[type, tuple[str, list, int, int]] = {}
_STAMP, _NO_ID = datetime(2000, 1, 2, 3, 4, 5, 6), -987_654_321


def _mark_sent(message_id: int) -> None:
    """_finish(message, "sent", sent_at=utcnow()), committed at once as each message goes: a
    sender killed after the mail server took a message must not send it again."""
    kind = type(database.obj)
    statement = _SENT_STATEMENTS.get(kind)
    if statement is None:
        sql, params = (OutboxMessage.update(state="sent", lease_owner="", lease_until=None,
                                            sent_at=_STAMP)
                       .where(OutboxMessage.id == _NO_ID).sql())
        statement = _SENT_STATEMENTS[kind] = (sql, params, params.index(_STAMP),
                                              params.index(_NO_ID))
    sql, template, at_time, at_id = statement
    params = list(template)
    params[at_time], params[at_id] = utcnow(), message_id
    database.execute_sql(sql, params)


def _release(messages: list[OutboxMessage]) -> None:
    """Give back what was taken but not sent (paused or cancelled), in one statement."""
    if messages:
        (OutboxMessage.update(state="queued", lease_owner="", lease_until=None)
         .where(OutboxMessage.id.in_([m.id for m in messages])).execute())


def return_lapsed_leases() -> int:
    """Messages whose sender died while holding them go back to the queue: at once when
    that sender was a process on this machine, else when its lease has run out."""
    held = (OutboxMessage.select(OutboxMessage.lease_owner).distinct()
            .where(OutboxMessage.state == "sending").tuples())
    gone = [owner for (owner,) in held if process_gone(owner)]
    lapsed = (OutboxMessage.state == "sending") & (
        (OutboxMessage.lease_until < utcnow()) | OutboxMessage.lease_owner.in_(gone or [""]))
    returned = (OutboxMessage.update(state="queued", lease_owner="", lease_until=None)
                .where(lapsed).execute())
    # A mailing cancelled while a dead sender held some of it: those are withdrawn too.
    cancelled = Mailing.select(Mailing.id).where(Mailing.state == "cancelled")
    (OutboxMessage.update(state="cancelled")
     .where((OutboxMessage.state == "queued") & OutboxMessage.mailing_id.in_(cancelled))
     .execute())
    return returned
