"""`clerkdesk bulk-assign`: dry run, runs, reports, undo, Ctrl-C and a killed run resumed."""

import csv
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from clerkdesk.cli import bulk_assign as bulk_assign_cli
from clerkdesk.models import (
    AuditEvent,
    BulkAssignItem,
    BulkAssignRun,
    Household,
    Member,
    WebAccount,
    utcnow,
)
from clerkdesk.services import bulk_assign, passwords, portal, staff
from clerkdesk.services.bulk_report import HEADERS
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.demo import start_demo
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.permissions import SUPERVISOR
from clerkdesk.services.portal import Outcome
from clerkdesk.services.username_rules import NameParts, make_username
from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli
from tests.conftest import stored_bytes

ROOT = Path(__file__).resolve().parents[1]
SUPERVISOR_PASSWORD = "cli-super-Secret-3"
FORMULA = '=HYPERLINK("http://evil.example/","click me")'
PHONE_PIN = "{phone:-4}{id:-4}"
OBRIEN_PIN = "01012345"  # O'Brien's under PHONE_PIN


def add(client_id, last, first, email="", phone=""):
    home = Household.create(client_id=client_id, name=last, email=email, phone_digits=phone)
    Member.create(household=home, first_name=first, last_name=last, is_primary=True,
                  email=email, birth_date=date(1980, 5, 17))
    return home.id


@pytest.fixture
def town(site, capsys, monkeypatch):
    """The `site` staff plus supervisor `sam`, and five households: three with an email."""
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "staff", "add",
                         "sam", "--role", "supervisor", stdin=SUPERVISOR_PASSWORD + "\n",
                         password=ADMIN_PASSWORD)
    assert status == 0, err
    open_database(site)
    return {
        "obrien": add("0012345", "O'Brien", "Siobhán", "siobhan@example.org", "3035550101"),
        "ng": add("7", "Ng", "J", "j.ng@example.org"),
        "garcia": add("555", "García Márquez", "José"),
        "formula": add("556", FORMULA, ""),
        "smith": add("123456", "Smith", "Anna", "anna@example.org", "2125550199"),
    }


def sam(capsys, monkeypatch, site, *argv, stdin=""):
    return cli(capsys, monkeypatch, "--database", site, "--as", "sam", "bulk-assign", *argv,
               stdin=stdin, password=SUPERVISOR_PASSWORD)


def usernames():
    return {a.household_id: a.username for a in WebAccount.select()}


def nothing_written():
    bulk_events = AuditEvent.select().where(AuditEvent.action.startswith("bulk_assign")
                                            | AuditEvent.action.startswith("web_account"))
    return (WebAccount.select().count(), BulkAssignRun.select().count(),
            BulkAssignItem.select().count(), bulk_events.count()) == (0, 0, 0, 0)


# --- dry run and runs --------------------------------------------------------------------------

def test_dry_run_shows_counts_reasons_and_names_and_writes_nothing(town, site, capsys,
                                                                   monkeypatch):
    status, out, err = sam(capsys, monkeypatch, site, "--dry-run", "--only-with-email",
                           "--pins", PHONE_PIN)
    assert status == 0, err
    assert "Households in scope:   5" in out
    assert "Logins to assign:      2" in out and "Exceptions:            3" in out
    assert "no email:" in out and "missing name parts:" in out
    assert "sobri345" in out and "asmit456" in out
    assert "hashed at once" in out
    assert OBRIEN_PIN not in out + err
    assert nothing_written()


def test_control_characters_in_household_data_do_not_reach_the_terminal(town, site, capsys,
                                                                       monkeypatch):
    add("4711", "Evil\x1b[2J", "Eve\x07", "eve@example.org")
    status, out, err = sam(capsys, monkeypatch, site, "--dry-run")
    assert status == 0, err
    replaced = "\N{REPLACEMENT CHARACTER}"
    assert "eevil711" in out and f"Eve{replaced} Evil{replaced}[2J" in out
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_run_assigns_user_names_that_must_be_changed(town, site, capsys, monkeypatch):
    status, out, err = sam(capsys, monkeypatch, site, "--only-with-email")
    assert status == 0, err
    assert usernames() == {town["obrien"]: "sobri345", town["ng"]: "jng7",
                           town["smith"]: "asmit456"}
    assert all(a.must_change and a.password_hash is None for a in WebAccount.select())
    assert "3 logins assigned, 2 exceptions (finished)." in out
    assert "--retry-exceptions 1" in out
    assert BulkAssignItem.select().count() == 5


