"""`clerkdesk mail create|list|show|pause|resume|cancel|categories`: the mailing wizard from a
terminal. Dry runs that change nothing, rehearsals that mint nothing, live mailings whose PINs
sign in and are kept nowhere, a teaser that goes first, and bad input refused whole."""

import io
import os
import signal
import sys
from datetime import date, timedelta

import pytest

from clerkdesk.cli import mail_create
from clerkdesk.cli import run as run_cli
from clerkdesk.models import (
    CommunicationHistory,
    Household,
    Mailing,
    MailingAttachment,
    Member,
    OutboxMessage,
    Pass,
    PassType,
    WebAccount,
    data_dir,
)
from clerkdesk.services import email_templates, mailings, portal
from clerkdesk.services import settings as site_settings
from clerkdesk.services.portal import Outcome
from tests.cli_support import cli
from tests.conftest import STAFF_PASSWORD, stored_bytes
from tests.smtp_server import body_of

TODAY = date.today()
PIN_RULE = "digits:10"  # long enough not to turn up by chance in the stored bytes
CREDENTIALS = ("Web Credentials", "Your portal login",
               "Dear <FirstName>,\nUser name: <WebID>\nPIN: <WebPin>\nSign in at <PortalLink>\n")
TEASER = ("Coming Soon", "Online services are coming", "Dear <FirstName>, watch your inbox.\n")
ADDRESSES = [f"h{number}@example.org" for number in (1, 2, 3)]
BASE = {"template": CREDENTIALS[0], "description": "Portal go-live", "live": True, "yes": True}


def make_household(number: int, email: str, *, login: bool = True,
                   pass_code: str = "CY-CHILD", phone: str = "") -> int:
    home = Household.create(client_id=f"{number:05}", name=f"Family {number}", email=email,
                            phone_digits=phone)
    Member.create(household=home, first_name="Ann", last_name=f"Last{number}", is_primary=True)
    kind, _ = PassType.get_or_create(code=pass_code)
    Pass.create(household=home, pass_type=kind, status="Actv-New",
                start_date=TODAY - timedelta(days=30), expiration_date=TODAY + timedelta(days=90))
    if login:
        WebAccount.create(household=home, username=f"user{number}",
                          username_key=f"user{number}", pin_rule=PIN_RULE)
    return home.id


@pytest.fixture
def town(mail, admin, supervisor, clerk, tmp_path):
    """Three households with logins and addresses, two saved templates, mail aimed at the
    loopback server and rehearsals captured in a folder of this test's own."""
    for name, subject, body in (CREDENTIALS, TEASER):
        email_templates.save_template(admin, name, subject, body)
    site_settings.set_setting(admin, "email.capture_folder", str(tmp_path / "captured"))
    for number, address in enumerate(ADDRESSES, start=1):
        make_household(number, address)
    return mail


def mail_cli(capsys, monkeypatch, url, *argv, staff="sam", stdin=""):
    """Run `clerkdesk --as STAFF mail …`; a usage error's exit 2 is returned, not raised."""
    try:
        return cli(capsys, monkeypatch, "--database", url, "--as", staff, "mail", *argv,
                   stdin=stdin, password=STAFF_PASSWORD)
    except SystemExit as exit_info:
        out, err = capsys.readouterr()
        return exit_info.code, out, err


