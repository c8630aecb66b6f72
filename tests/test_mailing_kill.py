"""A live `<WebPin>` mailing whose sender is SIGKILLed at random points and started again:
no message is lost, only the message in flight at each kill may go twice, and the last PIN
each household received is the one that signs in (DESIGN decision 2)."""

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from clerkdesk.models import Household, Member, OutboxMessage, Pass, PassType, WebAccount
from clerkdesk.services import email_templates, portal
from clerkdesk.services import settings as site_settings
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.portal import Outcome
from tests.cli_support import cli
from tests.conftest import STAFF_PASSWORD, stored_bytes
from tests.smtp_server import body_of

ROOT = Path(__file__).resolve().parents[1]
HOUSEHOLDS = 40
KILLS = 4
SEED = 20261123
PER_MINUTE = 600  # ten a second: 40 messages take about four seconds, so every kill lands
TEMPLATE = ("Web Credentials", "Your portal login",
            "Dear <FirstName>,\nUser name: <WebID>\nPIN: <WebPin>\n")
# Ten digits, not six: a six-digit PIN turns up by chance among the database's timestamps
# and hashes in a few runs in a hundred, which would fail the "stored nowhere" check.
PIN_RULE = "digits:10"
LAST_WAIT = 30.0  # seconds a run may take to send its first message before the test fails


@pytest.fixture
def db_url(tmp_path):
    """SQLite only: one database is enough to prove the sender's restart."""
    return f"sqlite:///{tmp_path / 'clerkdesk.sqlite3'}"


def build_town(admin, capsys, monkeypatch, url: str) -> dict[str, str]:
    """Pass holders with addresses, logins from a real bulk assign (random PINs, minted at
    delivery), and a LIVE credentials mailing queued through the CLI. Returns address →
    user name."""
    kind = PassType.create(code="CY-FAM")
    for number in range(1, HOUSEHOLDS + 1):
        home = Household.create(client_id=f"{number:04}", name=f"Family{number}",
                                email=f"h{number}@example.org")
        Member.create(household=home, first_name=f"Ann{number}", last_name=f"Lee{number}",
                      is_primary=True)
        Pass.create(household=home, pass_type=kind, status="Actv-New",
                    start_date=date.today(), expiration_date=date.today() + timedelta(days=90))
    email_templates.save_template(admin, *TEMPLATE)
    site_settings.set_setting(admin, "email.rate_per_minute", PER_MINUTE)
    for argv in (("bulk-assign", "--only-with-email", "--pins", PIN_RULE),
                 ("mail", "create", "--template", TEMPLATE[0], "--description", "Go-live",
                  "--category", "WEB", "--pass-type", "CY-FAM", "--live", "--yes")):
        status, _, err = cli(capsys, monkeypatch, "--database", url, "--as", "sam", *argv,
                             password=STAFF_PASSWORD)
        assert status == 0, err
    logins = {a.household.email: a.username for a in WebAccount.select()}
    assert len(logins) == HOUSEHOLDS and all(a.pin_rule for a in WebAccount.select())
    assert OutboxMessage.select().count() == HOUSEHOLDS
    return logins


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def kill_at_random_points(command: list[str], env: dict, server, rng: random.Random
                          ) -> tuple[int, list[str]]:
    """Start the sender KILLS times, each time killing it a random moment after its first
    message. Returns how many runs were killed mid-way, and everything they printed."""
    kills, printed = 0, []
    for _ in range(KILLS):
        killed, output = run_and_kill(command, env, server, rng.uniform(0.0, 0.35))
        kills += killed
        printed += output
    return kills, printed


def run_and_kill(command: list[str], env: dict, server, delay: float
                 ) -> tuple[bool, list[str]]:
    before = len(server.received)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    started = wait_until(lambda: len(server.received) > before or process.poll() is not None,
                         LAST_WAIT)
    if started and process.poll() is None:
        time.sleep(delay)  # anywhere: minting, sending, marking it sent
        process.kill()
    output = [part.decode() for part in process.communicate(timeout=30)]
    assert started, "the sender sent nothing: " + output[-1]
    return process.returncode == -9, output


def test_a_sender_killed_at_random_points_loses_nothing(mail, admin, supervisor, db,
                                                       capsys, monkeypatch):
    logins = build_town(admin, capsys, monkeypatch, db)
    close_database()  # the subprocesses have the database to themselves
    env = {**os.environ, "CLERKDESK_STAFF_PASSWORD": STAFF_PASSWORD}
    command = [sys.executable, "main.py", "--database", db, "--as", "sam", "mail", "send"]
    kills, printed = kill_at_random_points(command, env, mail, random.Random(SEED))
    assert kills == KILLS  # every kill landed mid-run, with messages still to send
    last = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert last.returncode == 0, last.stderr
    printed += [last.stdout, last.stderr]

    per_recipient = Counter(rcpts[0] for rcpts, _ in mail.received)
    assert set(per_recipient) == set(logins)  # nothing lost
    assert sum(per_recipient.values()) - HOUSEHOLDS <= kills  # only the ones in flight
    open_database(db)
    assert {m.state for m in OutboxMessage.select()} == {"sent"}
    pins = {address: [pin_in(body_of(m)) for m in mail.recorder.messages_to(address)]
            for address in logins}
    for address, received in pins.items():
        *earlier, newest = received
        for stale in set(earlier) - {newest}:  # a PIN minted again replaced the one before
            assert portal.authenticate(logins[address], stale).outcome is Outcome.WRONG
        assert portal.authenticate(logins[address], newest).outcome is Outcome.MUST_CHANGE
    everything, shown = stored_bytes(db), "\n".join(printed)
    for received in pins.values():
        assert not any(pin.encode() in everything or pin in shown for pin in received)


def pin_in(body: str) -> str:
    return body.split("PIN: ")[1].split()[0]
