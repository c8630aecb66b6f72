"""`clerkdesk --as STAFF mail …`: bulk mailings and the outbox from a terminal.

`mail create` queues a mailing (see mail_create.py); `mail list|show|pause|resume|cancel`
look after the mailings queued; `mail categories` keeps the history categories.
`mail send` runs the sender until the queue is empty (messages waiting for a retry later stay
queued); Ctrl-C stops it after the message in flight, and the rest stays queued for next time.
"""

import argparse
import sys

from clerkdesk.services import mailing_history, mailing_reports, mailings, outbox
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.mailing_reports import Failure
from clerkdesk.services.mailings import MailingView
from clerkdesk.services.permissions import Permission, require
from clerkdesk.services.session import StaffSession
from clerkdesk.services.timestamps import local_text

from .bulk_assign import printable
from .mail_create import add_create_command, confirm
from .terminal import ProgressBar, interrupt_cancels

MAILING_STATES_SHOWN = ("queued", "sending", "sent", "failed", "cancelled")
FAILURES_SHOWN = 10


def add_mail_commands(commands) -> None:
    group = commands.add_parser("mail", help="bulk mailings and the outbox")
    actions = group.add_subparsers(title="mail commands", metavar="ACTION", required=True)
    add_create_command(actions)
    send = actions.add_parser("send", help="send what is queued, within the rate limit",
                              description="Send the queued messages over one connection to "
                                          "the mail server (or into the capture folder).")
    send.set_defaults(handler=mail_send)
    status = actions.add_parser("status", help="how many messages are queued, sent or failed")
    status.set_defaults(handler=mail_status)
    _mailing_commands(actions)
    _category_commands(actions)


def _mailing_commands(actions) -> None:
    actions.add_parser("list", help="recent mailings, newest first").set_defaults(
        handler=mail_list)
    for name, handler, text in (
            ("show", mail_show, "one mailing: its messages by state, who was skipped, the "
                                "first failures"),
            ("pause", mail_pause, "hold back what a mailing still has to send"),
            ("resume", mail_resume, "let a paused mailing go on"),
            ("cancel", mail_cancel, "withdraw what a mailing still has to send, for good")):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("mailing", type=mailing_number, metavar="ID",
                         help="the mailing's number (see `mail list`)")
        sub.set_defaults(handler=handler)
        if name == "cancel":
            sub.add_argument("--yes", action="store_true",
                             help="do not ask (needed when standard input is not a terminal)")


def _category_commands(actions) -> None:
    categories = actions.add_parser("categories", help="history categories (list, or add one)")
    categories.set_defaults(handler=mail_categories)
    more = categories.add_subparsers(title="category commands", metavar="ACTION")
    add = more.add_parser("add", help="add a category, or change its description")
    add.add_argument("code", help="short capitals, e.g. NEWS or PARENT-MTG")
    add.add_argument("description")
    add.set_defaults(handler=mail_category_add)


def mailing_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2 ** 31:
        raise argparse.ArgumentTypeError(f"a mailing is the number `mail list` shows, "
                                         f"not “{text[:40]}”")
    return int(text)


# --- the outbox ----------------------------------------------------------------------------------

def mail_send(args: argparse.Namespace, actor: StaffSession | None) -> int:
    sender = outbox.start_sender(actor)
    token = CancelToken()
    with interrupt_cancels(token, "the message in flight"):
        summary = sender.run(ProgressBar(sender.title), token)
    print(f"{summary.sent:,} sent, {summary.failed:,} failed, {summary.retrying:,} to retry "
          f"later; {outbox.pending():,} still queued.")
    for error in summary.errors[:10]:
        print(f"  {error}", file=sys.stderr)
    return 1 if token.cancelled else 0


def mail_status(args: argparse.Namespace, actor: StaffSession | None) -> int:
    for state, count in outbox.state_counts(actor).items():
        print(f"{state + ':':<11} {count:,}")
    return 0


# --- mailings ----------------------------------------------------------------------------------