def create_args(options: dict) -> list[str]:
    """`mail create` options from a dict: True is a flag, a list repeats, None leaves out."""
    argv = ["create"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [part for item in value for part in (flag, item)]
        elif value is not None:
            argv += [flag, value]
    return argv


def create(capsys, monkeypatch, url, staff="sam", stdin="", **changes):
    return mail_cli(capsys, monkeypatch, url, *create_args({**BASE, **changes}), staff=staff,
                    stdin=stdin)


def nothing_queued() -> bool:
    return not (Mailing.select().exists() or OutboxMessage.select().exists()
                or CommunicationHistory.select().exists())


def pin_in(body: str) -> str:
    return body.split("PIN: ")[1].split()[0]


# --- dry run --------------------------------------------------------------------------------------

def test_dry_run_prints_the_warnings_and_changes_nothing(town, admin, db, capsys, monkeypatch):
    make_household(4, "h4@example.org", login=False)
    make_household(5, "not an address")
    site_settings.set_setting(admin, "email.rate_per_minute", 60)
    status, out, err = create(capsys, monkeypatch, db, dry_run=True, yes=None, category="WEB",
                              pass_type=["CY-CHILD"])
    assert status == 0, err
    lines = [line.strip() for line in out.splitlines()]
    for expected in ("Recipients:           5 households", "Emails:               3",
                     "Texts:                0", "Unreachable:          1 (no valid email "
                     "address or text number)", "Teaser first:         no",
                     "Estimated time:       about 0:00:03 (h:mm:ss) at the configured rate"):
        assert expected in lines
    assert "Without a web login:  1 (the message needs one: skipped)" in lines
    assert "Delivery:             LIVE: messages go out through" in out
    assert "Dry run: nothing was queued." in out
    assert nothing_queued()
    assert all(a.password_hash is None for a in WebAccount.select())


def test_a_dry_run_names_the_problems_and_exits_1(town, admin, db, capsys, monkeypatch):
    site_settings.set_setting(admin, "portal.url", "")
    status, _, err = create(capsys, monkeypatch, db, dry_run=True)
    assert status == 1
    assert "PROBLEM: The portal address is not set" in err
    assert nothing_queued()


def test_problems_stop_a_mailing_before_anything_is_queued(town, admin, db, capsys,
                                                           monkeypatch):
    site_settings.set_setting(admin, "portal.url", "")
    status, _, err = create(capsys, monkeypatch, db)
    assert status == 1
    assert "portal address is not set" in err and "nothing was queued" in err
    assert nothing_queued()


# --- rehearsal and live ---------------------------------------------------------------------------

def test_a_rehearsal_goes_into_the_capture_folder_and_mints_nothing(town, db, capsys,
                                                                    monkeypatch, tmp_path):
    status, out, err = create(capsys, monkeypatch, db, live=None)
    assert status == 0, err
    assert "Delivery:             REHEARSAL" in out
    assert "Queued mailing 1 (a rehearsal): 3 emails, 0 texts." in out
    assert "run `clerkdesk mail send` to send it" in out
    status, out, err = mail_cli(capsys, monkeypatch, db, "send")
    assert status == 0, err
    assert "3 sent, 0 failed" in out
    captured = sorted((tmp_path / "captured" / "rehearsals").glob("*.eml"))
    assert len(captured) == 3
    assert all("rehearsal, none minted" in path.read_text() for path in captured)
    assert town.received == []
    assert all(a.password_hash is None and a.credentials_delivered_at is None
               for a in WebAccount.select())


def test_a_live_mailing_sends_pins_that_sign_in_and_are_kept_nowhere(town, db, capsys,
                                                                     monkeypatch):
    status, out, err = create(capsys, monkeypatch, db, category="WEB")
    assert status == 0, err
    assert "Queued mailing 1 (LIVE): 3 emails" in out
    shown = out + err
    status, out, err = mail_cli(capsys, monkeypatch, db, "send")
    assert status == 0, err
    shown += out + err
    pins = []
    for number, address in enumerate(ADDRESSES, start=1):
        [message] = town.recorder.messages_to(address)
        body = body_of(message)
        assert f"User name: user{number}" in body and "https://portal.example.org" in body
        pins.append(pin_in(body))
        assert portal.authenticate(f"user{number}", pins[-1]).outcome is Outcome.MUST_CHANGE
    logs = b"".join(path.read_bytes() for path in data_dir().glob("clerkdesk.log*"))
    everything = stored_bytes(db)
    for pin in pins:
        assert pin not in shown
        assert pin.encode() not in everything and pin.encode() not in logs
    assert CommunicationHistory.select().count() == 3


def test_the_teaser_arrives_before_the_credentials(town, db, capsys, monkeypatch):
    status, out, err = create(capsys, monkeypatch, db, teaser_template=TEASER[0])
    assert status == 0, err
    assert "Teaser first:         yes" in out
    assert "Queued mailing 2 (LIVE)" in out and "Its teaser, mailing 1, goes first." in out
    status, out, err = mail_cli(capsys, monkeypatch, db, "send")
    assert status == 0, err
    assert "6 sent" in out
    subjects = [message["Subject"] for _, message in town.received]
    assert subjects == [TEASER[1]] * 3 + [CREDENTIALS[1]] * 3
    for address in ADDRESSES:
        assert [m["Subject"] for m in town.recorder.messages_to(address)] \
            == [TEASER[1], CREDENTIALS[1]]


def test_highlighted_households_a_copy_and_an_attachment_without_history(
        town, db, capsys, monkeypatch, tmp_path):
    (tmp_path / "highlighted.txt").write_text("# the two at the counter today\n00001\n\n00003\n")
    (tmp_path / "leaflet.pdf").write_bytes(b"%PDF-1.4 leaflet")
    status, out, err = create(capsys, monkeypatch, db, live=None, no_history=True,
                              households_file=str(tmp_path / "highlighted.txt"),
                              cc=["office@example.org"], attach=[str(tmp_path / "leaflet.pdf")])
    assert status == 0, err
    assert "Recipients:           2 households" in out
    assert sorted(m.to_address for m in OutboxMessage.select()) == [ADDRESSES[0], ADDRESSES[2]]
    assert {m.cc for m in OutboxMessage.select()} == {"office@example.org"}
    assert not CommunicationHistory.select().exists()
    assert [a.file_name for a in MailingAttachment.select()] == ["leaflet.pdf"]
    assert mail_cli(capsys, monkeypatch, db, "send")[0] == 0
    captured = [path.read_text() for path in (tmp_path / "captured" / "rehearsals").glob("*.eml")]
    assert len(captured) == 2 and all("leaflet.pdf" in text for text in captured)


def test_texts_go_with_the_email_when_asked(town, db, capsys, monkeypatch, tmp_path):
    make_household(4, "h4@example.org", phone="5550102030")
    (tmp_path / "text.txt").write_text("Hi <FirstName>, your user name is <WebID>.")
    status, out, err = create(capsys, monkeypatch, db, live=None, channels="both",
                              text_body_file=str(tmp_path / "text.txt"),
                              send_text_even_with_email=True)
    assert status == 0, err
    assert "Queued mailing 1 (a rehearsal): 4 emails, 1 texts." in out
    assert mail_cli(capsys, monkeypatch, db, "send")[0] == 0
    [text] = (tmp_path / "captured" / "rehearsals" / "texts").glob("*.txt")
    assert "your user name is user4" in text.read_text()


def test_households_of_an_earlier_live_mailing_can_be_skipped(town, db, capsys, monkeypatch):
    assert create(capsys, monkeypatch, db, category="WEB")[0] == 0
    status, out, err = create(capsys, monkeypatch, db, category="WEB", skip_category=["WEB"],
                              description="Second go")
    assert status == 1
    assert "Recipients:           0 households" in out
    assert "No recipient would get a message" in err
    status, out, err = create(capsys, monkeypatch, db, category="NEWS",
                              include_category=["web"], every_member=True, dry_run=True)
    assert status == 0, err
    assert "Recipients:           3 members" in out
    assert Mailing.select().count() == 1


# --- looking after mailings -----------------------------------------------------------------------

def test_pause_holds_resume_releases_cancel_withdraws(town, db, capsys, monkeypatch):
    assert create(capsys, monkeypatch, db)[0] == 0
    status, out, err = mail_cli(capsys, monkeypatch, db, "pause", "1")
    assert status == 0, err
    assert "Mailing 1 paused: its 3 waiting messages stay queued" in out
    assert "0 sent" in mail_cli(capsys, monkeypatch, db, "send")[1]
    assert "Paused" in mail_cli(capsys, monkeypatch, db, "list")[1]
    status, out, err = mail_cli(capsys, monkeypatch, db, "resume", "1")
    assert status == 0, err
    assert "Mailing 1 resumed" in out
    status, _, err = mail_cli(capsys, monkeypatch, db, "cancel", "1")
    assert status == 1 and "add --yes" in err
    assert Mailing.get().state == "sending"  # untouched
    status, out, err = mail_cli(capsys, monkeypatch, db, "cancel", "1", "--yes")
    assert status == 0, err
    assert "Mailing 1 cancelled: 3 messages withdrawn, 0 already sent." in out
    status, out, err = mail_cli(capsys, monkeypatch, db, "show", "1")
    assert status == 0, err
    assert "Status:      Cancelled" in out and "cancelled: 3" in out
    assert "0 sent" in mail_cli(capsys, monkeypatch, db, "send")[1]
    assert town.received == []
    status, _, err = mail_cli(capsys, monkeypatch, db, "resume", "1")
    assert status == 1 and "Mailing 1 is cancelled" in err


def test_list_and_show_count_what_was_sent(town, db, capsys, monkeypatch):
    town.recorder.reject.add(ADDRESSES[0])
    make_household(4, "h4@example.org", login=False)
    assert create(capsys, monkeypatch, db, category="WEB")[0] == 0
    assert mail_cli(capsys, monkeypatch, db, "send")[0] == 0
    status, out, err = mail_cli(capsys, monkeypatch, db, "list")
    assert status == 0, err
    header, row = out.splitlines()
    assert header.split() == ["ID", "CREATED", "DESCRIPTION", "MODE", "RECIPIENTS", "SENT",
                              "FAILED", "WAITING", "STATUS"]
    assert row.split()[0] == "1" and row.split()[-6:] == ["LIVE", "4", "2", "1", "0",
                                                          "Finished"]
    status, out, err = mail_cli(capsys, monkeypatch, db, "show", "1")
    assert status == 0, err
    assert "Category:    WEB" in out and "sent:      2" in out and "failed:    1" in out
    assert "Skipped when queued:\n    no web login: 1\n" in out
    assert "Failed (1; the first 1):" in out
    assert f"client 00001  Family 1  {ADDRESSES[0]}: " in out and "No such user here" in out


def test_a_mailing_that_does_not_exist_is_named(town, db, capsys, monkeypatch):
    status, _, err = mail_cli(capsys, monkeypatch, db, "show", "99")
    assert status == 1 and "There is no mailing 99" in err
    status, _, err = mail_cli(capsys, monkeypatch, db, "pause", "1; DROP TABLE mailing")
    assert status == 2 and "the number `mail list` shows" in err


def test_categories_are_listed_and_added(town, db, capsys, monkeypatch):
    status, out, err = mail_cli(capsys, monkeypatch, db, "categories")
    assert status == 0, err
    assert [line.split()[0] for line in out.splitlines()] == ["MISC", "NEWS", "WEB"]
    status, out, err = mail_cli(capsys, monkeypatch, db, "categories", "add", "parent-mtg",
                                "Parent meetings")
    assert status == 0, err
    assert "Saved history category PARENT-MTG: Parent meetings" in out
    assert "PARENT-MTG" in mail_cli(capsys, monkeypatch, db, "categories")[1]
    status, _, err = mail_cli(capsys, monkeypatch, db, "categories", "add", "<b>", "x")
    assert status == 1 and "letters and digits" in err


# --- who may, and confirmation --------------------------------------------------------------------

def test_a_clerk_without_the_bulk_email_device_is_refused(town, db, capsys, monkeypatch):
    for argv in (create_args(BASE), ["list"], ["categories"], ["cancel", "1", "--yes"]):
        status, _, err = mail_cli(capsys, monkeypatch, db, *argv, staff="cleo")
        assert status == 3 and "permission denied: bulk.email" in err
    assert nothing_queued()


def test_live_is_refused_when_the_site_captures_its_mail(town, admin, db, capsys,
                                                         monkeypatch):
    site_settings.set_setting(admin, "email.mode", "capture")
    status, _, err = create(capsys, monkeypatch, db)
    assert status == 1 and "This site is in rehearsal mode" in err
    assert nothing_queued()


def test_without_a_terminal_or_yes_nothing_is_queued(town, db, capsys, monkeypatch):
    status, out, err = create(capsys, monkeypatch, db, yes=None, stdin="YES\n")
    assert status == 1
    assert "Recipients:" in out  # the warnings came first
    assert "run it on a terminal and type YES, or add --yes" in err
    assert nothing_queued()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "status"), [("yes\n", 1), ("YES\n", 0)])
