"""Service passwords live in the keyring, never in a settings file or a URL shown to anyone."""

import io
import logging
import sys

import keyring
from keyring.backends import fail

from clerkdesk.cli import run
from clerkdesk.models import secret_store
from clerkdesk.models.connection import keyring_name_for


def test_db_password_is_stored_in_the_keyring_and_used(monkeypatch, capsys, postgres_url):
    monkeypatch.setattr(sys, "stdin", io.StringIO("pg-Secret-42\n"))
    assert run(["--database", postgres_url, "db", "password"]) == 0
    name = keyring_name_for(postgres_url)
    assert name == "database:postgres@127.0.0.1:5432/test"
    assert secret_store.get_secret(name) == "pg-Secret-42"
    assert "pg-Secret-42" not in capsys.readouterr().out
    # The stored password is handed to the driver (trust auth accepts it) and never shown.
    assert run(["--database", postgres_url, "db", "info"]) == 0
    assert "pg-Secret-42" not in capsys.readouterr().out


def test_db_password_refuses_an_sqlite_url(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO("whatever\n"))
    assert run(["--database", f"sqlite:///{tmp_path / 'x.sqlite3'}", "db", "password"]) == 1
    assert "Only a PostgreSQL URL" in capsys.readouterr().err


def test_headless_machine_falls_back_to_the_file_keyring_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(secret_store, "_checked", False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with caplog.at_level(logging.WARNING):
            assert secret_store.get_secret("nothing-here") is None
        assert "No OS keyring is available" in caplog.text
        assert type(keyring.get_keyring()).__name__ == "PlaintextKeyring"
    finally:
        keyring.set_keyring(previous)

