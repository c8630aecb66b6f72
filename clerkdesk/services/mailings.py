"""Bulk mailings: what would happen (the warnings before processing), queueing every message
in one transaction, and pausing, resuming or cancelling what is still waiting.

A mailing is queued whole or not at all: a cancel or an error while queueing leaves no
mailing, no message and no history behind. `<WebPin>` stays unexpanded in the outbox; the
sender mints each PIN as its message goes (DESIGN decision 2).
"""

from dataclasses import dataclass, field
from datetime import datetime

from peewee import JOIN, fn

from clerkdesk.models import (
    CommunicationHistory,
    HistoryCategory,
    Mailing,
    MailingAttachment,
    OutboxMessage,
    database,
)

from . import audit, mailing_targets
from .bulk import bulk_insert
from .email_delivery import mailer_from_settings
from .errors import ClerkDeskError, NotFound, ValidationError
from .jobs import CancelToken, Job, Progress, ProgressCallback
from .mailing_drafts import OWNER_PASSWORD_TEXT, WEB_PIN, MessageDraft, checked, fill
from .mailing_targets import Recipient, Targeting
from .outbox import WAITING, enqueue_many, held_mailings
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting
from .validation import clean_text

NO_LOGIN = "no web login"
UNREACHABLE = "no valid email address or text number"
BATCH_HOUSEHOLDS = 500


@dataclass(frozen=True)
class MailingDraft:
    description: str
    targeting: Targeting
    message: MessageDraft
    category: str = ""  # a history category code; empty for none
    with_history: bool = True
    rehearsal: bool = True
    reissue_owner_passwords: bool = False
    teaser: MessageDraft | None = None  # sent first; the message waits until it has gone


@dataclass(frozen=True)
class Planned:
    channel: str
    to: str
    subject: str
    body: str
    account_id: int | None


@dataclass
class Readiness:
    """What processing would do, for the warnings before it starts."""

    recipients: int = 0
    emails: int = 0
    texts: int = 0
    without_login: int = 0
    owner_passwords: int = 0
    unreachable: int = 0
    rehearsal: bool = True
    delivery: str = ""
    duration_seconds: float | None = None
    problems: list[str] = field(default_factory=list)  # each one stops processing

    @property
    def messages(self) -> int:
        return self.emails + self.texts


@dataclass(frozen=True)
class MailingView:
    id: int
    description: str
    category: str
    created_at: datetime
    created_by: str
    rehearsal: bool
    state: str
    after_id: int | None
    recipients: int
    counts: dict[str, int]
    held: bool  # its messages wait (paused, or for the first of a sequence)

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(state, 0) for state in WAITING)

    @property
    def status(self) -> str:
        if self.state in ("paused", "cancelled"):
            return self.state.title()
        if not self.waiting:
            return "Finished"
        return f"Waits for mailing {self.after_id}" if self.held else "Sending"


def rehearsal_only() -> bool:
    """The site captures its mail (the demo does by default): every mailing is a rehearsal."""
    return get_setting("email.mode") == "capture"


def check_draft(actor: StaffSession, draft: MailingDraft) -> MailingDraft:
    """The draft with clean fields, or a ValidationError naming the first thing to fix."""
    require(actor, Permission.BULK_EMAIL)
    description = clean_text("history description", draft.description, max_length=200,
                             required=True)
    draft.targeting.check()
    if draft.category and not HistoryCategory.select().where(
            (HistoryCategory.code == draft.category) & HistoryCategory.active).exists():
        raise ValidationError("history category", f"There is no active history category "
                              f"“{str(draft.category)[:40]}”.")
    if not draft.rehearsal and rehearsal_only():
        raise ValidationError("rehearsal", "This site is in rehearsal mode (Settings → Email "
                              "delivery: capture), so nothing can go out live. An "
                              "administrator must change that setting first.")
    teaser = checked(draft.teaser) if draft.teaser is not None else None
    if teaser is not None and teaser.carries_pin:
        raise ValidationError("teaser", "The teaser goes first and must not carry <WebPin>; "
                              "put the PIN in the second message.")
    return MailingDraft(description, draft.targeting, checked(draft.message), draft.category,
                        draft.with_history, draft.rehearsal, draft.reissue_owner_passwords,
                        teaser)


