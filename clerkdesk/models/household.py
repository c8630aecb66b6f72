"""Households (the customer records) and their members."""

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
)

from .base import BaseModel, utcnow

HOUSEHOLD_STATUSES = ("active", "inactive")


class Household(BaseModel):
    id = AutoField()
    client_id = CharField(max_length=40, unique=True)
    name = CharField(max_length=200, index=True)
    address_line1 = CharField(max_length=200, default="")
    address_line2 = CharField(max_length=200, default="")
    city = CharField(max_length=100, default="")
    region = CharField(max_length=100, default="")
    postal_code = CharField(max_length=20, default="")
    phone = CharField(max_length=40, default="")
    # Digits only, so "(555) 010-2030" and "5550102030" find the same household.
    phone_digits = CharField(max_length=40, default="", index=True)
    email = CharField(max_length=320, default="", index=True)
    status = CharField(max_length=20, default="active")
    # Optimistic locking: every save increments it; a save that read an older one is refused.
    version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    changed_at = DateTimeField(default=utcnow)
    changed_by = CharField(max_length=150, default="")


class Member(BaseModel):
    id = AutoField()
    household = ForeignKeyField(Household, backref="members", on_delete="CASCADE")
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    birth_date = DateField(null=True)
    email = CharField(max_length=320, default="", index=True)
    phone = CharField(max_length=40, default="")
    phone_digits = CharField(max_length=40, default="", index=True)
    relationship = CharField(max_length=40, default="")
    is_primary = BooleanField(default=False)

    class Meta:
        indexes = ((("last_name", "first_name"), False),)
