"""History categories, kept by supervisors, and the Communication History of a household:
each mailing it was part of, with what happened to every message sent to it."""

from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, IntegrityError

from clerkdesk.models import CommunicationHistory, HistoryCategory, Mailing, OutboxMessage

from . import audit
from .errors import ValidationError
from .permissions import Permission, require
from .session import StaffSession
from .unit_of_work import transactional
from .validation import clean_text

DEFAULT_CATEGORIES = (
    ("MISC", "Miscellaneous"),
    ("WEB", "Web user name and password"),
    ("NEWS", "Newsletter"),
)


@dataclass(frozen=True)
class CategoryView:
    code: str
    description: str
    active: bool


@dataclass(frozen=True)
class Delivery:
    channel: str
    to: str
    state: str  # queued, sending, sent, failed, cancelled
    reason: str  # the server's answer when it failed or waits for a retry
    sent_at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    mailing_id: int
    description: str
    category: str
    created_at: datetime
    created_by: str
    rehearsal: bool
    deliveries: tuple[Delivery, ...]


def ensure_default_categories() -> None:
    if not HistoryCategory.select().exists():
        for code, description in DEFAULT_CATEGORIES:
            HistoryCategory.create(code=code, description=description)


def categories(include_inactive: bool = False) -> list[CategoryView]:
    query = HistoryCategory.select().order_by(HistoryCategory.code)
    if not include_inactive:
        query = query.where(HistoryCategory.active)
    return [CategoryView(c.code, c.description, c.active) for c in query]


@transactional
def save_category(actor: StaffSession, code: str, description: str,
                  active: bool = True) -> CategoryView:
    """Add a category or change one; codes are short capitals such as NEWS."""
    require(actor, Permission.BULK_EMAIL)
    code = clean_text("category code", code, max_length=20, required=True).upper()
    if not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        raise ValidationError("category code", "A category code is letters and digits "
                              "(and - or _), e.g. NEWS or PARENT-MTG.")
    description = clean_text("category description", description, max_length=200,
                             required=True)
    try:
        HistoryCategory.insert(code=code, description=description, active=bool(active)) \
            .on_conflict(conflict_target=[HistoryCategory.code],
                         preserve=[HistoryCategory.description, HistoryCategory.active]) \
            .execute()
    except IntegrityError:
        raise ValidationError("category code", f"“{code}” cannot be saved.") from None
    audit.record(actor, "history_category.save", "history_category", code,
                 description=description, active=bool(active))
    return CategoryView(code, description, bool(active))


def household_history(actor: StaffSession, household_id: int) -> list[HistoryEntry]:
    """The mailings this household was part of, newest first, each with its deliveries."""
    require(actor, Permission.HOUSEHOLD_EDIT)
    mailings = list(Mailing.select(Mailing, HistoryCategory)
                    .join(CommunicationHistory).switch(Mailing)
                    .join(HistoryCategory, JOIN.LEFT_OUTER)
                    .where(CommunicationHistory.household == household_id)
                    .order_by(Mailing.id.desc()))
    deliveries: dict[int, list[Delivery]] = {}
    for row in (OutboxMessage.select(OutboxMessage.mailing_id, OutboxMessage.channel,
                                     OutboxMessage.to_address, OutboxMessage.state,
                                     OutboxMessage.last_error, OutboxMessage.sent_at)
                .where((OutboxMessage.household == household_id)
                       & OutboxMessage.mailing_id.in_([m.id for m in mailings]))
                .order_by(OutboxMessage.id).tuples()):
        deliveries.setdefault(row[0], []).append(Delivery(*row[1:]))
    return [HistoryEntry(m.id, m.description, m.category.code if m.category_id else "",
                         m.created_at, m.created_by, m.rehearsal,
                         tuple(deliveries.get(m.id, ()))) for m in mailings]
