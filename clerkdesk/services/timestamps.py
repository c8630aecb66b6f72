"""Stored times are naive UTC; people read them in local time (the desk's, or the terminal's)."""

from datetime import UTC, datetime


def local_text(moment: datetime | None, empty: str = "—", seconds: bool = False) -> str:
    if moment is None:
        return empty
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.replace(tzinfo=UTC).astimezone().strftime(shape)
