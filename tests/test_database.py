"""Opening databases: schema creation, migration with backup, and clear refusals."""

import shutil
import sqlite3
import subprocess

import pytest
from peewee import TextField
from playhouse.migrate import migrate

import clerkdesk
from clerkdesk.models import (
    SCHEMA_VERSION,
    BulkAssignItem,
    BulkAssignRun,
    CommunicationHistory,
    DatabaseConfigError,
    DatabaseUnavailable,
    HistoryCategory,
    Household,
    Mailing,
    MailingAttachment,
    OutboxMessage,
    SchemaTooNew,
    SignUpReview,
    WebAccount,
    database,
    schema,
)
from clerkdesk.models.connection import redact, resolve_url
from clerkdesk.services.database import close_database, open_database


def test_open_database_creates_schema_and_seeds_roles(db_url):
    info = clerkdesk.open_database(db_url)
    assert info.schema_version == SCHEMA_VERSION
    assert info.kind == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    from clerkdesk.models import PasswordPolicy, Role

    assert {r.name for r in Role.select()} >= {"Clerk", "Supervisor", "Administrator"}
    assert PasswordPolicy.get().max_attempts == 0  # the seed's default: unlimited
    # Opening again is harmless: nothing duplicated.
    clerkdesk.open_database(db_url)
    assert Role.select().count() == 3
    close_database()


def test_sqlite_uses_wal_foreign_keys_and_busy_timeout(sqlite_db):
    from clerkdesk.models import database

    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_newer_schema_is_refused_with_a_clear_message(db_url):
    open_database(db_url)
    schema.SchemaVersion.update(version=SCHEMA_VERSION + 5).execute()
    close_database()
    with pytest.raises(SchemaTooNew, match="newer ClerkDesk"):
        open_database(db_url)
    close_database()


def test_older_sqlite_schema_is_backed_up_then_migrated(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    open_database(url)
    Household.create(client_id="7", name="Kept")
    close_database()

    def add_notes_column(migrator):
        migrate(migrator.add_column("household", "portal_note", TextField(default="")))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema.MIGRATIONS, SCHEMA_VERSION + 1, add_notes_column)
    info = open_database(url)
    close_database()

    assert info.schema_version == SCHEMA_VERSION + 1
    backups = list(tmp_path.glob(f"site.sqlite3.v{SCHEMA_VERSION}-*.backup"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as old:
        assert old.execute("SELECT name FROM household").fetchall() == [("Kept",)]
        columns = [row[1] for row in old.execute("PRAGMA table_info(household)")]
        assert "portal_note" not in columns
    with sqlite3.connect(tmp_path / "site.sqlite3") as new:
        columns = [row[1] for row in new.execute("PRAGMA table_info(household)")]
        assert "portal_note" in columns


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/x", "Unsupported database type"),
        ("postgresql://user@host:notaport/db", "malformed"),
        ("postgresql://user@127.0.0.1:5432/", "names no database"),
        ("sqlite://", "names no file"),
        ("'; DROP TABLE household; --://x", "Unsupported database type"),
    ],
)
def test_malformed_urls_are_explained(url, message):
    with pytest.raises(DatabaseConfigError, match=message):
        open_database(url)


def test_unreachable_postgresql_is_explained():
    with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
        open_database("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")


def test_missing_postgresql_database_is_explained():
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        open_database("postgresql://postgres@127.0.0.1:5432/no_such_clerkdesk_db")


def test_corrupt_sqlite_file_is_explained_and_left_alone(tmp_path):
    path = tmp_path / "broken.sqlite3"
    garbage = b"this is not a database at all" * 100
    path.write_bytes(garbage)
    with pytest.raises(DatabaseUnavailable, match="damaged or not a ClerkDesk database"):
        open_database(f"sqlite:///{path}")
    assert path.read_bytes() == garbage


def test_read_only_sqlite_file_is_explained(tmp_path):
    """The file is made immutable (chattr), since root ignores plain file modes."""
    path = tmp_path / "ro.sqlite3"
    sqlite3.connect(path).close()  # an empty database file
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(DatabaseUnavailable, match=r"read-only|cannot be opened"):
            open_database(f"sqlite:///{path}")
        assert path.stat().st_size == 0
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_unknown_url_option_is_explained(tmp_path):
    with pytest.raises(DatabaseConfigError, match="option the driver does not accept"):
        open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}?colour=blue")


def test_folder_given_as_database_file(tmp_path):
    with pytest.raises(DatabaseConfigError, match="is a folder"):
        open_database(f"sqlite:///{tmp_path}")


