"""The audit trail: who did what to which record, when. Never a secret."""

import json
from dataclasses import dataclass
from datetime import datetime

from clerkdesk.models import AuditEvent, utcnow

from .bulk import bulk_insert
from .permissions import Permission, require
from .session import StaffSession

SYSTEM = "system"
# Guard against a future call site leaking a secret into the trail by accident.
_SECRET_WORDS = ("password", "pin", "hash", "token", "secret")


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    household_id: str
    details: dict


def record(
    actor: StaffSession | str | None,
    action: str,
    entity: str,
    entity_id: object = "",
    household_id: object = "",
    **details: object,
) -> None:
    """Add one audit event inside the caller's transaction."""
    _refuse_secrets(details)
    AuditEvent.create(
        actor=_actor_name(actor),
        action=action,
        entity=entity,
        entity_id=str(entity_id or ""),
        household_id=str(household_id or ""),
        details=json.dumps(details, default=str, ensure_ascii=False),
    )


def record_many(actor: StaffSession | str | None, action: str, entity: str,
                events: list[tuple[object, object, dict]]) -> None:
    """Many events of one kind at once — (record id, household id, details) each — for bulk
    work; inside the caller's transaction."""
    for _, _, details in events:
        _refuse_secrets(details)
    name, at = _actor_name(actor), utcnow()
    bulk_insert(AuditEvent, [AuditEvent.at, AuditEvent.actor, AuditEvent.action,
                             AuditEvent.entity, AuditEvent.entity_id, AuditEvent.household_id,
                             AuditEvent.details],
                [(at, name, action, entity, str(entity_id or ""), str(household_id or ""),
                  json.dumps(details, default=str, ensure_ascii=False))
                 for entity_id, household_id, details in events])


def _refuse_secrets(details: dict) -> None:
    leaked = [key for key in details if any(word in key.lower() for word in _SECRET_WORDS)]
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {leaked}")


def trail(actor: StaffSession, limit: int = 500) -> list[AuditView]:
    """The newest events, for the audit report; reading the whole trail is for administrators."""
    require(actor, Permission.STAFF_ADMIN)
    return recent(limit)


def recent(limit: int = 100, household_id: int | None = None) -> list[AuditView]:
    query = AuditEvent.select().order_by(AuditEvent.id.desc()).limit(limit)
    if household_id is not None:
        query = query.where(AuditEvent.household_id == str(household_id))
    return [
        AuditView(e.at, e.actor, e.action, e.entity, e.entity_id, e.household_id,
                  json.loads(e.details or "{}"))
        for e in query
    ]


def _actor_name(actor: StaffSession | str | None) -> str:
    if isinstance(actor, StaffSession):
        return actor.username
    return actor or SYSTEM
