"""The CLI over the same services and permission checks; bad input gets a message, not a trace."""

import subprocess
import sys
from pathlib import Path

import pytest

from clerkdesk.models import SCHEMA_VERSION, data_dir
from clerkdesk.services import settings, staff
from clerkdesk.services.database import open_database
from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli
from tests.conftest import stored_bytes

ROOT = Path(__file__).resolve().parents[1]


def test_init_on_a_fresh_database_says_what_to_do_next(db_url, capsys, monkeypatch):
    status, out, _ = cli(capsys, monkeypatch, "--database", db_url, "init")
    assert status == 0
    assert f"schema version {SCHEMA_VERSION}" in out
    assert "clerkdesk staff add NAME --role admin" in out


def test_first_staff_member_must_be_an_administrator(db_url, capsys, monkeypatch):
    status, _, err = cli(capsys, monkeypatch, "--database", db_url, "staff", "add", "cleo",
                         "--role", "clerk", stdin="some-long-password\n")
    assert status == 1
    assert "must be an administrator" in err


def test_adding_staff_needs_the_staff_device(site, capsys, monkeypatch):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "staff", "add", "eve",
                         "--role", "admin", stdin="eve-long-password\n")
    assert status == 3
    assert "permission denied: staff.admin" in err
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "cleo", "staff",
                         "list", password=CLERK_PASSWORD)
    assert status == 3 and "staff.admin" in err
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff",
                         "list", password=ADMIN_PASSWORD)
    assert status == 0
    assert "boss" in out and "cleo" in out and "eve" not in out


def test_settings_set_and_get_with_permission_checks(site, capsys, monkeypatch):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "cleo", "settings",
                         "set", "password_policy.max_attempts", "3", password=CLERK_PASSWORD)
    assert status == 3 and "settings.edit" in err
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "settings",
                         "set", "password_policy.max_attempts", "3", password=ADMIN_PASSWORD)
    assert status == 0 and out.strip() == "password_policy.max_attempts = 3"
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "settings", "get",
                         "password_policy.max_attempts")
    assert out.strip() == "3"


@pytest.mark.parametrize("value", ["-3", "lots", "1; DROP TABLE setting", "9" * 5000])
def test_bad_setting_value_is_refused_without_change(site, capsys, monkeypatch, value):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "settings",
                         "set", "password_policy.max_attempts", value, password=ADMIN_PASSWORD)
    assert status == 1
    assert "whole number from 0 to 100" in err
    assert "Traceback" not in err
    open_database(site)
    assert settings.get_setting("password_policy.max_attempts") == 0


def test_wrong_or_missing_sign_in_password(site, capsys, monkeypatch):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff",
                         "list", password="not-it")
    assert status == 1 and "not correct" in err
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff",
                         "list")
    assert status == 1 and "CLERKDESK_STAFF_PASSWORD" in err


@pytest.mark.parametrize(
    ("name", "message"),
    [("'; DROP TABLE staffuser; --", "letters, digits"), ("<b>x</b>", "letters, digits"),
     ("x" * 10_000, "too long"), ("", "Enter the user name")],
)
def test_hostile_staff_names_are_refused(site, capsys, monkeypatch, name, message):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff", "add",
                         name, "--role", "clerk", stdin="a-long-password\n",
                         password=ADMIN_PASSWORD)
    assert status == 1 and message in err
    open_database(site)
    assert [s.username for s in staff.list_staff(staff.sign_in("boss", ADMIN_PASSWORD))] \
        == ["boss", "cleo"]


def test_disable_and_role_commands(site, capsys, monkeypatch):
    status, _, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff",
                       "disable", "cleo", password=ADMIN_PASSWORD)
    assert status == 0
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "cleo", "settings",
                         "list", password=CLERK_PASSWORD)
    assert status == 1 and "disabled" in err
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "role",
                         "grant", "Clerk", "bulk.assign", password=ADMIN_PASSWORD)
    assert status == 0
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "role",
                         "list", password=ADMIN_PASSWORD)
    assert "Clerk (1 staff): bulk.assign" in out


def test_demo_and_db_info(db_url, capsys, monkeypatch):
    status, out, _ = cli(capsys, monkeypatch, "--database", db_url, "demo", "--households", "120",
                         "--seed", "3")
    assert status == 0
    assert "Added 120 households" in out
    assert "Demo sign-in: admin / admin-demo-pass (Administrator)" in out
    status, out, _ = cli(capsys, monkeypatch, "--database", db_url, "db", "info")
    assert "Households:      120" in out and "Staff:           3" in out


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://x@y/z", "Unsupported database type"),
     ("postgresql://postgres@127.0.0.1:1/x?connect_timeout=2", "cannot be reached"),
     ("postgresql://u@h:xx/d", "malformed")],
)
def test_bad_database_urls(capsys, monkeypatch, url, message):
    status, _, err = cli(capsys, monkeypatch, "--database", url, "db", "info")
    assert status == 1 and message in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        cli(capsys, monkeypatch, "no-such-command")
    assert exit_info.value.code == 2
    assert cli(capsys, monkeypatch)[0] == 2


def test_secrets_never_reach_the_database_or_the_log(site, capsys, monkeypatch):
    cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff", "list",
        password="wrong-" + ADMIN_PASSWORD)
    log_text = (data_dir() / "clerkdesk.log").read_text(encoding="utf-8", errors="replace") \
        if (data_dir() / "clerkdesk.log").exists() else ""
    for secret in (ADMIN_PASSWORD, CLERK_PASSWORD):
        assert secret not in log_text
    raw = stored_bytes(site)
    assert b"bcrypt-sha256$cs$" in raw  # the scan does see the stored hashes
    for secret in (ADMIN_PASSWORD, CLERK_PASSWORD):
        assert secret.encode() not in raw


def test_main_py_dispatches_to_the_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = subprocess.run([sys.executable, "main.py", "--database", url, "db", "info"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Schema version:  {SCHEMA_VERSION}" in result.stdout
