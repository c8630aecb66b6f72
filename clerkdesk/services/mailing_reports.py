"""The mailing reports: the records a mailing cannot reach by email (no address, one that is
not valid, or one the mail server refused), and a summary of one mailing. As rows for a
window, CSV for a spreadsheet, and HTML that the desktop prints and saves as PDF.

No report ever holds a PIN or a password: there is none to read (DESIGN decision 1).
"""

import csv
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from peewee import JOIN

from clerkdesk.models import AuditEvent, Household, Mailing, OutboxMessage, WebAccount

from . import mailing_targets
from .bulk_report import primary_names, safe_cell
from .mailing_targets import Recipient, Targeting
from .mailings import NO_LOGIN, UNREACHABLE, get_mailing
from .permissions import Permission, require
from .session import StaffSession

NO_EMAIL = "no email"
INVALID_EMAIL = "not a valid address"
REFUSED = "refused by the mail server: "
NONE_SHOWN = "(none)"
NO_WEB_LOGIN = "(no web login)"
HEADERS = ("Client ID", "Household", "Person", "Address", "City", "Region", "Postal code",
           "Email", "Reason", "Web ID")
FAILURE_HEADERS = ("Client ID", "Household", "Sent to", "Reason")


@dataclass(frozen=True)
class NoEmailRow:
    household_id: int
    client_id: str
    household: str
    person: str
    address: str  # the street lines, joined by ", "
    city: str
    region: str
    postal: str
    email: str  # the bad address, or "(none)"
    reason: str
    web_id: str  # or "(no web login)"

    @property
    def has_login(self) -> bool:
        return self.web_id != NO_WEB_LOGIN


@dataclass(frozen=True)
class Failure:
    household_id: int | None
    client_id: str
    household: str
    to: str
    reason: str


@dataclass(frozen=True)
class MailingSummary:
    mailing_id: int
    description: str
    category: str
    created_by: str
    created_at: datetime
    rehearsal: bool
    status: str
    recipients: int
    counts: dict[str, int]  # messages by outbox state
    failures: list[Failure]
    skipped: dict[str, int]  # households that got no message, by why
    without_email: int  # recipients without a valid email, as the records read now

    @property
    def mode(self) -> str:
        return "Rehearsal (capture folder; no PIN minted)" if self.rehearsal else "Live"

    @property
    def messages(self) -> int:
        return sum(self.counts.values())


# --- rows -----------------------------------------------------------------------------------

def no_email_rows(actor: StaffSession, targeting: Targeting) -> list[NoEmailRow]:
    """Every recipient of `targeting` whose email is missing or not a valid address."""
    require(actor, Permission.BULK_EMAIL)
    targeting.check()
    return _unreachable_rows(targeting)


def no_email_rows_for_mailing(actor: StaffSession, mailing_id: int) -> list[NoEmailRow]:
    """The mailing's recipients without a valid email, as the records read now, followed by
    the messages of the mailing the mail server refused for good, with the server's reason."""
    mailing = get_mailing(actor, mailing_id)
    targeting = Targeting.from_json(Mailing.get_by_id(mailing.id).targeting)
    return _unreachable_rows(targeting) + _refused_rows(mailing.id)


def _unreachable_rows(targeting: Targeting) -> list[NoEmailRow]:
    rows: list[NoEmailRow] = []
    for recipients in mailing_targets.batches(targeting):
        missing = [r for r in recipients if not r.email_ok]
        addresses = _street_lines({r.household_id for r in missing})
        rows.extend(_row(r, addresses.get(r.household_id, "")) for r in missing)
    return rows


def _row(recipient: Recipient, address: str) -> NoEmailRow:
    return NoEmailRow(
        recipient.household_id, recipient.client_id, recipient.household_name,
        recipient.person, address, recipient.city, recipient.region, recipient.postal,
        recipient.email or NONE_SHOWN, INVALID_EMAIL if recipient.email else NO_EMAIL,
        recipient.web_id or NO_WEB_LOGIN)


def _street_lines(household_ids: set[int]) -> dict[int, str]:
    if not household_ids:
        return {}
    return {hid: ", ".join(line for line in (one, two) if line) for hid, one, two in
            Household.select(Household.id, Household.address_line1, Household.address_line2)
            .where(Household.id.in_(list(household_ids))).tuples()}


def _refused_rows(mailing_id: int) -> list[NoEmailRow]:
    failed = list(OutboxMessage.select(OutboxMessage.household, OutboxMessage.account,
                                       OutboxMessage.to_address, OutboxMessage.last_error)
                  .where((OutboxMessage.mailing_id == mailing_id)
                         & (OutboxMessage.state == "failed")
                         & (OutboxMessage.channel == "email"))
                  .order_by(OutboxMessage.id).tuples())
    household_ids = {hid for hid, *_ in failed if hid is not None}
    homes = {row[0]: row for row in Household.select(
        Household.id, Household.client_id, Household.name, Household.address_line1,
        Household.address_line2, Household.city, Household.region, Household.postal_code)
        .where(Household.id.in_(list(household_ids or {0}))).tuples()}
    people, logins = primary_names(household_ids), _web_ids(household_ids)
    rows = []
    for household_id, _, to, error in failed:
        home = homes.get(household_id)
        if home is None:  # the household was deleted since; nothing to print a letter for
            continue
        _, client_id, name, one, two, city, region, postal = home
        rows.append(NoEmailRow(
            household_id, client_id, name, people.get(household_id) or name,
            ", ".join(line for line in (one, two) if line), city, region, postal, to,
            REFUSED + (error.strip() or "no reason given"),
            logins.get(household_id, NO_WEB_LOGIN)))
    return rows


