"""Single-use, expiring tokens for reset, sign-up and login links. Only their hash is stored."""

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField

from .base import BaseModel, utcnow
from .household import Household
from .web_account import WebAccount


class Token(BaseModel):
    id = AutoField()
    kind = CharField(max_length=20)  # reset, signup, login
    token_hash = CharField(max_length=64, unique=True)  # SHA-256 hex of the secret
    web_account = ForeignKeyField(WebAccount, null=True, backref="tokens", on_delete="CASCADE")
    household = ForeignKeyField(Household, null=True, backref="tokens", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
