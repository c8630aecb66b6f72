"""Stored times are naive UTC; people read them in local time."""

from datetime import UTC, datetime


def local_text(moment: datetime | None, empty: str = "—") -> str:
    if moment is None:
        return empty
    return moment.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