def test_on_a_terminal_it_asks_for_yes(town, db, capsys, monkeypatch, typed, status):
    monkeypatch.setenv("CLERKDESK_STAFF_PASSWORD", STAFF_PASSWORD)
    monkeypatch.setattr(sys, "stdin", Terminal(typed))
    options = create_args({**BASE, "yes": None})
    assert run_cli(["--database", db, "--as", "sam", "mail", *options]) == status
    assert "Queue 3 messages to 3 households LIVE? Type YES" in capsys.readouterr().err
    assert nothing_queued() is bool(status)


class CtrlCWhileQueueing:
    """Stands in for the progress bar and presses Ctrl-C once the first batch is queued."""

    def __init__(self, title: str) -> None:
        self.queueing = title == mailings.QueueMailing.title

    def __call__(self, progress) -> None:
        if self.queueing:
            self.queueing = False
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_while_queueing_queues_nothing(town, db, capsys, monkeypatch):
    monkeypatch.setattr(mailings, "BATCH_HOUSEHOLDS", 1)
    monkeypatch.setattr(mail_create, "ProgressBar", CtrlCWhileQueueing)
    status, _, err = create(capsys, monkeypatch, db)
    assert status == 1
    assert "Stopping after the current batch" in err and "nothing was queued" in err
    assert nothing_queued()


