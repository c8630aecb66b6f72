"""Versioned schema: a fresh database gets today's tables, an older one is migrated step by step.

A fresh database is created from the current models and stamped with SCHEMA_VERSION; each
later change to a model adds a numbered step to MIGRATIONS that brings an existing database
from the previous version to this one, so both paths end in the same schema.
"""

from collections.abc import Callable

from peewee import Database, IntegerField, PostgresqlDatabase
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator, migrate

from .base import BaseModel
from .bulk_runs import BulkAssignItem, BulkAssignRun
from .errors import SchemaTooNew
from .household import Household, Member
from .mailings import CommunicationHistory, HistoryCategory, Mailing, MailingAttachment
from .outbox import OutboxMessage
from .passes import Pass, PassType
from .records import AuditEvent, CaseNote
from .search import SearchToken
from .settings import PasswordPolicy, Setting
from .sign_ups import SignUpReview
from .staff import Role, RolePermission, StaffUser
from .templates import EmailTemplate
from .tokens import Token
from .web_account import WebAccount

SCHEMA_VERSION = 6

ALL_MODELS: list[type[BaseModel]] = [
    Household,
    Member,
    WebAccount,
    Role,
    RolePermission,
    StaffUser,
    PasswordPolicy,
    Setting,
    CaseNote,
    AuditEvent,
    PassType,
    Pass,
    Token,
    EmailTemplate,
    SearchToken,
    BulkAssignRun,
    BulkAssignItem,
    OutboxMessage,
    HistoryCategory,
    Mailing,
    MailingAttachment,
    CommunicationHistory,
    SignUpReview,
]


class SchemaVersion(BaseModel):
    version = IntegerField()


def _add_bulk_assign(migrator: SchemaMigrator) -> None:
    """Version 2: bulk assign runs, PINs minted when they are delivered, the outbox, and the
    search index's household column indexed together with the token."""
    tokens = SearchToken._meta.table_name
    migrate(migrator.add_column(WebAccount._meta.table_name, "pin_rule", WebAccount.pin_rule),
            migrator.drop_index(tokens, f"{tokens}_household_id"),
            migrator.add_index(tokens, ("household_id", "token"), False))
    migrator.database.create_tables([BulkAssignRun, BulkAssignItem, OutboxMessage])


def _add_mailings(migrator: SchemaMigrator) -> None:
    """Version 3: bulk mailings with their history and categories; outbox messages learn
    their channel (email or text) and whether they are a rehearsal. A version-1 database
    got today's outbox table from step 2, so each change is made only where it is missing."""
    db, outbox = migrator.database, OutboxMessage._meta.table_name
    columns = {column.name for column in db.get_columns(outbox)}
    indexes = {index.name for index in db.get_indexes(outbox)}
    changes = [migrator.add_column(outbox, name, getattr(OutboxMessage, name))
               for name in ("channel", "rehearsal") if name not in columns]
    if f"{outbox}_mailing_id" in indexes:
        changes.append(migrator.drop_index(outbox, f"{outbox}_mailing_id"))
    if f"{outbox}_mailing_id_state" not in indexes:
        changes.append(migrator.add_index(outbox, ("mailing_id", "state"), False))
    migrate(*changes)
    db.create_tables([HistoryCategory, Mailing, MailingAttachment, CommunicationHistory])


def _add_sign_up_reviews(migrator: SchemaMigrator) -> None:
    """Version 4: portal sign-ups held for a clerk's review."""
    migrator.database.create_tables([SignUpReview])


def _add_portal_account_indexes(migrator: SchemaMigrator) -> None:
    """Version 5: the Portal Accounts list's indexes, one per filter in user-name order
    (the web account's existing indexes are left as they are)."""
    WebAccount._schema.create_indexes(safe=True)


# The Portal Accounts filter indexes as schema 5 made them, without the household.
_UNCOVERED_FILTER_INDEXES = ("web_account_status_username_key",
                             "web_account_locked_username_key",
                             "web_account_must_change_username_key",
                             "web_account_not_delivered", "web_account_never_signed_in")


def _cover_portal_account_filters(migrator: SchemaMigrator) -> None:
    """Version 6: each Portal Accounts filter index ends with the household, so a filter
    walk that checks search words reads it from the index instead of the table. The two
    partial indexes keep their names, so all five are dropped and made again (from a
    version-4 database, step 5 has made them as they are today already: made again)."""
    db = migrator.database
    for name in _UNCOVERED_FILTER_INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    WebAccount._schema.create_indexes(safe=True)


# version -> step that upgrades a database at version-1 to version
MIGRATIONS: dict[int, Callable[[SchemaMigrator], None]] = {2: _add_bulk_assign,
                                                          3: _add_mailings,
                                                          4: _add_sign_up_reviews,
                                                          5: _add_portal_account_indexes,
                                                          6: _cover_portal_account_filters}


def stored_version(db: Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().first()
    return row.version if row else 0


def upgrade(db: Database, backup: Callable[[int], None]) -> int:
    """Create or migrate the schema; `backup(from_version)` runs before an existing one changes."""
    with db.atomic():
        if isinstance(db, PostgresqlDatabase):
            # Two desks starting at once must not both migrate.
            db.execute_sql("SELECT pg_advisory_xact_lock(7304121)")
        version = stored_version(db)
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"This database has schema version {version}, but this ClerkDesk only knows "
                f"version {SCHEMA_VERSION}. Install the newer ClerkDesk that wrote it."
            )
        if version == 0:
            _byte_wise_tokens(db)
            db.create_tables([SchemaVersion, *ALL_MODELS])
            _stamp(SCHEMA_VERSION)
            return SCHEMA_VERSION
    if version < SCHEMA_VERSION:
        backup(version)
        migrator = _migrator_for(db)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            with db.atomic():
                MIGRATIONS[step](migrator)
                _stamp(step)
    return SCHEMA_VERSION


def _byte_wise_tokens(db: Database) -> None:
    """PostgreSQL's default collation ignores punctuation, which breaks prefix ranges."""
    SearchToken.token.collation = '"C"' if isinstance(db, PostgresqlDatabase) else None


def _stamp(version: int) -> None:
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=version)


def _migrator_for(db: Database) -> SchemaMigrator:
    if isinstance(db, PostgresqlDatabase):
        return PostgresqlMigrator(db)
    return SqliteMigrator(db)
