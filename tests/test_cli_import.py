"""`clerkdesk import users`: preview, dry run, both modes, exceptions CSV, permissions."""

import csv

import pytest

from clerkdesk.cli.app import COMMANDS
from clerkdesk.models import AuditEvent, Household, WebAccount, data_dir
from clerkdesk.services import portal
from clerkdesk.services.database import open_database
from clerkdesk.services.portal import Outcome
from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli
from tests.conftest import stored_bytes

SUPERVISOR_PASSWORD = "cli-super-Secret-3"
PLAIN = "Old-OLR-pass-4711"
FORMULA = "=cmd|'/c calc'!A0"


@pytest.fixture
def kennel(site, capsys, monkeypatch):
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff", "add",
                         "sam", "--role", "supervisor", stdin=SUPERVISOR_PASSWORD + "\n",
                         password=ADMIN_PASSWORD)
    assert status == 0, err
    open_database(site)
    for client_id, name in (("1001", "O'Brien"), ("1002", "Ng"), ("1003", "García")):
        Household.create(client_id=client_id, name=name, email=f"{client_id}@example.org")
    return site


def sam(capsys, monkeypatch, site, *argv):
    return cli(capsys, monkeypatch, "--database", site, "--as", "sam", "import", "users", *argv,
               password=SUPERVISOR_PASSWORD)


def users_file(tmp_path, *rows, header="Client No,Web ID,Email,Password"):
    path = tmp_path / "olr.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def test_dry_run_previews_guesses_columns_and_writes_nothing(kennel, tmp_path, capsys,
                                                             monkeypatch):
    path = users_file(tmp_path, f"1001,obrien,s@example.org,{PLAIN}", "1002,ng,bad-email,",
                      f'1003,"{FORMULA}",,')
    report = tmp_path / "problems.csv"
    status, out, err = sam(capsys, monkeypatch, kennel, str(path), "--dry-run",
                           "--exceptions", str(report))
    assert status == 0, err
    assert "client_id=Client No, username=Web ID, email=Email, password=Password" in out
    assert "Rows read:             3" in out and "Rows to import:        2" in out
    assert "Rows with problems:    1" in out and "Not a valid email address" in out
    assert "Dry run: nothing was imported." in out and "holds plain passwords" in out
    assert PLAIN not in out + err
    assert WebAccount.select().count() == 0
    with open(report, encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[1][:3] == ["3", "Email", "bad-email"]


def test_import_with_a_mapping_hashes_passwords_and_advises_deleting_the_file(
        kennel, tmp_path, capsys, monkeypatch):
    path = users_file(tmp_path, f"1001,obrien,,{PLAIN}", "1002,ng,,",
                      header="Client,Login,Mail,Pwd")
    status, out, err = sam(capsys, monkeypatch, kennel, str(path), "--map",
                           "client_id=Client,username=login,email=Mail,password=Pwd")
    assert status == 0, err
    assert "2 web accounts imported from olr.csv: 1 with their password" in out
    assert "Advice:" in out and "delete the file now" in out
    assert portal.authenticate("obrien", PLAIN).outcome is Outcome.OK
    assert PLAIN not in out + err
    assert PLAIN.encode() not in stored_bytes(kennel)
    log = data_dir() / "clerkdesk.log"
    assert not log.exists() or PLAIN not in log.read_text(encoding="utf-8", errors="replace")
    assert AuditEvent.select().where(AuditEvent.action == "import.users.finished").count() == 1


def test_all_or_nothing_refuses_and_skip_mode_imports(kennel, tmp_path, capsys, monkeypatch):
    path = users_file(tmp_path, "1001,obrien,,", "9999,ghost,,")
    status, out, err = sam(capsys, monkeypatch, kennel, str(path))
    assert status == 1
    assert "Nothing was imported: 1 row has problems" in err
    assert "No household has this client ID." in out
    assert WebAccount.select().count() == 0
    status, out, err = sam(capsys, monkeypatch, kennel, str(path), "--skip-bad-rows")
    assert status == 0, err
    assert "1 web accounts imported from olr.csv, 1 rows skipped" in out
    assert [a.username for a in WebAccount.select()] == ["obrien"]


def test_bad_files_and_mappings_get_a_message(kennel, tmp_path, capsys, monkeypatch):
    binary = tmp_path / "olr.csv"
    binary.write_bytes(b"Client,Login\n1001,\x81\x8d\x8f\n")
    status, _, err = sam(capsys, monkeypatch, kennel, str(binary))
    assert status == 1 and "Save it from the spreadsheet as “CSV UTF-8”" in err
    path = users_file(tmp_path, "1001,obrien,,")
    status, _, err = sam(capsys, monkeypatch, kennel, str(path), "--map",
                         "client_id=Client No,username=Login")
    assert status == 1 and "The file has no column “Login”" in err
    status, _, err = sam(capsys, monkeypatch, kennel, str(path), "--map", "colour=Email")
    assert status == 1 and "There is no field “colour”" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        sam(capsys, monkeypatch, kennel, str(path), "--exceptions", str(tmp_path / "x.txt"))
    assert exit_info.value.code == 2


def test_a_clerk_may_not_import(kennel, tmp_path, capsys, monkeypatch):
    path = users_file(tmp_path, "1001,obrien,,")
    status, _, err = cli(capsys, monkeypatch, "--database", kennel, "--as", "cleo", "import",
                         "users", str(path), password=CLERK_PASSWORD)
    assert status == 3 and "permission denied: data.import" in err


def test_the_launcher_knows_the_command():
    assert "import" in COMMANDS
