"""Test setup: offscreen Qt, a low bcrypt cost, private data and keyring folders, and one
`db` fixture that runs each model and service test on SQLite and on PostgreSQL."""

import os
import tempfile
import uuid
from pathlib import Path

_PRIVATE = Path(tempfile.mkdtemp(prefix="clerkdesk-tests-"))
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["CLERKDESK_BCRYPT_COST"] = "4"  # tests that measure the cost set it themselves
os.environ["CLERKDESK_DATA_DIR"] = str(_PRIVATE / "data")
os.environ["XDG_DATA_HOME"] = str(_PRIVATE / "xdg")
os.environ["XDG_CONFIG_HOME"] = str(_PRIVATE / "config")  # QSettings of the tests
os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
os.environ.pop("CLERKDESK_DATABASE_URL", None)
os.environ.pop("CLERKDESK_STAFF_PASSWORD", None)

import psycopg2  # noqa: E402
import pytest  # noqa: E402

from clerkdesk.services import staff  # noqa: E402
from clerkdesk.services.database import close_database, open_database  # noqa: E402
from clerkdesk.services.permissions import ADMINISTRATOR, CLERK, SUPERVISOR  # noqa: E402

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
STAFF_PASSWORD = "correct-horse-staff"


def _postgres_schema_url() -> str | None:
    """A fresh schema for this test run, or None when PostgreSQL cannot be reached."""
    schema = f"clerkdesk_test_{uuid.uuid4().hex[:10]}"
    try:
        connection = psycopg2.connect(POSTGRES_SERVER, connect_timeout=3)
    except psycopg2.OperationalError:
        return None
    with connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    connection.close()
    return f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"


def _drop_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    connection = psycopg2.connect(POSTGRES_SERVER)
    with connection, connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    connection.close()


@pytest.fixture(scope="session")
def postgres_url():
    url = _postgres_schema_url()
    if url is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required under CI and cannot be reached")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    yield url
    close_database()
    _drop_schema(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The URL of an empty ClerkDesk database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clerkdesk.sqlite3'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres_schema(url)
    return url


def _empty_postgres_schema(url: str) -> None:
    """Truncate every table (the schema version too) so the next open starts afresh."""
    schema = url.rsplit("%3D", 1)[1]
    connection = psycopg2.connect(POSTGRES_SERVER)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        tables = ", ".join(f'"{schema}"."{name}"' for (name,) in cursor.fetchall())
        if tables:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    connection.close()


@pytest.fixture
def db(db_url):
    """An opened, seeded, empty database; yields its URL."""
    open_database(db_url)
    yield db_url
    close_database()


@pytest.fixture
def sqlite_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'clerkdesk.sqlite3'}"
    open_database(url)
    yield url
    close_database()


# UI tests override `db` with `sqlite_db` in tests/ui/conftest.py; the services under them are
# already proven on both databases.
def _make_staff(username: str, role: str):
    if staff.needs_first_administrator():
        staff.create_first_administrator("root-admin", "Root Admin", STAFF_PASSWORD,
                                         STAFF_PASSWORD)
    if role == ADMINISTRATOR and username == "root-admin":
        return staff.sign_in("root-admin", STAFF_PASSWORD)
    root = staff.sign_in("root-admin", STAFF_PASSWORD)
    staff.add_staff(root, username, username.title(), STAFF_PASSWORD, role)
    return staff.sign_in(username, STAFF_PASSWORD)


def staff_without(admin, permission: str, username: str):
    """A signed-in staff member whose role has every Clerk grant except `permission`."""
    from clerkdesk.models import Role
    from clerkdesk.services import roles

    roles.create_role(admin, "Greeter", "Says hello.")
    for granted in Role.get(Role.name == "Clerk").grants:
        if granted.permission != permission:
            roles.set_grant(admin, "Greeter", granted.permission, True)
    staff.add_staff(admin, username, username.title(), STAFF_PASSWORD, "Greeter")
    return staff.sign_in(username, STAFF_PASSWORD)


@pytest.fixture
def admin(db):
    return _make_staff("root-admin", ADMINISTRATOR)


@pytest.fixture
def supervisor(admin):
    return _make_staff("sam", SUPERVISOR)


@pytest.fixture
def clerk(admin):
    return _make_staff("cleo", CLERK)


def stored_bytes(url: str) -> bytes:
    """Everything the database holds at rest, to scan for secrets: the SQLite files byte for
    byte (WAL included), or every row of every table in the PostgreSQL test schema."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    schema = url.rsplit("%3D", 1)[1]
    connection = psycopg2.connect(POSTGRES_SERVER)
    chunks = []
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT * FROM "{schema}"."{table}"')
            chunks.append(repr(cursor.fetchall()).encode())
    connection.close()
    return b"".join(chunks)


@pytest.fixture
def smtp_server():
    from tests.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail(admin, smtp_server):
    """Email through the loopback SMTP server, with a portal address for the links."""
    from clerkdesk.services import settings as site_settings

    site_settings.set_settings(admin, {
        "email.mode": "smtp", "email.smtp_host": "127.0.0.1",
        "email.smtp_port": smtp_server.port, "email.smtp_security": "none",
        "email.from_address": "desk@example.org", "portal.url": "https://portal.example.org",
    })
    return smtp_server


@pytest.fixture
def household(db):
    """A household with a primary member and an email address."""
    from clerkdesk.models import Household, Member

    home = Household.create(client_id="1001", name="O'Brien", email="obrien@example.org")
    Member.create(household=home, first_name="Siobhán", last_name="O'Brien", is_primary=True)
    return home.id


@pytest.fixture
def site(db_url, capsys, monkeypatch):
    """A database with an administrator `boss` and a clerk `cleo`, made through the CLI."""
    from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli

    status, _, _ = cli(capsys, monkeypatch, "--database", db_url, "staff", "add", "boss",
                       "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
    assert status == 0
    status, _, _ = cli(capsys, monkeypatch, "--database", db_url, "--as", "boss", "staff", "add",
                       "cleo", "--role", "clerk", stdin=CLERK_PASSWORD + "\n",
                       password=ADMIN_PASSWORD)
    assert status == 0
    return db_url
