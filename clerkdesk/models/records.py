"""What happened to a household: case notes for people, audit events for reviewers."""

from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from .base import BaseModel, utcnow
from .household import Household


class CaseNote(BaseModel):
    id = AutoField()
    household = ForeignKeyField(Household, backref="case_notes", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)
    author = CharField(max_length=150, default="")  # staff user name, or "system"
    by_system = BooleanField(default=False)
    category = CharField(max_length=60, default="")
    text = TextField()


class AuditEvent(BaseModel):
    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    # A name, not a foreign key: the trail must outlive the staff account it names.
    actor = CharField(max_length=150)
    action = CharField(max_length=80, index=True)
    entity = CharField(max_length=60)
    entity_id = CharField(max_length=60, default="")
    household_id = CharField(max_length=20, default="", index=True)
    details = TextField(default="{}")  # JSON; the audit service refuses secret-looking keys
