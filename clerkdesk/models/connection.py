"""Opening the database named by a URL: SQLite by default, PostgreSQL for many desks."""

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from peewee import Database, OperationalError, PostgresqlDatabase, SqliteDatabase
from peewee import DatabaseError as PeeweeDatabaseError
from playhouse.db_url import parse as parse_db_url

from . import schema
from .base import database, utcnow
from .errors import DatabaseConfigError, DatabaseUnavailable
from .secret_store import get_secret

log = logging.getLogger(__name__)

URL_ENVIRONMENT_VARIABLE = "CLERKDESK_DATABASE_URL"
DATA_DIR_ENVIRONMENT_VARIABLE = "CLERKDESK_DATA_DIR"
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
    "cache_size": -32000,
}
URL_HELP = (
    "Use sqlite:///path/to/clerkdesk.sqlite3 or postgresql://user@host:5432/database."
)


@dataclass(frozen=True)
class DatabaseInfo:
    kind: str  # "sqlite" or "postgresql"
    location: str  # file path, or the URL without any password
    schema_version: int


def data_dir() -> Path:
    """The user's ClerkDesk data folder (database, backups, captured mail)."""
    override = os.environ.get(DATA_DIR_ENVIRONMENT_VARIABLE)
    if override:
        return Path(override)
    return platformdirs.user_data_path("ClerkDesk", appauthor=False)


def default_url(demo: bool = False) -> str:
    name = "demo.sqlite3" if demo else "clerkdesk.sqlite3"
    return f"sqlite:///{data_dir() / name}"


def resolve_url(url: str | None) -> str:
    """The URL given, else the environment's, else the SQLite file in the data folder."""
    chosen = (url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or "").strip()
    if not chosen:
        return default_url()
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).expanduser().absolute()}"
    return chosen


def redact(url: str) -> str:
    """The URL as it may be shown or logged: never with its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def open_database(url: str | None = None) -> DatabaseInfo:
    """Bind every model to the database at `url`, creating or upgrading its schema."""
    url = resolve_url(url)
    db, info = _connect(url)
    database.initialize(db)
    try:
        version = schema.upgrade(db, backup=lambda old: _backup_sqlite(db, old))
    except (OperationalError, PeeweeDatabaseError) as error:
        db.close()
        raise _explain(error, info.location) from None
    return DatabaseInfo(info.kind, info.location, version)


def _connect(url: str) -> tuple[Database, DatabaseInfo]:
    scheme = urlsplit(url).scheme.lower()
    try:
        params = parse_db_url(url)
    except ValueError as error:
        raise DatabaseConfigError(f"The database URL is malformed ({error}). {URL_HELP}") from None
    if scheme == "sqlite":
        if urlsplit(url).path in ("", "/"):
            raise DatabaseConfigError(f"The SQLite URL names no file. {URL_HELP}")
        db, info = _sqlite(params)
    elif scheme in ("postgres", "postgresql"):
        db, info = _postgresql(url, params)
    else:
        raise DatabaseConfigError(
            f"Unsupported database type “{scheme or url}”. {URL_HELP}"
        )
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1")
    except (OperationalError, PeeweeDatabaseError) as error:
        raise _explain(error, info.location) from None
    except TypeError as error:  # an option in the URL's query the driver does not take
        raise DatabaseConfigError(f"The database URL has an option the driver does not "
                                  f"accept ({error}). {URL_HELP}") from None
    return db, info


def _sqlite(params: dict) -> tuple[SqliteDatabase, DatabaseInfo]:
    path_text = params.pop("database")
    if path_text != ":memory:":
        path = Path(path_text)
        if path.is_dir():
            raise DatabaseConfigError(f"{path} is a folder; name a database file inside it.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"Cannot create the folder for {path}: {error.strerror}."
            ) from None
    # Transactions take the write lock when they begin (BEGIN IMMEDIATE), so a second writer
    # waits its turn (busy_timeout) instead of failing at once with "database is locked":
    # SQLite cannot let a transaction that has read (to check a user name is free) upgrade
    # to writing after another one wrote meanwhile. Readers are never held up (WAL).
    db = SqliteDatabase(path_text, pragmas=SQLITE_PRAGMAS, timeout=5, lock_type="IMMEDIATE",
                        **params)
    return db, DatabaseInfo("sqlite", path_text, 0)


def _postgresql(url: str, params: dict) -> tuple[PostgresqlDatabase, DatabaseInfo]:
    if not params.get("database"):
        raise DatabaseConfigError(f"The PostgreSQL URL names no database. {URL_HELP}")
    params.setdefault("connect_timeout", 5)
    if "password" not in params and params.get("user"):
        stored = get_secret(_keyring_name(params))
        if stored:
            params["password"] = stored
    name = params.pop("database")
    return PostgresqlDatabase(name, **params), DatabaseInfo("postgresql", redact(url), 0)


def keyring_name_for(url: str) -> str:
    """The keyring entry that holds the password of the PostgreSQL server at `url`."""
    return _keyring_name(parse_db_url(resolve_url(url)))


def _keyring_name(params: dict) -> str:
    """The keyring entry that holds this server's password: user@host:port/database."""
    return (
        f"database:{params.get('user')}@{params.get('host', 'localhost')}:"
        f"{params.get('port', 5432)}/{params.get('database')}"
    )


def _explain(error: Exception, location: str) -> DatabaseUnavailable:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        hint = "The file is read-only. Give this user write access to it and its folder."
    elif "not a database" in lowered or "malformed" in lowered:
        hint = "The file is damaged or not a ClerkDesk database. Restore it from a backup."
    elif "unable to open" in lowered:
        hint = "The file cannot be opened. Check the path and its permissions."
    elif "password" in lowered or "authentication" in lowered:
        hint = "The server refused the sign-in. Store the password with `clerkdesk db password`."
    elif "could not connect" in lowered or "connection refused" in lowered or "timeout" in lowered:
        hint = "The server cannot be reached. Check the host and port, and that it is running."
    elif "does not exist" in lowered:
        hint = "Create the database on the server first, or correct its name in the URL."
    else:
        hint = "Check the database URL and that the server or file is available."
    return DatabaseUnavailable(f"Cannot use the database {location}: {text}. {hint}")


def _backup_sqlite(db: Database, from_version: int) -> None:
    if not isinstance(db, SqliteDatabase) or db.database == ":memory:":
        return
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    target = Path(f"{db.database}.v{from_version}-{stamp}.backup")
    with sqlite3.connect(target) as copy:
        db.connection().backup(copy)
    copy.close()
    log.info("Backed up %s to %s before migrating it", db.database, target)
