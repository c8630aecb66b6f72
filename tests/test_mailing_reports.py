"""The seed's "Print report for records with invalid/no email", and the mailing summary: rows
for a missing address, one that is not valid and one the mail server refused (a real 550),
hostile names that stay text in CSV and HTML, and never a PIN in any of them."""

import csv
import html
from datetime import date, timedelta

import pytest

from clerkdesk.models import Household, Member, Pass, PassType, WebAccount
from clerkdesk.services import mailing_reports
from clerkdesk.services.errors import NotFound, PermissionDenied, ValidationError
from clerkdesk.services.mailing_reports import NO_EMAIL, NO_WEB_LOGIN, NONE_SHOWN, REFUSED
from clerkdesk.services.mailing_targets import Targeting
from clerkdesk.services.mailings import NO_LOGIN, UNREACHABLE
from tests.test_mailings import draft, pass_holders, queue, send

TODAY = date.today()
HOSTILE = ("=cmd|'/c calc'!A0", "<b>Bold</b> & \"quoted\" 'single'", "Zoë Ångström-Nuñez")


def home(number, *, name=None, email="", login=True, first="Ann", owner=False):
    """A pass holder with a street address, like the seed's records."""
    household = Household.create(client_id=f"{number:05}", name=name or f"Family {number}",
                                 email=email, address_line1=f"{number} Main St",
                                 address_line2="Apt 2" if number % 2 else "",
                                 city="Burlington", region="VT", postal_code="05401")
    Member.create(household=household, first_name=first, last_name=name or "Smith",
                  is_primary=True)
    kind, _ = PassType.get_or_create(code="CY-CHILD")
    Pass.create(household=household, pass_type=kind, status="Actv-New", start_date=TODAY,
                expiration_date=TODAY + timedelta(days=365))
    if login:
        WebAccount.create(household=household, username=f"user{number}",
                          username_key=f"user{number}", pin_rule="digits:6",
                          password_source="owner" if owner else "assigned")
    return household.id


def test_missing_and_invalid_emails_are_listed_with_their_reason(supervisor):
    home(1, email="ok@example.org")
    missing = home(2)
    invalid = home(3, email="not-an-address", login=False)
    rows = mailing_reports.no_email_rows(supervisor, pass_holders())
    assert [r.household_id for r in rows] == [missing, invalid]
    first, second = rows
    assert (first.email, first.reason, first.web_id) == (NONE_SHOWN, NO_EMAIL, "user2")
    assert (second.email, second.reason, second.web_id) == (
        "not-an-address", "not a valid address", NO_WEB_LOGIN)
    assert (first.address, first.city, first.region, first.postal) == (
        "2 Main St", "Burlington", "VT", "05401")
    assert second.address == "3 Main St, Apt 2" and first.person == "Ann Smith"


def test_a_mailing_lists_its_unreachable_records_and_what_the_server_refused(
        mail, supervisor, db_url):
    home(1, email="fine@example.org")
    home(2)
    home(3, email="refuse@example.org")
    mail.recorder.reject = {"refuse@example.org"}
    mailing_id = queue(supervisor, draft()).mailing_id
    assert send().failed == 1
    rows = mailing_reports.no_email_rows_for_mailing(supervisor, mailing_id)
    assert [r.client_id for r in rows] == ["00002", "00003"]
    refused = rows[1]
    assert rows[0].reason == NO_EMAIL and refused.reason.startswith(REFUSED)
    assert "550" in refused.reason and "refuse@example.org" in refused.reason
    assert refused.email == "refuse@example.org" and refused.web_id == "user3"
    assert refused.address == "3 Main St, Apt 2" and refused.person == "Ann Smith"


def test_the_summary_counts_states_failures_and_skipped_households(mail, supervisor):
    home(1, email="fine@example.org")
    home(2)
    home(3, email="refuse@example.org")
    home(4, email="nologin@example.org", login=False)
    mail.recorder.reject = {"refuse@example.org"}
    mailing_id = queue(supervisor, draft()).mailing_id
    send()
    report = mailing_reports.summary(supervisor, mailing_id)
    assert (report.description, report.category, report.rehearsal) == (
        "Web user and password", "WEB", False)
    assert report.created_by == supervisor.username and report.recipients == 4
    assert report.counts == {"failed": 1, "sent": 1}
    assert report.skipped == {NO_LOGIN: 1, UNREACHABLE: 1}
    assert report.without_email == 1
    [failure] = report.failures
    assert (failure.client_id, failure.to) == ("00003", "refuse@example.org")
    assert "550" in failure.reason
    page = mailing_reports.summary_html(report)
    assert "Web user and password" in page and "refuse@example.org" in page


def test_hostile_names_stay_text_in_csv_and_html(supervisor, tmp_path):
    for number, name in enumerate(HOSTILE, start=1):
        home(number, name=name, email="=HYPERLINK(\"http://evil\")" if number == 1 else "")
    rows = mailing_reports.no_email_rows(supervisor, Targeting())
    path = tmp_path / "no-email.csv"
    mailing_reports.write_csv(path, rows)
    with open(path, encoding="utf-8-sig", newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == list(mailing_reports.HEADERS)
    cells = [cell for row in table[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'=cmd|'/c calc'!A0" in cells and "Zoë Ångström-Nuñez" in cells
    assert "'=HYPERLINK(\"http://evil\")" in cells
    page = mailing_reports.report_html("Title <i>", "Sub & title", rows)
    assert "<b>Bold</b>" not in page and html.escape(HOSTILE[1]) in page
    assert "Title &lt;i&gt;" in page and "Zoë Ångström-Nuñez" in page


def test_reports_carry_no_pin_after_a_live_mailing(mail, supervisor, tmp_path):
    from tests.smtp_server import body_of

    home(1, email="fine@example.org")
    home(2, email="refuse@example.org")
    mail.recorder.reject = {"refuse@example.org"}
    mailing_id = queue(supervisor, draft()).mailing_id
    send()
    [message] = mail.recorder.messages_to("fine@example.org")
    pin = next(line.split(": ", 1)[1] for line in body_of(message).splitlines()
               if line.startswith("PIN: "))
    rows = mailing_reports.no_email_rows_for_mailing(supervisor, mailing_id)
    report = mailing_reports.summary(supervisor, mailing_id)
    mailing_reports.write_csv(tmp_path / "rows.csv", rows)
    mailing_reports.write_failures_csv(tmp_path / "failures.csv", report)
    texts = [mailing_reports.report_html("t", "s", rows), mailing_reports.summary_html(report),
             (tmp_path / "rows.csv").read_text("utf-8-sig"),
             (tmp_path / "failures.csv").read_text("utf-8-sig"), repr(rows), repr(report)]
    assert not [text for text in texts if pin in text]


def test_a_clerk_gets_no_report(clerk, supervisor):
    with pytest.raises(PermissionDenied):
        mailing_reports.no_email_rows(clerk, Targeting())
    with pytest.raises(PermissionDenied):
        mailing_reports.summary(clerk, 1)


def test_bad_input_gets_a_clear_message(supervisor):
    with pytest.raises(NotFound, match="no mailing 99"):
        mailing_reports.summary(supervisor, 99)
    with pytest.raises(NotFound):
        mailing_reports.no_email_rows_for_mailing(supervisor, "1; DROP TABLE")
    with pytest.raises(ValidationError, match="Unknown pass type"):
        mailing_reports.no_email_rows(supervisor, Targeting(pass_types=("NOPE",)))
