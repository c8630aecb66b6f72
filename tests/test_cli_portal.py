"""`clerkdesk portal serve`: a real server process over the database, and its refusals."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from clerkdesk.cli import portal_serve
from clerkdesk.models import Household
from clerkdesk.services import database, demo, portal
from clerkdesk.services.settings import get_setting
from tests.cli_support import cli
from tests.smtp_server import free_port

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def test_serve_answers_pages_and_stops_cleanly_on_ctrl_c(db_url):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(MAIN), "--database", db_url, "portal", "serve", "--port",
         str(port), "--organisation", "Riverside Rec"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert "ClerkDesk portal: http://127.0.0.1:" in server.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=10) as page:
            text = page.read().decode()
            assert page.status == 200 and "Riverside Rec" in text
            assert page.headers["X-Frame-Options"] == "DENY"
            assert page.headers["Server"] == "ClerkDesk"
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=15)
    assert server.returncode == 0 and "Portal stopped." in out, err


@pytest.mark.parametrize("option, value, complaint", [
    ("--port", "0", "a port is a number from 1 to 65535"),
    ("--port", "http", "a port is a number from 1 to 65535"),
    ("--port", "99999", "a port is a number from 1 to 65535"),
    ("--threads", "0", "threads is a number from 1 to 64"),
    ("--limit", "lots", "write the limit like '10 per minute'"),
    ("--limit", "'; DROP TABLE token; --", "write the limit like '10 per minute'"),
])
def test_wrong_options_are_refused_before_anything_starts(capsys, monkeypatch, option, value,
                                                          complaint):
    with pytest.raises(SystemExit) as stopped:
        cli(capsys, monkeypatch, "portal", "serve", option, value)
    assert stopped.value.code == 2 and complaint in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_refusal(capsys, monkeypatch, db_url):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, _ = cli(capsys, monkeypatch, "--database", db_url, "portal", "serve",
                             "--port", str(port))
    assert status == 1 and f"cannot listen on 127.0.0.1:{port}" in out


def test_the_demo_portal_has_a_documented_household_sign_in(capsys, monkeypatch, db_url):
    monkeypatch.setattr(database, "demo_url", lambda: db_url)
    monkeypatch.setattr(demo, "DEMO_HOUSEHOLDS", 20)
    portal_serve._open_demo("http://127.0.0.1:8080")
    username, password = demo.DEMO_PORTAL_SIGN_IN
    assert f"Demo household sign-in: {username} / {password}" in capsys.readouterr().out
    assert portal.authenticate(username, password).signed_in
    portal_serve._open_demo("http://127.0.0.1:8080")  # a second start adds nothing
    assert Household.select().count() == 20
    assert get_setting("portal.url") == "http://127.0.0.1:8080"
