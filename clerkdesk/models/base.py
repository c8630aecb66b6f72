"""The one database proxy every model binds to, and the base model."""

from datetime import UTC, datetime

from peewee import DatabaseProxy, Model

database = DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC time: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