def test_password_never_shown_in_a_redacted_url():
    assert redact("postgresql://u:s3cr3t@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert "s3cr3t" not in redact("postgresql://u:s3cr3t@h/d")


def test_plain_path_and_environment_resolve_to_sqlite(monkeypatch, tmp_path):
    assert resolve_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("CLERKDESK_DATABASE_URL", "postgresql://x@y/z")
    assert resolve_url(None) == "postgresql://x@y/z"
    monkeypatch.delenv("CLERKDESK_DATABASE_URL")
    assert resolve_url(None).endswith("clerkdesk.sqlite3")


def _turn_back_into_version_1(db_url: str) -> None:
    """What a version-1 database looked like, made from today's schema."""
    open_database(db_url)
    database.drop_tables([SignUpReview, CommunicationHistory, MailingAttachment, Mailing,
                          HistoryCategory, BulkAssignItem, BulkAssignRun, OutboxMessage])
    database.execute_sql("DROP INDEX search_token_household_id_token")
    database.execute_sql("CREATE INDEX search_token_household_id ON search_token (household_id)")
    database.execute_sql("ALTER TABLE web_account DROP COLUMN pin_rule")
    schema.SchemaVersion.update(version=1).execute()
    close_database()


def _turn_back_into_version_2(db_url: str) -> None:
    """A version-2 database: no mailings, an outbox without channels or rehearsals."""
    open_database(db_url)
    database.drop_tables([SignUpReview, CommunicationHistory, MailingAttachment, Mailing,
                          HistoryCategory])
    database.execute_sql("DROP INDEX outbox_message_mailing_id_state")
    database.execute_sql("CREATE INDEX outbox_message_mailing_id ON outbox_message (mailing_id)")
    for column in ("channel", "rehearsal"):
        database.execute_sql(f"ALTER TABLE outbox_message DROP COLUMN {column}")
    schema.SchemaVersion.update(version=2).execute()
    close_database()


def _assert_mailings_schema() -> None:
    assert {"channel", "rehearsal"} <= {c.name for c in database.get_columns("outbox_message")}
    indexes = {i.name: i.columns for i in database.get_indexes("outbox_message")}
    assert indexes["outbox_message_mailing_id_state"] == ["mailing_id", "state"]
    assert "outbox_message_mailing_id" not in indexes
    for table in ("mailing", "mailing_attachment", "communication_history", "history_category",
                  "sign_up_review"):
        assert database.table_exists(table)


def test_version_2_database_is_migrated_to_mailings(db_url):
    _turn_back_into_version_2(db_url)
    open_database(db_url)
    OutboxMessage.insert(to_address="a@example.org", subject="s", body="b").execute()
    close_database()
    info = open_database(db_url)
    try:
        assert info.schema_version == SCHEMA_VERSION == 6
        _assert_mailings_schema()
        [kept] = OutboxMessage.select()
        assert (kept.to_address, kept.channel, kept.rehearsal) == ("a@example.org", "email", False)
    finally:
        close_database()


def test_version_1_database_is_migrated_to_bulk_assign_runs(db_url):
    _turn_back_into_version_1(db_url)
    info = open_database(db_url)
    try:
        assert info.schema_version == SCHEMA_VERSION == 6
        _assert_mailings_schema()
        assert "pin_rule" in [c.name for c in database.get_columns("web_account")]
        assert database.table_exists("bulk_assign_run")
        assert database.table_exists("bulk_assign_item")
        assert database.table_exists("outbox_message")
        indexes = {i.name: i.columns for i in database.get_indexes("search_token")}
        assert indexes["search_token_household_id_token"] == ["household_id", "token"]
        assert "search_token_household_id" not in indexes
        household = Household.create(client_id="1", name="Migrated")
        account = WebAccount.create(household=household, username="m", username_key="m")
        assert WebAccount.get_by_id(account.id).pin_rule == ""
    finally:
        close_database()


def _turn_back_into_version_5(db_url: str) -> None:
    """A version-5 database: the Portal Accounts filter indexes without the household."""
    open_database(db_url)
    for name in ("status_username_key_household_id", "locked_username_key_household_id",
                 "must_change_username_key_household_id", "not_delivered",
                 "never_signed_in"):
        database.execute_sql(f"DROP INDEX web_account_{name}")
    for column in ("status", "locked", "must_change"):
        database.execute_sql(f"CREATE INDEX web_account_{column}_username_key "
                             f"ON web_account ({column}, username_key)")
    database.execute_sql("CREATE INDEX web_account_not_delivered ON web_account (username_key) "
                         "WHERE credentials_delivered_at IS NULL")
    database.execute_sql("CREATE INDEX web_account_never_signed_in ON web_account "
                         "(username_key) WHERE last_login IS NULL")
    schema.SchemaVersion.update(version=5).execute()
    close_database()


def _assert_covered_filter_indexes() -> None:
    indexes = {i.name: i.columns for i in database.get_indexes("web_account")}
    for column in ("status", "locked", "must_change"):
        assert indexes[f"web_account_{column}_username_key_household_id"] == [
            column, "username_key", "household_id"]
        assert f"web_account_{column}_username_key" not in indexes
    for name in ("not_delivered", "never_signed_in"):
        assert indexes[f"web_account_{name}"] == ["username_key", "household_id"]


def test_version_5_database_gets_the_covered_filter_indexes(db_url):
    _turn_back_into_version_5(db_url)
    open_database(db_url)
    household = Household.create(client_id="5", name="Kept")
    WebAccount.create(household=household, username="kept", username_key="kept",
                      status="disabled")
    close_database()
    info = open_database(db_url)
    try:
        assert info.schema_version == SCHEMA_VERSION == 6
        _assert_covered_filter_indexes()
        [kept] = WebAccount.select().where(WebAccount.status == "disabled")
        assert kept.username == "kept"
    finally:
        close_database()


def test_version_1_database_ends_with_the_covered_filter_indexes(db_url):
    _turn_back_into_version_1(db_url)
    open_database(db_url)
    try:
        _assert_covered_filter_indexes()
    finally:
        close_database()