def test_pattern_pins_sign_in_and_are_never_shown_or_stored(town, site, capsys, monkeypatch):
    status, out, err = sam(capsys, monkeypatch, site, "--pins", PHONE_PIN, "--no-must-change")
    assert status == 0, err
    assert portal.authenticate("SOBRI345", OBRIEN_PIN).outcome is Outcome.OK
    assert OBRIEN_PIN not in out + err
    assert OBRIEN_PIN.encode() not in stored_bytes(site)


@pytest.mark.parametrize("argv", [(), ("--dry-run",), ("--list",), ("--undo", "1"),
                                  ("--resume",), ("--run", "1", "--exceptions", "x.csv")])
def test_a_clerk_is_refused_naming_the_permission(town, site, capsys, monkeypatch, argv,
                                                  tmp_path):
    monkeypatch.chdir(tmp_path)
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "cleo", "bulk-assign",
                         *argv, password=CLERK_PASSWORD)
    assert status == 3 and "permission denied: bulk.assign" in err
    assert nothing_written() and not (tmp_path / "x.csv").exists()


# --- overwrite ----------------------------------------------------------------------------------

@pytest.fixture
def kim(town):
    """A household that already has a login of its own."""
    home = add("31", "Kept", "Kim", "k@example.org")
    WebAccount.create(household=home, username="kim-own", username_key="kim-own")
    return home


def test_overwrite_needs_yes_when_stdin_is_not_a_terminal(kim, site, capsys, monkeypatch):
    status, _, err = sam(capsys, monkeypatch, site, "--scope", "all", "--overwrite",
                         stdin="YES\n")
    assert status == 1
    assert "add --yes" in err and "Nothing was changed" in err
    assert usernames() == {kim: "kim-own"}
    assert BulkAssignRun.select().count() == 0


def test_overwrite_with_yes_replaces_the_login(kim, site, capsys, monkeypatch):
    status, out, err = sam(capsys, monkeypatch, site, "--scope", "all", "--overwrite", "--yes")
    assert status == 0, err
    assert usernames()[kim] == "kkept31"
    assert "(finished)" in out


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("typed", "status"), [("yes please\n", 1), ("YES\n", 0)])
def test_overwrite_on_a_terminal_asks_for_yes(kim, site, capsys, monkeypatch, typed, status):
    from clerkdesk.cli import run

    monkeypatch.setenv("CLERKDESK_STAFF_PASSWORD", SUPERVISOR_PASSWORD)
    monkeypatch.setattr(sys, "stdin", Terminal(typed))
    assert run(["--database", site, "--as", "sam", "bulk-assign", "--scope", "all",
                "--overwrite"]) == status
    err = capsys.readouterr().err
    assert "Type YES to go on" in err
    assert usernames()[kim] == ("kim-own" if status else "kkept31")


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (("--usernames", "{first} {last}"), "Between the tokens"),
    (("--usernames", "'; DROP TABLE web_account; --"), "A pattern needs at least one"),
    (("--usernames", "<script>alert(1)</script>{id}"), "Between the tokens"),
    (("--usernames", "x" * 10_000), "A pattern needs at least one"),
    (("--usernames", ""), "A pattern needs at least one"),
    (("--usernames", "{first}ü{last}"), "Between the tokens"),
    (("--pins", "range:9-5"), "lowest PIN must be smaller"),
    (("--pins", "digits:40"), "4 to 12 digits"),
    (("--pins", "<b>{id}</b>"), "A PIN is random"),
    (("--pins", "１２３４"), "A PIN is random"),
    (("--pins", "{id}" + "!" * 9_996), "A PIN is random"),
    (("--scope", "pass-holders"), "at least one pass type"),
    (("--scope", "pass-holders", "--pass-types", "SWIM,x'; DROP TABLE pass; --"),
     "Unknown pass type"),
    (("--retry-exceptions", "99"), "no bulk assign run 99"),
    (("--undo", "99"), "no bulk assign run 99"),
    (("--resume",), "No bulk assign run is waiting"),
])
def test_bad_options_are_refused_and_change_nothing(town, site, capsys, monkeypatch, argv,
                                                    message):
    status, out, err = sam(capsys, monkeypatch, site, *argv)
    assert status == 1 and message in err
    assert "Traceback" not in err and out == ""
    assert nothing_written()


