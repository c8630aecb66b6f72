"""Bulk Web ID/PIN assign runs: what each run was asked to do, where it stands, and one item
per household (or member) it touched — enough to resume it, report its exceptions and undo it."""

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
from .household import Household, Member
from .web_account import WebAccount

BULK_RUN_STATES = ("running", "cancelled", "finished", "undone")


class BulkAssignRun(BaseModel):
    id = AutoField()
    started_by = CharField(max_length=150)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    state = CharField(max_length=20, default="running")
    options = TextField()  # JSON of the wizard's choices; never a PIN
    total = IntegerField(default=0)
    done = IntegerField(default=0)
    # The last (household id, member id or 0) processed; a resumed run starts after it.
    cursor_household = IntegerField(default=0)
    cursor_member = IntegerField(default=0)
    assigned = IntegerField(default=0)
    exceptions = IntegerField(default=0)
    # Who is carrying the run out ("host:pid") and when it last committed a batch: a run
    # another desk is still working on must not be resumed a second time.
    runner = CharField(max_length=200, default="")
    heartbeat_at = DateTimeField(default=utcnow)
    # Set for a "re-run for exceptions only": the run whose exceptions it retries.
    retry_of = ForeignKeyField("self", null=True, backref="retries", on_delete="SET NULL")


class BulkAssignItem(BaseModel):
    id = AutoField()
    run = ForeignKeyField(BulkAssignRun, backref="items", on_delete="CASCADE")
    household = ForeignKeyField(Household, on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    account = ForeignKeyField(WebAccount, null=True, on_delete="SET NULL")
    outcome = CharField(max_length=20)  # "assigned" or "exception"
    reason = CharField(max_length=40, default="")
    detail = TextField(default="")
    username = TextField(default="")
    # What an overwrite replaced, so undo can put it back (a hash, never a PIN).
    created_account = BooleanField(default=False)
    previous_username = TextField(null=True)
    previous_hash = TextField(null=True)
    previous_must_change = BooleanField(null=True)
    previous_source = CharField(max_length=20, null=True)
    previous_pin_rule = CharField(max_length=60, null=True)

    class Meta:
        indexes = ((("run", "outcome"), False),)
