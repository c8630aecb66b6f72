"""Portal sign-ups that look like an existing household: held for a clerk to link, create
or refuse, instead of creating a duplicate household (seed 000)."""

from peewee import (
    AutoField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import BaseModel, utcnow
from .household import Household
from .web_account import WebAccount

SIGN_UP_STATES = ("pending", "linked", "created", "refused")


class SignUpReview(BaseModel):
    id = AutoField()
    created_at = DateTimeField(default=utcnow, index=True)
    state = CharField(max_length=20, default="pending", index=True)
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    birth_date = DateField(null=True)
    email = CharField(max_length=320, default="")
    phone_digits = CharField(max_length=40, default="")
    postal_code = CharField(max_length=20, default="")
    username = TextField(default="")
    # The password the household chose at sign-up, hashed as any other: never readable.
    password_hash = TextField(null=True)
    candidate = ForeignKeyField(Household, null=True, backref="sign_up_reviews",
                                on_delete="SET NULL")
    score = IntegerField(default=0)  # how many profile fields matched the candidate
    reasons = TextField(default="")  # which ones, for the clerk
    household = ForeignKeyField(Household, null=True, on_delete="SET NULL")  # the outcome
    account = ForeignKeyField(WebAccount, null=True, on_delete="SET NULL")
    resolved_by = CharField(max_length=150, default="")
    resolved_at = DateTimeField(null=True)
