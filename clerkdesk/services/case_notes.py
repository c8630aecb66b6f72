"""Case notes: the trail a household's file keeps of what was done for it."""

from dataclasses import dataclass
from datetime import datetime

from clerkdesk.models import CaseNote

from .session import StaffSession


@dataclass(frozen=True)
class CaseNoteView:
    created_at: datetime
    author: str
    by_system: bool
    category: str
    text: str


def add_system_note(household_id: int, category: str, text: str,
                    actor: StaffSession | None = None) -> None:
    """A note ClerkDesk writes itself (inside the caller's transaction)."""
    CaseNote.create(household=household_id, category=category, text=text, by_system=True,
                    author=actor.username if actor else "system")


def add_note(household_id: int, text: str, actor: StaffSession) -> None:
    """A note a staff member wrote (inside the caller's transaction)."""
    CaseNote.create(household=household_id, category="Note", text=text, by_system=False,
                    author=actor.username)


def notes_for(household_id: int) -> list[CaseNoteView]:
    query = CaseNote.select().where(CaseNote.household == household_id).order_by(
        CaseNote.created_at.desc(), CaseNote.id.desc())
    return [CaseNoteView(n.created_at, n.author, n.by_system, n.category, n.text) for n in query]