def plan(recipient: Recipient, message: MessageDraft, reissue: bool,
         merge: bool = True, portal: str | None = None) -> list[Planned] | str:
    """The messages one recipient gets, or why they get none; `merge=False` only counts
    them (the warnings before processing come before the portal address may be set)."""
    if message.needs_login and recipient.account_id is None:
        return NO_LOGIN
    pin = OWNER_PASSWORD_TEXT if recipient.owner_password and not reissue else WEB_PIN
    account = recipient.account_id if pin == WEB_PIN else None
    found: list[Planned] = []
    if message.sends_email and recipient.email_ok:
        subject, body = fill(message.subject, message.body, recipient, pin, portal) if merge \
            else (message.subject, message.body)
        found.append(Planned("email", recipient.email, subject, body, account))
    wants_text = message.sends_text and recipient.phone and not (
        message.sends_email and message.skip_text_if_email and recipient.email_ok)
    if wants_text:
        text = fill("-", message.text, recipient, pin, portal)[1] if merge else message.text
        found.append(Planned("text", recipient.phone, "", text, account))
    return found or UNREACHABLE


def readiness(actor: StaffSession, draft: MailingDraft,
              report: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> Readiness:
    """Count what processing would do, and the problems that must be fixed first."""
    draft = check_draft(actor, draft)
    found = Readiness(rehearsal=draft.rehearsal or rehearsal_only())
    total = mailing_targets.count(draft.targeting)
    for recipients in mailing_targets.batches(draft.targeting, BATCH_HOUSEHOLDS):
        for recipient in recipients:
            _count(found, recipient, plan(recipient, draft.message,
                                          draft.reissue_owner_passwords, merge=False))
            found.owner_passwords += recipient.owner_password and draft.message.carries_pin
        if cancel is not None:
            cancel.raise_if_cancelled()
        if report is not None:
            report(Progress(found.recipients, total, f"{found.recipients:,} recipients read"))
    found.delivery = _delivery(found.rehearsal)
    found.duration_seconds = sending_seconds(found.messages * (2 if draft.teaser else 1))
    found.problems = _problems(draft, found)
    return found


def _count(found: Readiness, recipient: Recipient, planned: list[Planned] | str) -> None:
    found.recipients += 1
    if planned == NO_LOGIN:
        found.without_login += 1
    elif planned == UNREACHABLE:
        found.unreachable += 1
    else:
        found.emails += sum(p.channel == "email" for p in planned)
        found.texts += sum(p.channel == "text" for p in planned)


def _problems(draft: MailingDraft, found: Readiness) -> list[str]:
    problems = []
    uses_portal = draft.message.uses_portal_link or draft.message.needs_login or (
        draft.teaser is not None and draft.teaser.uses_portal_link)
    if uses_portal and not get_setting("portal.url"):
        problems.append("The portal address is not set (Settings → Portal): households would "
                        "get a user name and PIN they cannot use anywhere.")
    if not found.messages:
        problems.append("No recipient would get a message: change the targeting.")
    if not get_setting("email.from_address"):
        problems.append("The From address is not set (Settings → Email).")
    return problems


def _delivery(rehearsal: bool) -> str:
    if rehearsal:
        return "REHEARSAL: every message goes into the capture folder; nothing leaves and " \
               "no PIN is minted."
    try:
        return f"LIVE: messages go out through the {mailer_from_settings().description}."
    except ClerkDeskError as error:  # says what to set up
        return f"LIVE, but email is not ready: {error}"


def sending_seconds(messages: int) -> float | None:
    """How long `messages` take at the configured rate; None when nothing limits it."""
    per_minute = int(get_setting("email.rate_per_minute"))
    per_hour = int(get_setting("email.rate_per_hour"))
    if not per_minute and not per_hour:
        return None
    by_minute = messages * 60 / per_minute if per_minute else 0.0
    by_hour = max(messages - per_hour, 0) / per_hour * 3600 if per_hour else 0.0
    return max(by_minute, by_hour)


@dataclass
class QueueResult:
    mailing_id: int
    teaser_id: int | None
    emails: int = 0
    texts: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


class QueueMailing(Job):
    """Queue a whole mailing (and its teaser) in one transaction."""

    title = "Queueing the mailing"

    def __init__(self, actor: StaffSession, draft: MailingDraft) -> None:
        self.actor, self.draft = actor, check_draft(actor, draft)

    def run(self, report: ProgressCallback, cancel: CancelToken) -> QueueResult:
        require(self.actor, Permission.BULK_EMAIL)
        draft, total = self.draft, mailing_targets.count(self.draft.targeting)
        self.portal = str(get_setting("portal.url"))  # once, not once per message
        with database.atomic():
            teaser = self._mailing(draft.teaser, None, " (teaser)") if draft.teaser else None
            main = self._mailing(draft.message, teaser, "")
            result = QueueResult(main.id, teaser.id if teaser else None)
            done = 0
            for recipients in mailing_targets.batches(draft.targeting, BATCH_HOUSEHOLDS):
                cancel.raise_if_cancelled()
                self._queue_batch(recipients, main, teaser, result)
                done += len(recipients)
                report(Progress(done, total, f"{done:,} of {total:,} recipients queued"))
            for mailing in (teaser, main):
                if mailing is not None:
                    mailing.recipients = done
                    mailing.save()
            audit.record(self.actor, "mailing.create", "mailing", main.id,
                         description=draft.description, rehearsal=main.rehearsal,
                         emails=result.emails, texts=result.texts, teaser=result.teaser_id,
                         skipped=result.skipped)
        return result

    def _mailing(self, message: MessageDraft, after: Mailing | None, suffix: str) -> Mailing:
        draft = self.draft
        category = HistoryCategory.get_or_none(HistoryCategory.code == draft.category) \
            if draft.category else None
        mailing = Mailing.create(
            description=(draft.description + suffix)[:200], category=category,
            created_by=self.actor.username, rehearsal=draft.rehearsal or rehearsal_only(),
            after=after, channels=message.channels,
            skip_text_if_email=message.skip_text_if_email, subject=message.subject,
            body=message.body, text_body=message.text_body, cc=", ".join(message.cc),
            targeting=draft.targeting.to_json(), with_history=draft.with_history)
        for attachment in message.attachments:
            MailingAttachment.create(mailing=mailing, file_name=attachment.file_name,
                                     content_type=attachment.mime_type,
                                     content=attachment.content)
        return mailing

    def _queue_batch(self, recipients: list[Recipient], main: Mailing,
                     teaser: Mailing | None, result: QueueResult) -> None:
        rows, reached = [], set()
        for mailing, message in ((teaser, self.draft.teaser), (main, self.draft.message)):
            if mailing is None:
                continue
            for recipient in recipients:
                planned = plan(recipient, message, self.draft.reissue_owner_passwords,
                               portal=self.portal)
                if isinstance(planned, str):
                    if mailing is main:
                        result.skipped[planned] = result.skipped.get(planned, 0) + 1
                    continue
                reached.add((mailing.id, recipient.household_id))
                rows.extend(_row(mailing, recipient, p) for p in planned)
                if mailing is main:
                    result.emails += sum(p.channel == "email" for p in planned)
                    result.texts += sum(p.channel == "text" for p in planned)
        enqueue_many(rows)
        if self.draft.with_history:
            bulk_insert(CommunicationHistory, [CommunicationHistory.mailing,
                                               CommunicationHistory.household], sorted(reached))


def _row(mailing: Mailing, recipient: Recipient, planned: Planned) -> tuple:
    return (mailing.id, recipient.household_id, planned.account_id, planned.channel,
            mailing.rehearsal, planned.to, mailing.cc if planned.channel == "email" else "",
            planned.subject, planned.body)


def list_mailings(actor: StaffSession, limit: int = 200) -> list[MailingView]:
    """The newest mailings first, each with its messages counted by state."""
    require(actor, Permission.BULK_EMAIL)
    mailings = list(Mailing.select(Mailing, HistoryCategory).join(HistoryCategory, JOIN.LEFT_OUTER)
                    .order_by(Mailing.id.desc()).limit(limit))
    counts, held = _counts([m.id for m in mailings]), set(held_mailings())
    return [_view(m, counts.get(m.id, {}), m.id in held) for m in mailings]


def get_mailing(actor: StaffSession, mailing_id: int) -> MailingView:
    require(actor, Permission.BULK_EMAIL)
    mailing = _mailing_by_id(mailing_id)
    return _view(mailing, _counts([mailing.id]).get(mailing.id, {}),
                 mailing.id in held_mailings())


def pause(actor: StaffSession, mailing_id: int) -> MailingView:
    """Hold back what is still waiting; the message in flight finishes."""
    return _set_state(actor, mailing_id, "paused", ("sending",), "mailing.pause")


def resume(actor: StaffSession, mailing_id: int) -> MailingView:
    return _set_state(actor, mailing_id, "sending", ("paused",), "mailing.resume")


def cancel(actor: StaffSession, mailing_id: int) -> MailingView:
    """Nothing more of this mailing goes out; what was sent stays sent."""
    return _set_state(actor, mailing_id, "cancelled", ("sending", "paused"), "mailing.cancel")


def _set_state(actor: StaffSession, mailing_id: int, state: str, allowed: tuple[str, ...],
               action: str) -> MailingView:
    require(actor, Permission.BULK_EMAIL)
    with database.atomic():
        mailing = _mailing_by_id(mailing_id)
        if mailing.state not in allowed:
            raise ValidationError("mailing", f"Mailing {mailing.id} is {mailing.state}; it "
                                  f"cannot be {state.replace('sending', 'resumed')} now.")
        mailing.state = state
        mailing.save()
        withdrawn = 0
        if state == "cancelled":
            withdrawn = (OutboxMessage.update(state="cancelled")
                         .where((OutboxMessage.mailing_id == mailing.id)
                                & (OutboxMessage.state == "queued")).execute())
        audit.record(actor, action, "mailing", mailing.id, withdrawn=withdrawn)
    return get_mailing(actor, mailing_id)


def _mailing_by_id(mailing_id: object) -> Mailing:
    mailing = Mailing.get_or_none(Mailing.id == mailing_id) \
        if isinstance(mailing_id, int) and not isinstance(mailing_id, bool) else None
    if mailing is None:
        raise NotFound(f"There is no mailing {str(mailing_id)[:20]}.")
    return mailing


def _counts(mailing_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    if not mailing_ids:
        return counts
    for mailing_id, state, number in (
            OutboxMessage.select(OutboxMessage.mailing_id, OutboxMessage.state,
                                 fn.COUNT(OutboxMessage.id))
            .where(OutboxMessage.mailing_id.in_(mailing_ids))
            .group_by(OutboxMessage.mailing_id, OutboxMessage.state).tuples()):
        counts.setdefault(mailing_id, {})[state] = number
    return counts


def _view(mailing: Mailing, counts: dict[str, int], held: bool) -> MailingView:
    category = mailing.category.code if mailing.category_id else ""
    return MailingView(mailing.id, mailing.description, category, mailing.created_at,
                       mailing.created_by, mailing.rehearsal, mailing.state, mailing.after_id,
                       mailing.recipients, counts, held)
