"""Bulk mailings ("communications"), the history that links households to them, and the
categories that let a later mailing include or skip households of earlier ones."""

from peewee import (
    AutoField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import BaseModel, utcnow
from .household import Household

MAILING_STATES = ("sending", "paused", "cancelled")
CHANNELS = ("email", "text", "both")


class HistoryCategory(BaseModel):
    id = AutoField()
    code = CharField(max_length=20, unique=True)
    description = CharField(max_length=200, default="")
    active = BooleanField(default=True)


class Mailing(BaseModel):
    id = AutoField()
    description = CharField(max_length=200)
    category = ForeignKeyField(HistoryCategory, null=True, backref="mailings",
                               on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow, index=True)
    created_by = CharField(max_length=150, default="")
    # A rehearsal runs into the capture folder and mints no credential: nothing leaves.
    rehearsal = BooleanField(default=True)
    # "sending" until finished; "paused" holds its messages back; "cancelled" for good.
    state = CharField(max_length=20, default="sending")
    # A sequence: this mailing's messages wait until every message of that one has gone out.
    after = ForeignKeyField("self", null=True, backref="followers", on_delete="SET NULL")
    channels = CharField(max_length=10, default="email")
    skip_text_if_email = BooleanField(default=True)
    subject = TextField(default="")
    body = TextField(default="")
    text_body = TextField(default="")
    cc = TextField(default="")
    targeting = TextField(default="{}")  # JSON, so the mailing can be explained later
    recipients = IntegerField(default=0)
    with_history = BooleanField(default=True)


class MailingAttachment(BaseModel):
    id = AutoField()
    mailing = ForeignKeyField(Mailing, backref="attachments", on_delete="CASCADE")
    file_name = CharField(max_length=255)
    content_type = CharField(max_length=100, default="application/octet-stream")
    content = BlobField()


class CommunicationHistory(BaseModel):
    id = AutoField()
    mailing = ForeignKeyField(Mailing, backref="history", on_delete="CASCADE")
    household = ForeignKeyField(Household, backref="communications", on_delete="CASCADE")

    class Meta:
        indexes = ((("household", "mailing"), True),)
