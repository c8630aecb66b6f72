"""People who use ClerkDesk, their roles and the permission devices granted to roles."""

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


class Role(BaseModel):
    id = AutoField()
    name = CharField(max_length=60, unique=True)
    description = CharField(max_length=200, default="")
    built_in = BooleanField(default=False)


class RolePermission(BaseModel):
    id = AutoField()
    role = ForeignKeyField(Role, backref="grants", on_delete="CASCADE")
    permission = CharField(max_length=60)

    class Meta:
        indexes = ((("role", "permission"), True),)


class StaffUser(BaseModel):
    id = AutoField()
    username = CharField(max_length=150)
    username_key = CharField(max_length=150, unique=True)
    display_name = CharField(max_length=150, default="")
    password_hash = TextField()
    role = ForeignKeyField(Role, backref="staff", on_delete="RESTRICT")
    active = BooleanField(default=True)
    failed_attempts = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    last_sign_in = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    password_changed_at = DateTimeField(default=utcnow)
