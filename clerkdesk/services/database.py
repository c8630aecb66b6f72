"""Opening a database for use: schema, built-in roles and the password device."""

from dataclasses import dataclass

from clerkdesk.models import (
    DatabaseInfo,
    Household,
    StaffUser,
    WebAccount,
    database,
    default_url,
    resolve_url,
)
from clerkdesk.models import open_database as open_schema
from clerkdesk.models.connection import keyring_name_for
from clerkdesk.models.secret_store import set_secret

from .email_templates import ensure_default_templates
from .errors import ValidationError
from .mailing_history import ensure_default_categories
from .roles import ensure_built_in_roles
from .settings import ensure_policy, forget_recent


@dataclass(frozen=True)
class DatabaseCounts:
    households: int
    web_accounts: int
    staff: int


def open_database(url: str | None = None) -> DatabaseInfo:
    """Bind the models to `url` (default: the SQLite file), migrate, and seed what must exist."""
    info = open_schema(url)
    forget_recent()  # what was read from the database before belongs to it
    with database.atomic():
        ensure_built_in_roles()
        ensure_policy()
        ensure_default_templates()
        ensure_default_categories()
    return info


def demo_url() -> str:
    """The separate demo database, so rehearsals never touch the real one."""
    return default_url(demo=True)


def counts() -> DatabaseCounts:
    """Row counts for `db info`; never called at start-up (it scales with the data)."""
    return DatabaseCounts(Household.select().count(), WebAccount.select().count(),
                          StaffUser.select().count())


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


def store_database_password(url: str | None, password: str) -> str:
    """Keep a PostgreSQL password in the OS keyring; returns the entry's name."""
    url = resolve_url(url)
    if not url.lower().startswith(("postgres://", "postgresql://")):
        raise ValidationError("database", "Only a PostgreSQL URL has a password to store.")
    if not password:
        raise ValidationError("password", "Enter the password to store.")
    name = keyring_name_for(url)
    set_secret(name, password)
    return name
