"""Site settings and the password device (PasswordPolicy)."""

from peewee import AutoField, BooleanField, CharField, IntegerField, TextField

from .base import BaseModel

DEFAULT_POLICY_NAME = "default"
DEFAULT_LOCKED_MESSAGE = (
    "Your account is locked. Please contact the front desk to have it unlocked."
)


class PasswordPolicy(BaseModel):
    id = AutoField()
    name = CharField(max_length=60, unique=True)
    max_attempts = IntegerField(default=0)  # 0 = unlimited, the seed's default
    final_attempt_warning = BooleanField(default=True)
    locked_message = TextField(default=DEFAULT_LOCKED_MESSAGE)
    case_sensitive = BooleanField(default=False)
    min_length = IntegerField(default=8)
    auto_unlock_minutes = IntegerField(default=0)  # 0 = only a clerk unlocks


class Setting(BaseModel):
    key = CharField(max_length=100, primary_key=True)
    value = TextField()  # JSON