def _web_ids(household_ids: set[int]) -> dict[int, str]:
    """The household's own login name: its earliest without a member, else its earliest."""
    found: dict[int, str] = {}
    for household_id, username in (
            WebAccount.select(WebAccount.household, WebAccount.username)
            .where(WebAccount.household.in_(list(household_ids or {0})))
            .order_by(WebAccount.member.is_null(False), WebAccount.id).tuples()):
        found.setdefault(household_id, username)
    return found


def columns(row: NoEmailRow) -> tuple:
    """The row's values under HEADERS."""
    return (row.client_id, row.household, row.person, row.address, row.city, row.region,
            row.postal, row.email, row.reason, row.web_id)


# --- the summary ----------------------------------------------------------------------------

def summary(actor: StaffSession, mailing_id: int) -> MailingSummary:
    view = get_mailing(actor, mailing_id)
    targeting = Targeting.from_json(Mailing.get_by_id(view.id).targeting)
    return MailingSummary(view.id, view.description, view.category, view.created_by,
                          view.created_at, view.rehearsal, view.status, view.recipients,
                          dict(sorted(view.counts.items())), _failures(view.id),
                          _skipped(view.id), len(_unreachable_rows(targeting)))


def _failures(mailing_id: int) -> list[Failure]:
    found = []
    for household_id, client_id, name, to, error in (
            OutboxMessage.select(OutboxMessage.household, Household.client_id, Household.name,
                                 OutboxMessage.to_address, OutboxMessage.last_error)
            .join(Household, JOIN.LEFT_OUTER)
            .where((OutboxMessage.mailing_id == mailing_id)
                   & (OutboxMessage.state == "failed"))
            .order_by(OutboxMessage.id).tuples()):
        found.append(Failure(household_id, client_id or "", name or "(deleted household)", to,
                             error.strip() or "no reason given"))
    return found


def _skipped(mailing_id: int) -> dict[str, int]:
    """What queueing the mailing recorded in its audit event: households it left out."""
    event = (AuditEvent.select(AuditEvent.details)
             .where((AuditEvent.action == "mailing.create") & (AuditEvent.entity == "mailing")
                    & (AuditEvent.entity_id == str(mailing_id))).first())
    try:
        skipped = json.loads(event.details).get("skipped", {}) if event else {}
    except ValueError:
        skipped = {}
    counts = {NO_LOGIN: 0, UNREACHABLE: 0}
    counts.update({str(k): int(v) for k, v in skipped.items() if isinstance(v, int)})
    return counts


# --- CSV --------------------------------------------------------------------------------------

def write_csv(path: Path, rows: Sequence[NoEmailRow]) -> None:
    _write(path, HEADERS, (columns(row) for row in rows))


def write_failures_csv(path: Path, report: MailingSummary) -> None:
    _write(path, FAILURE_HEADERS, ((f.client_id, f.household, f.to, f.reason)
                                   for f in report.failures))


def _write(path: Path, headers: tuple[str, ...], rows: Iterable[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as stream:  # BOM: Excel reads UTF-8
        writer = csv.writer(stream)
        writer.writerow(headers)
        writer.writerows([safe_cell(value) for value in row] for row in rows)


# --- HTML -------------------------------------------------------------------------------------

def report_html(title: str, subtitle: str, rows: Sequence[NoEmailRow]) -> str:
    """A printable page of the no-email records; every value escaped."""
    empty = "" if rows else "<p>Every record in scope has a valid email address.</p>"
    return _page(title, f"<p>{_e(subtitle)}</p>{empty}" +
                 _table(HEADERS, (columns(row) for row in rows)))


def summary_html(report: MailingSummary) -> str:
    facts = (("Description", report.description), ("Category", report.category or "—"),
             ("Created", f"{report.created_at:%Y-%m-%d %H:%M} UTC by {report.created_by}"),
             ("Mode", report.mode), ("Status", report.status),
             ("Recipients", f"{report.recipients:,}"),
             ("Messages", f"{report.messages:,}" + _state_counts(report.counts)),
             ("Without a valid email", f"{report.without_email:,} recipients today; the "
                                       "report of records with invalid or no email lists "
                                       "them, for letters"))
    skipped = [(why[:1].upper() + why[1:], f"{number:,}")
               for why, number in report.skipped.items()]
    failures = _table(FAILURE_HEADERS, ((f.client_id, f.household, f.to, f.reason)
                                        for f in report.failures)) \
        if report.failures else "<p>No message failed.</p>"
    return _page(f"Mailing {report.mailing_id} — summary",
                 _facts(facts) + "<h3>Households that got no message</h3>" +
                 _table(("Why", "Households"), skipped) +
                 f"<h3>Failed messages ({len(report.failures):,})</h3>" + failures)


def _state_counts(counts: dict[str, int]) -> str:
    states = ", ".join(f"{number:,} {state}" for state, number in counts.items())
    return f" ({states})" if states else ""


def _facts(facts: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td width='22%'><b>{_e(label)}</b></td><td>{_e(value)}</td></tr>"
                   for label, value in facts)
    return f"<table border='0' cellspacing='0' cellpadding='3' width='100%'>{rows}</table>"


def _page(title: str, body: str) -> str:
    return f"<html><body><h2>{_e(title)}</h2>{body}</body></html>"


def _table(headers: tuple[str, ...], rows: Iterable[tuple]) -> str:
    head = "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{_e(value)}</td>" for value in row) + "</tr>"
                   for row in rows)
    return (f"<table border='1' cellspacing='0' cellpadding='3' width='100%'>{head}"
            f"<tbody>{body}</tbody></table>")


def _e(value: object) -> str:
    return html.escape(str(value))