def mail_list(args: argparse.Namespace, actor: StaffSession | None) -> int:
    views = mailings.list_mailings(actor)
    if not views:
        print("No mailings yet.")
        return 0
    print(f"{'ID':>5}  {'CREATED':<16}  {'DESCRIPTION':<30}  {'MODE':<9}  {'RECIPIENTS':>10}  "
          f"{'SENT':>7}  {'FAILED':>7}  {'WAITING':>7}  STATUS")
    for view in views:
        print(f"{view.id:>5}  {local_text(view.created_at):<16}  "
              f"{_cut(printable(view.description), 30):<30}  {_mode(view):<9}  "
              f"{view.recipients:>10,}  {view.counts.get('sent', 0):>7,}  "
              f"{view.counts.get('failed', 0):>7,}  {view.waiting:>7,}  {view.status}")
    return 0


def mail_show(args: argparse.Namespace, actor: StaffSession | None) -> int:
    view = mailings.get_mailing(actor, args.mailing)
    report = mailing_reports.summary(actor, view.id)
    rows = [("Description", printable(view.description)),
            ("Category", printable(view.category) or "(none)"),
            ("Created", f"{local_text(view.created_at)} by {printable(view.created_by)}"),
            ("Mode", _mode(view)), ("Status", view.status),
            ("Recipients", f"{view.recipients:,}")]
    if view.after_id is not None:
        rows.append(("Goes after", f"mailing {view.after_id} (its teaser)"))
    print(f"Mailing {view.id}")
    for label, value in rows:
        print(f"  {label + ':':<13}{value}")
    print("  Messages:")
    for state in MAILING_STATES_SHOWN:
        print(f"    {state + ':':<11}{view.counts.get(state, 0):,}")
    _print_skipped(report.skipped)
    _print_failures(report.failures)
    return 0


def _print_skipped(skipped: dict[str, int]) -> None:
    if any(skipped.values()):
        print("  Skipped when queued:")
    for reason, count in skipped.items():
        if count:
            print(f"    {reason}: {count:,}")


def _print_failures(failures: list[Failure]) -> None:
    if failures:
        print(f"  Failed ({len(failures):,}; the first {min(len(failures), FAILURES_SHOWN)}):")
    for failure in failures[:FAILURES_SHOWN]:
        print(f"    client {printable(failure.client_id) or '-'}  "
              f"{_cut(printable(failure.household), 30)}  {printable(failure.to)}: "
              f"{_cut(printable(failure.reason), 120)}")


def mail_pause(args: argparse.Namespace, actor: StaffSession | None) -> int:
    view = mailings.pause(actor, args.mailing)
    print(f"Mailing {view.id} paused: its {view.waiting:,} waiting messages stay queued "
          f"until `clerkdesk mail resume {view.id}` (a message in flight still goes).")
    return 0


def mail_resume(args: argparse.Namespace, actor: StaffSession | None) -> int:
    view = mailings.resume(actor, args.mailing)
    print(f"Mailing {view.id} resumed: its {view.waiting:,} waiting messages go with the next "
          "`clerkdesk mail send`.")
    return 0


def mail_cancel(args: argparse.Namespace, actor: StaffSession | None) -> int:
    before = mailings.get_mailing(actor, args.mailing)
    if not args.yes:
        confirm(f"Cancel mailing {before.id} “{_cut(printable(before.description), 60)}”? "
                f"Its {before.counts.get('queued', 0):,} queued messages will not be sent; "
                "what was sent stays sent.", "cancelling a mailing")
    after = mailings.cancel(actor, args.mailing)
    withdrawn = after.counts.get("cancelled", 0) - before.counts.get("cancelled", 0)
    print(f"Mailing {after.id} cancelled: {withdrawn:,} messages withdrawn, "
          f"{after.counts.get('sent', 0):,} already sent.")
    return 0


def _mode(view: MailingView) -> str:
    return "rehearsal" if view.rehearsal else "LIVE"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


# --- history categories ------------------------------------------------------------------------

def mail_categories(args: argparse.Namespace, actor: StaffSession | None) -> int:
    require(actor, Permission.BULK_EMAIL)  # the categories belong to the mailing tools
    for category in mailing_history.categories():
        print(f"{category.code:<20} {printable(category.description)}")
    return 0


def mail_category_add(args: argparse.Namespace, actor: StaffSession | None) -> int:
    saved = mailing_history.save_category(actor, args.code, args.description)
    print(f"Saved history category {saved.code}: {printable(saved.description)}")
    return 0