@pytest.mark.parametrize(("argv", "message"), [
    (("--exceptions", "out.txt"), ".csv or .pdf file"),
    (("--exceptions", "/no/such/folder/out.csv"), "no folder"),
    (("--scope", "everyone"), "invalid choice"),
    (("--on-collision", "ignore"), "invalid choice"),
    (("--resume", "--undo", "1"), "not allowed with argument"),
    (("--list", "--dry-run"), "--dry-run cannot be used with --list"),
    (("--undo", "1", "--pins", "random"), "--pins cannot be used with --undo"),
    (("--resume", "--usernames", ""), "--usernames cannot be used with --resume"),
    (("--list", "--exceptions", "x.csv"), "--exceptions cannot be used with --list"),
    (("--run", "1"), "add --exceptions"),
    (("--yes",), "--yes only confirms --overwrite"),
    (("--pass-types", "SWIM"), "--pass-types needs --scope pass-holders"),
    (("--undo", "1; DROP TABLE bulk_assign_run"), "a run is the number --list shows"),
])
def test_wrong_usage_exits_2_before_anything_runs(town, site, capsys, monkeypatch, argv,
                                                  message, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as exit_info:
        sam(capsys, monkeypatch, site, *argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert nothing_written() and list(folder.iterdir()) == []


# --- the exceptions report ---------------------------------------------------------------------

def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as stream:
        return list(csv.reader(stream))


def test_csv_report_of_a_run_is_safe_in_a_spreadsheet(town, site, capsys, monkeypatch,
                                                     tmp_path):
    during, later = tmp_path / "during.csv", tmp_path / "later.CSV"
    status, out, err = sam(capsys, monkeypatch, site, "--only-with-email", "--exceptions",
                           str(during))
    assert status == 0, err
    assert f"Exceptions report (2 rows): {during}" in out
    header, *rows = read_csv(during)
    assert tuple(header) == HEADERS
    assert {(row[0], row[2], row[4]) for row in rows} == {
        (str(town["garcia"]), "García Márquez", "no email"),
        (str(town["formula"]), "'" + FORMULA, "no email")}
    status, _, err = sam(capsys, monkeypatch, site, "--run", "1", "--exceptions", str(later))
    assert status == 0, err
    assert read_csv(later) == read_csv(during)


def test_csv_report_of_a_dry_run(town, site, capsys, monkeypatch, tmp_path):
    path = tmp_path / "dry.csv"
    status, _, err = sam(capsys, monkeypatch, site, "--dry-run", "--only-with-email",
                         "--exceptions", str(path))
    assert status == 0, err
    _, *rows = read_csv(path)
    assert sorted(row[3] for row in rows) == ["'" + FORMULA, "José García Márquez"]
    assert nothing_written()


def poppler(tool):
    """The path of a poppler-utils tool; never installs anything."""
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} (Debian package poppler-utils) is required under CI")
        pytest.skip(f"{tool} is not installed (Debian package poppler-utils)")
    return found


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pdf_report_renders_with_accents(town, site, capsys, monkeypatch, tmp_path, qapp):
    from PySide6.QtGui import QImage, qGray

    pdftoppm, pdftotext = poppler("pdftoppm"), poppler("pdftotext")
    path = tmp_path / "exceptions.pdf"
    status, _, err = sam(capsys, monkeypatch, site, "--dry-run", "--only-with-email",
                         "--exceptions", str(path))
    assert status == 0, err
    assert path.read_bytes().startswith(b"%PDF")
    subprocess.run([pdftoppm, "-png", "-r", "50", str(path), str(tmp_path / "page")],
                   check=True, timeout=60)
    [page] = sorted(tmp_path.glob("page*.png"))
    image = QImage(str(page))
    assert not image.isNull() and image.width() > image.height()  # landscape
    dark = sum(qGray(image.pixel(x, y)) < 160 for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2))
    assert dark > 200  # text and table lines, not a blank page
    text = subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert "García Márquez" in text and "Bulk Web ID/PIN Assign" in text


# --- undo, list, retry ---------------------------------------------------------------------------

