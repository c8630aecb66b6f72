"""`clerkdesk mail send|status`, and a sender killed with SIGKILL and started again: no message
lost, none sent twice but the one in flight."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from clerkdesk.models import OutboxMessage
from clerkdesk.services import outbox, settings, staff
from clerkdesk.services.database import close_database, open_database
from tests.cli_support import ADMIN_PASSWORD, CLERK_PASSWORD, cli

ROOT = Path(__file__).resolve().parents[1]


def point_at(server, url: str, **extra) -> None:
    """The site's mail settings aimed at the loopback server, and messages queued."""
    open_database(url)
    boss = staff.sign_in("boss", ADMIN_PASSWORD)
    settings.set_settings(boss, {"email.mode": "smtp", "email.smtp_host": "127.0.0.1",
                                 "email.smtp_port": server.port, "email.smtp_security": "none",
                                 "email.from_address": "desk@example.org", **extra})


def queue(count: int) -> None:
    for number in range(count):
        outbox.enqueue(f"h{number}@example.org", f"Notice {number}", "Hello")
    close_database()


def test_mail_send_drains_the_queue_and_status_counts(site, smtp_server, capsys, monkeypatch):
    point_at(smtp_server, site)
    queue(5)
    smtp_server.recorder.reject.add("h3@example.org")
    status, out, err = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "mail",
                           "send", password=ADMIN_PASSWORD)
    assert status == 0, err
    assert "4 sent, 1 failed" in out
    status, out, _ = cli(capsys, monkeypatch, "--database", site, "--as", "boss", "mail",
                         "status", password=ADMIN_PASSWORD)
    assert status == 0
    assert "sent:       4" in out and "failed:     1" in out and "queued:     0" in out


def test_a_clerk_may_not_send_bulk_mail(site, smtp_server, capsys, monkeypatch):
    point_at(smtp_server, site)
    queue(2)
    status, _, err = cli(capsys, monkeypatch, "--database", site, "--as", "cleo", "mail",
                         "send", password=CLERK_PASSWORD)
    assert status == 3 and "bulk.email" in err
    assert smtp_server.received == []


def test_a_killed_sender_started_again_loses_nothing(site, smtp_server):
    if not site.startswith("sqlite"):
        pytest.skip("one database is enough to prove the sender's restart")
    count = 60
    point_at(smtp_server, site, **{"email.rate_per_minute": 1200})  # 20 a second
    queue(count)
    env = {**os.environ, "CLERKDESK_STAFF_PASSWORD": ADMIN_PASSWORD}
    command = [sys.executable, "main.py", "--database", site, "--as", "boss", "mail", "send"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(smtp_server.received) < count // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.kill()
    first.communicate(timeout=30)
    before_restart = len(smtp_server.received)
    assert 0 < before_restart < count
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    per_recipient = Counter(rcpts[0] for rcpts, _ in smtp_server.received)
    assert set(per_recipient) == {f"h{n}@example.org" for n in range(count)}
    assert sum(per_recipient.values()) - count <= 1  # only the one in flight may repeat
    open_database(site)
    try:
        assert {m.state for m in OutboxMessage.select()} == {"sent"}
    finally:
        close_database()
