"""Email templates people can edit; merge fields such as <WebID> are filled at send time."""

from peewee import AutoField, CharField, DateTimeField, TextField

from .base import BaseModel, utcnow


class EmailTemplate(BaseModel):
    id = AutoField()
    name = CharField(max_length=100, unique=True)
    subject = CharField(max_length=300)
    body = TextField()
    changed_at = DateTimeField(default=utcnow)
    changed_by = CharField(max_length=150, default="")