def test_undo_deletes_and_keeps_logins_used_since(town, site, capsys, monkeypatch):
    assert sam(capsys, monkeypatch, site, "--only-with-email")[0] == 0
    WebAccount.update(last_login=utcnow()).where(WebAccount.household == town["ng"]).execute()
    status, out, err = sam(capsys, monkeypatch, site, "--undo", "1")
    assert status == 0, err
    assert "Run 1 undone: 2 logins deleted, 0 restored, 1 kept." in out
    assert f"kept jng7 (household {town['ng']}): signed in on" in out
    assert usernames() == {town["ng"]: "jng7"}
    status, _, err = sam(capsys, monkeypatch, site, "--undo", "1")
    assert status == 1 and "already been undone" in err


def test_list_shows_recent_runs_with_their_options(town, site, capsys, monkeypatch):
    assert sam(capsys, monkeypatch, site, "--list")[1] == "No bulk assign runs yet.\n"
    sam(capsys, monkeypatch, site, "--only-with-email", "--usernames", "first.last")
    status, out, _ = sam(capsys, monkeypatch, site, "--list")
    assert status == 0
    assert "Run 1, started " in out and "by sam: 5 of 5 households, 3 logins assigned" in out
    assert "user names first.last; PINs random; collisions: suffix; only with email" in out


def test_retry_exceptions_picks_up_fixed_households(town, site, capsys, monkeypatch):
    sam(capsys, monkeypatch, site, "--only-with-email")
    Household.update(email="jose@example.org").where(Household.id == town["garcia"]).execute()
    status, out, err = sam(capsys, monkeypatch, site, "--retry-exceptions", "1",
                           "--only-with-email")
    assert status == 0, err
    assert "2 of 2 households, 1 logins assigned, 1 exceptions" in out
    assert usernames()[town["garcia"]] == "jgarc555"


# --- stopping and resuming ----------------------------------------------------------------------

class CtrlCAfterFirstBatch:
    """Stands in for the progress bar and presses Ctrl-C once the first batch is in."""

    def __init__(self, title):
        self.pressed = False

    def __call__(self, progress):
        if not self.pressed:
            self.pressed = True
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_after_the_batch_and_resume_finishes(town, site, capsys, monkeypatch):
    monkeypatch.setattr(bulk_assign, "BATCH", 2)
    monkeypatch.setattr(bulk_assign_cli, "ProgressBar", CtrlCAfterFirstBatch)
    status, _, err = sam(capsys, monkeypatch, site)
    assert status == 1
    assert "Stopping after the current batch" in err and "bulk-assign --resume" in err
    stopped = BulkAssignRun.get()
    assert (stopped.state, stopped.done, stopped.total) == ("cancelled", 2, 5)
    monkeypatch.setattr(bulk_assign_cli, "ProgressBar", lambda title: lambda progress: None)
    status, _, err = sam(capsys, monkeypatch, site, "--dry-run")
    assert status == 0, err  # looking is allowed; starting another run is not
    status, _, err = sam(capsys, monkeypatch, site, "--pins", "digits:6")
    assert status == 1 and "resume it or undo it first" in err
    status, out, err = sam(capsys, monkeypatch, site, "--resume")
    assert status == 0, err
    assert "Resuming run 1 after 2 of 5 households." in out and "(finished)" in out
    assert BulkAssignItem.select().count() == 5
    assert set(usernames()) == set(town.values()) - {town["formula"]}  # it has no first name


# --- a run killed mid-way, resumed, matches one that was never interrupted -----------------------

KILL_PINS = "{id}x{postal}"  # client ID and postal code: every demo household has both


def demo_site(url: str) -> int:
    """Staff and demo households, enough for several batches on any number of cores."""
    open_database(url)
    admin = staff.create_first_administrator("boss", "Boss", ADMIN_PASSWORD, ADMIN_PASSWORD)
    staff.add_staff(admin, "sam", "Sam", SUPERVISOR_PASSWORD, SUPERVISOR)
    households = max(400, 8 * (os.cpu_count() or 1) * 6)
    start_demo(admin, households, seed=1).run(lambda progress: None, CancelToken())
    close_database()
    return households


def copy_database(source: Path, target: Path) -> None:
    for part in source.parent.glob(source.name + "*"):  # the WAL too, if one is left
        shutil.copy(part, target.parent / part.name.replace(source.name, target.name))