# --- bad input ------------------------------------------------------------------------------------

LONG = "x" * 10_000
SQL = "x'; DROP TABLE pass; --"


@pytest.mark.parametrize(("changes", "message", "code"), [
    ({"template": "No such template"}, "template called “No such template”", 1),
    ({"template": "Password Reset"}, "There is no mailing template", 1),
    ({"template": LONG}, "template name is too long", 1),
    ({"template": "<script>alert(1)</script>"}, "template called “<script>", 1),
    ({"pass_type": ["NOPE"]}, "Unknown pass type “NOPE”", 1),
    ({"pass_type": [SQL]}, "Unknown pass type", 1),
    ({"pass_type": [LONG]}, "Unknown pass type", 1),
    ({"status": ["Actv-New'; --"]}, "Unknown pass status", 1),
    ({"from": "2026-13-40"}, "YYYY-MM-DD, not “2026-13-40”", 2),
    ({"to": "2026-W01-1"}, "YYYY-MM-DD", 2),
    ({"from": "2026-05-01", "to": "2026-04-01"}, "The date range ends before it starts", 1),
    ({"description": None}, "the following arguments are required: --description", 2),
    ({"description": " "}, "Enter the history description", 1),
    ({"description": LONG}, "history description is too long", 1),
    ({"category": "<b>WEB</b>"}, "no active history category", 1),
    ({"category": SQL}, "no active history category", 1),
    ({"skip_category": ["NOPE"]}, "Unknown history category", 1),
    ({"template": None, "subject": LONG, "body_file": "BODY"}, "subject is too long", 1),
    ({"template": None, "subject": "Hi", "body_file": "UNKNOWN_FIELD"},
     "Unknown merge field <Password>", 1),
    ({"template": None, "subject": "Hi", "body_file": "/no/such/body.txt"},
     "Could not read the body file", 1),
    ({"cc": ["<script>@x"]}, "not a valid email", 1),
    ({"attach": ["/no/such/leaflet.pdf"]}, "Could not read the attachment", 1),
    ({"households_file": "UNKNOWN_CLIENT"}, "line 2: There is no household with client ID", 1),
    ({"households_file": "NO_CLIENTS"}, "names no households", 1),
    ({"teaser_template": CREDENTIALS[0]}, "The teaser goes first and must not carry", 1),
    ({"account_state": "anything"}, "invalid choice", 2),
    ({"subject": "Hi"}, "not both", 2),
    ({"template": None}, "say what to send", 2),
    ({"skip_category": ["WEB"], "include_category": ["NEWS"]}, "cannot be used together", 2),
    ({"text_body_file": "BODY"}, "need --channels text or both", 2),
], ids=lambda value: str(value)[:40] if not isinstance(value, int) else str(value))
def test_bad_input_is_refused_and_queues_nothing(town, db, capsys, monkeypatch, tmp_path,
                                                 changes, message, code):
    files = {"BODY": "Hello <FirstName>\n",
             "UNKNOWN_FIELD": "<Password> '; DROP TABLE mailing;",
             "UNKNOWN_CLIENT": "00001\n99999\n", "NO_CLIENTS": "\n# nobody\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    changes = {key: str(tmp_path / value) if isinstance(value, str) and value in files
               else value for key, value in changes.items()}
    status, out, err = create(capsys, monkeypatch, db, **changes)
    assert (status, message in err) == (code, True), err
    assert "Traceback" not in err and len(err) < 2_000 and "Queued" not in out
    assert nothing_queued()
