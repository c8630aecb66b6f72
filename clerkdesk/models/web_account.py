"""Portal logins. The password hash never leaves the service layer."""

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

WEB_ACCOUNT_STATUSES = ("active", "disabled")


class WebAccount(BaseModel):
    id = AutoField()
    household = ForeignKeyField(Household, backref="web_accounts", on_delete="CASCADE")
    member = ForeignKeyField(Member, null=True, backref="web_accounts", on_delete="SET NULL")
    username = TextField()
    # Case-folded, normalised form; its unique index is what makes "Smith" and "SMITH" one name.
    username_key = TextField(unique=True)
    password_hash = TextField(null=True)
    status = CharField(max_length=20, default="active")
    must_change = BooleanField(default=True)
    failed_attempts = IntegerField(default=0)
    locked = BooleanField(default=False)
    locked_at = DateTimeField(null=True)
    last_login = DateTimeField(null=True)
    password_changed_at = DateTimeField(null=True)
    password_expires_at = DateTimeField(null=True)
    credentials_delivered_at = DateTimeField(null=True)
    # "owner" once the household chose its own password; bulk mailings then leave it alone.
    password_source = CharField(max_length=20, default="assigned")
    # The address this login uses; empty means the member's, else the household's.
    email = CharField(max_length=320, default="", index=True)
    # A PIN still to be minted when the credentials are delivered ("range:LOW-HIGH" or
    # "digits:N"); empty once a PIN or password is set.
    pin_rule = CharField(max_length=60, default="")
    created_at = DateTimeField(default=utcnow)
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        # The Portal Accounts list walks accounts in user-name order under a filter; each of
        # these answers one filter in that order, so a page is a short index range even when
        # the filter matches one account in a thousand. The household comes last so a walk
        # that checks search words per account reads it from the index, not the table (one
        # random read per account instead of two; schema 6).
        indexes = ((("status", "username_key", "household_id"), False),
                   (("locked", "username_key", "household_id"), False),
                   (("must_change", "username_key", "household_id"), False))


# "Not yet delivered" and "never signed in" are NULL tests, which a composite index cannot
# answer in user-name order on PostgreSQL; a partial index holding just those rows can.
WebAccount.add_index(WebAccount.index(WebAccount.username_key, WebAccount.household,
                                      where=WebAccount.credentials_delivered_at.is_null(),
                                      name="web_account_not_delivered"))
WebAccount.add_index(WebAccount.index(WebAccount.username_key, WebAccount.household,
                                      where=WebAccount.last_login.is_null(),
                                      name="web_account_never_signed_in"))
