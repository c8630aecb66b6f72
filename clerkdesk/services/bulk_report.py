"""The exceptions report of a bulk assign: one row per household (or member) that got no
login, with the reason and what to do. As rows for a window, CSV for a spreadsheet, and HTML
that the desktop prints and saves as PDF."""

import csv
import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN

from clerkdesk.models import BulkAssignItem, Household, Member

from .bulk_decisions import Decision, what_to_do
from .permissions import Permission, require
from .session import StaffSession

HEADERS = ("Household ID", "Client ID", "Household", "Member", "Reason", "Detail", "What to do")
# A cell a spreadsheet would run as a formula is written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExceptionRow:
    household_id: int
    client_id: str
    household: str
    member: str
    reason: str
    detail: str
    what_to_do: str
    member_id: int | None = None  # not a column: lets the desk open that member's login


def rows_from_decisions(decisions: Iterable[Decision]) -> list[ExceptionRow]:
    return [ExceptionRow(d.target.household_id, d.target.client_id, d.target.household_name,
                         d.target.person, d.reason, d.detail, d.what_to_do, d.target.member_id)
            for d in decisions if d.outcome == "exception"]


def run_exceptions(actor: StaffSession, run_id: int) -> list[ExceptionRow]:
    require(actor, Permission.BULK_ASSIGN)
    items = list(BulkAssignItem.select(BulkAssignItem, Household, Member)
                 .join(Household).switch(BulkAssignItem).join(Member, JOIN.LEFT_OUTER)
                 .where((BulkAssignItem.run == run_id)
                        & (BulkAssignItem.outcome == "exception"))
                 .order_by(BulkAssignItem.household, BulkAssignItem.id))
    primaries = primary_names({item.household_id for item in items if item.member_id is None})
    return [ExceptionRow(item.household_id, item.household.client_id, item.household.name,
                         _member_name(item) if item.member_id else
                         primaries.get(item.household_id, ""), item.reason, item.detail,
                         what_to_do(item.reason), item.member_id)
            for item in items]


def primary_names(household_ids: set[int]) -> dict[int, str]:
    """The person a household's own login is for: its primary member (else its first)."""
    names: dict[int, str] = {}
    ids = list(household_ids)
    for start in range(0, len(ids), 500):
        for household_id, first, last in (
                Member.select(Member.household, Member.first_name, Member.last_name)
                .where(Member.household.in_(ids[start:start + 500]))
                .order_by(Member.household, Member.is_primary.desc(), Member.id).tuples()):
            names.setdefault(household_id, f"{first} {last}".strip())
    return names


def _member_name(item: BulkAssignItem) -> str:
    return f"{item.member.first_name} {item.member.last_name}".strip()


def write_csv(rows: list[ExceptionRow], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as stream:  # BOM: Excel reads UTF-8
        writer = csv.writer(stream)
        writer.writerow(HEADERS)
        writer.writerows([safe_cell(value) for value in columns(row)] for row in rows)


def columns(row: ExceptionRow) -> tuple:
    """The row's values under HEADERS."""
    return (row.household_id, row.client_id, row.household, row.member, row.reason, row.detail,
            row.what_to_do)


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def report_html(title: str, subtitle: str, rows: list[ExceptionRow]) -> str:
    """A printable page: a title, a summary line and the table; every value escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS[1:])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(value))}</td>"
                                    for value in columns(row)[1:]) + "</tr>" for row in rows)
    empty = "" if rows else "<p>No exceptions: every household in scope got a login.</p>"
    return (f"<html><body><h2>{html.escape(title)}</h2><p>{html.escape(subtitle)}</p>{empty}"
            f"<table border='1' cellspacing='0' cellpadding='3' width='100%'>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")
