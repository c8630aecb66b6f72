"""The outbox: messages queued in the database until the sender hands them to the mail server.

A message that carries a credential keeps the `<WebPin>` merge field unexpanded; the sender
mints the PIN at the moment of sending (DESIGN decision 2), so no PIN is ever stored here.
"""

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import BaseModel, utcnow
from .household import Household
from .web_account import WebAccount

OUTBOX_STATES = ("queued", "sending", "sent", "failed", "cancelled")


class OutboxMessage(BaseModel):
    id = AutoField()
    household = ForeignKeyField(Household, null=True, backref="outbox", on_delete="CASCADE")
    account = ForeignKeyField(WebAccount, null=True, on_delete="SET NULL")
    mailing_id = IntegerField(null=True)  # the mailing it belongs to, if any
    # "email", or "text": then the address is a phone number in E.164 form.
    channel = CharField(max_length=10, default="email")
    # Into the capture folder, with no credential minted, whatever the delivery setting.
    rehearsal = BooleanField(default=False)
    to_address = CharField(max_length=320)
    cc = TextField(default="")
    subject = TextField()
    body = TextField()
    state = CharField(max_length=20, default="queued")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_error = TextField(default="")
    # A sender that took the message and until when; a lease that runs out (the sender died)
    # puts the message back in the queue.
    lease_owner = CharField(max_length=200, default="")
    lease_until = DateTimeField(null=True)
    queued_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("state", "next_attempt_at", "id"), False), (("mailing_id", "state"), False))
