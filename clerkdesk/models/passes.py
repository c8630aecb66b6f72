"""Passes (memberships) a household holds; the targeting of later mailings uses them."""

from peewee import AutoField, CharField, DateField, ForeignKeyField

from .base import BaseModel
from .household import Household, Member

PASS_STATUSES = ("Actv-New", "Actv-Renew", "Suspended", "Expired", "Cancelled")


class PassType(BaseModel):
    id = AutoField()
    code = CharField(max_length=20, unique=True)
    description = CharField(max_length=200, default="")


class Pass(BaseModel):
    id = AutoField()
    household = ForeignKeyField(Household, backref="passes", on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, backref="passes", on_delete="SET NULL")
    pass_type = ForeignKeyField(PassType, backref="passes", on_delete="RESTRICT")
    status = CharField(max_length=20)
    start_date = DateField()
    expiration_date = DateField()

    class Meta:
        indexes = ((("pass_type", "status", "expiration_date"), False),)