def kill_mid_run(process: subprocess.Popen, path: Path) -> tuple[int, int]:
    """SIGKILL the run once some but not all households are committed: a third or more, so
    that the names claimed before the kill must be respected after it."""
    deadline = time.monotonic() + 120
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        while time.monotonic() < deadline:
            row = db.execute("SELECT done, total FROM bulk_assign_run").fetchall()
            if row and 0 < row[0][1] // 3 <= row[0][0] < row[0][1]:
                process.kill()
                process.wait(timeout=30)
                return row[0]
            if process.poll() is not None:
                pytest.fail("the run ended before it could be killed: "
                            + process.stderr.read().decode())
            time.sleep(0.002)
    process.kill()
    pytest.fail("the run did not start within two minutes")


def final_state(url: str) -> dict:
    open_database(url)
    run = BulkAssignRun.get()
    state = {
        "run": (run.state, run.total, run.done, run.assigned, run.exceptions),
        "logins": {a.household_id: (a.username, a.must_change) for a in WebAccount.select()},
        "items": sorted(BulkAssignItem.select(
            BulkAssignItem.household, BulkAssignItem.member, BulkAssignItem.outcome,
            BulkAssignItem.reason, BulkAssignItem.username).tuples()),
        "pins": {a.household_id: (pin_of(a.household), a.password_hash)
                 for a in WebAccount.select()},
    }
    close_database()
    return state


def pin_of(home: Household) -> str:
    return make_username(KILL_PINS, NameParts("", "", home.client_id, "",
                                              postal=home.postal_code))


def main_py(url: str, *argv: str) -> list[str]:
    return [sys.executable, "main.py", "--database", url, "--as", "sam", "bulk-assign", *argv]


def test_a_killed_run_resumes_to_the_state_of_an_uninterrupted_one(tmp_path, capsys,
                                                                    monkeypatch):
    base, killed, whole = (tmp_path / f"{name}.sqlite3" for name in ("base", "killed", "whole"))
    households = demo_site(f"sqlite:///{base}")
    copy_database(base, killed)
    copy_database(base, whole)
    killed_url, whole_url = f"sqlite:///{killed}", f"sqlite:///{whole}"
    # A higher cost than the other tests' makes each batch take long enough to land in.
    env = {**os.environ, "CLERKDESK_STAFF_PASSWORD": SUPERVISOR_PASSWORD,
           "CLERKDESK_BCRYPT_COST": "5"}
    first = subprocess.Popen(main_py(killed_url, "--pins", KILL_PINS), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done, total = kill_mid_run(first, killed)
    outputs = [b.decode() for b in first.communicate()]
    with closing(sqlite3.connect(killed)) as db:  # whole batches only: one item a household
        assert db.execute("SELECT state, done FROM bulk_assign_run").fetchone() \
            == ("running", db.execute("SELECT COUNT(*) FROM bulk_assign_item").fetchone()[0])
    resumed = subprocess.run(main_py(killed_url, "--resume"), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming run 1 after {done:,} of {total:,} households." in resumed.stdout
    outputs += [resumed.stdout, resumed.stderr]
    status, out, err = cli(capsys, monkeypatch, "--database", whole_url, "--as", "sam",
                           "bulk-assign", "--pins", KILL_PINS, password=SUPERVISOR_PASSWORD)
    assert status == 0, err
    outputs += [out, err]

    after_kill, uninterrupted = final_state(killed_url), final_state(whole_url)
    for state in (after_kill, uninterrupted):
        assert state["run"][:3] == ("finished", total, total)
        assert len(state["items"]) == total == len({i[0] for i in state["items"]})
        assert all(passwords.verify_secret(pin, hashed)
                   for pin, hashed in state["pins"].values())
    assert total > 0.9 * households
    assert after_kill["run"] == uninterrupted["run"]
    assert after_kill["logins"] == uninterrupted["logins"]
    assert after_kill["items"] == uninterrupted["items"]
    assert all(must_change for _, must_change in after_kill["logins"].values())

    raw, shown = stored_bytes(killed_url), "\n".join(outputs)
    for pin, _ in after_kill["pins"].values():
        assert pin.encode() not in raw and pin not in shown
    open_database(killed_url)  # the first and the last login sign in with their pattern PIN
    for household_id in (min(after_kill["logins"]), max(after_kill["logins"])):
        username, _ = after_kill["logins"][household_id]
        pin = pin_of(Household.get_by_id(household_id))
        assert portal.authenticate(username, pin).outcome is Outcome.MUST_CHANGE
    close_database()
