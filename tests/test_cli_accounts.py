"""`clerkdesk account …` and `clerkdesk email …`: secrets from stdin, permissions enforced."""

import pytest

from clerkdesk.models import Household, WebAccount
from clerkdesk.services import portal
from clerkdesk.services.portal import Outcome
from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli

NEW_PASSWORD = "Typed-At-Terminal-5"


@pytest.fixture
def client(site):
    from clerkdesk.services.database import open_database

    open_database(site)
    Household.create(client_id="C-77", name="Nguyễn", email="nguyen@example.org")
    return site


def test_create_show_and_set_password(client, capsys, monkeypatch):
    status, out, err = cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
                           "create", "Nguyen.Family", "--client-id", "C-77",
                           password=CLERK_PASSWORD)
    assert status == 0, err
    status, out, _ = cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
                         "set-password", "NGUYEN.FAMILY", stdin=NEW_PASSWORD + "\n",
                         password=CLERK_PASSWORD)
    assert status == 0 and NEW_PASSWORD not in out
    assert portal.authenticate("nguyen.family", NEW_PASSWORD).outcome is Outcome.MUST_CHANGE
    status, out, _ = cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
                         "show", "nguyen.family", password=CLERK_PASSWORD)
    assert "Nguyen.Family" in out and "Must change:      yes" in out
    assert NEW_PASSWORD not in out and "bcrypt" not in out


def test_temporary_password_is_printed_once(client, capsys, monkeypatch):
    cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account", "create", "tmp",
        "--client-id", "C-77", password=CLERK_PASSWORD)
    status, out, _ = cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
                         "set-password", "tmp", "--temporary", password=CLERK_PASSWORD)
    temporary = out.strip().rsplit(" ", 1)[1]
    assert status == 0 and len(temporary) == 11
    assert portal.authenticate("tmp", temporary).outcome is Outcome.MUST_CHANGE


def test_clerk_cannot_unlock_or_disable(client, capsys, monkeypatch):
    cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account", "create", "fam",
        "--client-id", "C-77", password=CLERK_PASSWORD)
    for action, device in (("unlock", "web_account.unlock"), ("lock", "web_account.unlock"),
                           ("disable", "web_account.disable")):
        status, _, err = cli(capsys, monkeypatch, "--database", client, "--as", "cleo",
                             "account", action, "fam", password=CLERK_PASSWORD)
        assert status == 3 and f"permission denied: {device}" in err
    status, _, _ = cli(capsys, monkeypatch, "--database", client, "--as", "boss", "account",
                       "lock", "fam", password=ADMIN_PASSWORD)
    assert status == 0 and WebAccount.get().locked


@pytest.mark.parametrize(("argv", "message"), [
    (["create", "x", "--client-id", "NOPE"], "no household with client ID"),
    (["create", "", "--client-id", "C-77"], "Enter the user name"),
    (["show", "ghost"], "no web account"),
    (["set-password", "ghost"], "no web account"),
])
def test_bad_account_input_is_explained(client, capsys, monkeypatch, argv, message):
    status, _, err = cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
                         *argv, stdin="whatever-pass\n", password=CLERK_PASSWORD)
    assert status == 1 and message in err and "Traceback" not in err
    assert WebAccount.select().count() == 0


def test_passwords_never_come_from_arguments(client, capsys, monkeypatch):
    with pytest.raises(SystemExit):
        cli(capsys, monkeypatch, "--database", client, "--as", "cleo", "account",
            "set-password", "x", "--password", "on-the-command-line", password=CLERK_PASSWORD)


def test_email_test_in_capture_mode(client, capsys, monkeypatch, tmp_path):
    for key, value in (("email.mode", "capture"), ("email.capture_folder", str(tmp_path)),
                       ("email.from_address", "desk@example.org")):
        assert cli(capsys, monkeypatch, "--database", client, "--as", "boss", "settings", "set",
                   key, value, password=ADMIN_PASSWORD)[0] == 0
    status, out, _ = cli(capsys, monkeypatch, "--database", client, "--as", "boss", "email",
                         "test", "me@example.org", password=ADMIN_PASSWORD)
    assert status == 0 and "capture mode" in out
    assert len(list(tmp_path.glob("*.eml"))) == 1
