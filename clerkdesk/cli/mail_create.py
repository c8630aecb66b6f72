"""`clerkdesk --as STAFF mail create …`: the mailing wizard from a terminal.

It builds the same `MailingDraft` the wizard does, shows the warnings before processing (the
service's readiness), asks for YES, and queues the whole mailing in one transaction. Nothing
is sent here: `clerkdesk mail send` drains the outbox, minting each PIN as its message goes.
"""

import argparse
import re
import sys
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path

from clerkdesk.services import households, mailing_compose, mailings
from clerkdesk.services.email_delivery import Attachment
from clerkdesk.services.email_templates import TemplateView
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.mailing_drafts import CHANNEL_LABELS, MAX_BODY, MessageDraft
from clerkdesk.services.mailing_targets import (
    ACCOUNT_STATES,
    DATE_OPTIONS,
    MAX_HIGHLIGHTED,
    Targeting,
)
from clerkdesk.services.mailings import MailingDraft, QueueResult, Readiness
from clerkdesk.services.permissions import Permission, require
from clerkdesk.services.session import StaffSession
from clerkdesk.services.validation import clean_text

from .terminal import ProgressBar, interrupt_cancels

EXIT_REFUSED = 1  # as in app.py
CONFIRM_WORD = "YES"
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEFAULT_STATUSES = Targeting().statuses
DESCRIPTION = """\
Queue a bulk mailing, as the mailing wizard does: choose the message (a saved template, or a
subject and a body file), who gets it, and how it goes. The warnings before processing are
printed first; --dry-run stops there. Without --live the mailing is a rehearsal: it goes into
the capture folder and mints no PIN. Queueing is all or nothing (Ctrl-C queues nothing), and
`clerkdesk mail send` sends what was queued.
"""
EPILOG = """\
examples:
  clerkdesk --as sam mail create --template "Web Credentials" --description "Portal go-live" \\
      --category WEB --pass-type CY-CHILD --account-state not-delivered --dry-run
  clerkdesk --as sam mail create --template "Web Credentials" --teaser-template "Coming soon" \\
      --description "Portal go-live" --live --yes
  clerkdesk --as sam mail create --subject "Pool closed" --body-file closed.txt \\
      --description "Pool closure" --no-history --channels both --attach map.pdf
"""


# --- the command line ------------------------------------------------------------------------

def add_create_command(actions) -> None:
    """Add `mail create` to the `mail` subcommands."""
    sub = actions.add_parser("create", help="queue a bulk mailing (the mailing wizard)",
                             description=DESCRIPTION, epilog=EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    _message_options(sub.add_argument_group("the message"))
    _history_options(sub.add_argument_group("history"))
    _targeting_options(sub.add_argument_group("who gets it"))
    _delivery_options(sub.add_argument_group("how it goes"))
    _mode_options(sub.add_argument_group("mode"))
    sub.set_defaults(handler=mail_create, check_usage=partial(check_usage, sub))


def _message_options(group) -> None:
    group.add_argument("--template", metavar="NAME",
                       help="a saved email template (its subject and body)")
    group.add_argument("--subject", help="the subject, with --body-file instead of --template")
    group.add_argument("--body-file", metavar="FILE", type=Path,
                       help="the email body, UTF-8 text with merge fields such as <WebPin>")
    group.add_argument("--teaser-template", metavar="NAME",
                       help="a template sent first; the message waits until it has gone")


def _history_options(group) -> None:
    group.add_argument("--description", required=True,
                       help="the history description households' records show")
    group.add_argument("--category", default="", metavar="CODE",
                       help="a history category (see `mail categories`)")
    group.add_argument("--no-history", action="store_true",
                       help="keep no history record of who got this mailing")


def _targeting_options(group) -> None:
    group.add_argument("--pass-type", dest="pass_types", action="append", default=[],
                       metavar="CODE", help="holders of this pass type (repeatable; none: "
                                            "every active household)")
    group.add_argument("--status", dest="statuses", action="append", default=[],
                       metavar="STATUS", help="pass status (repeatable; default: "
                                              f"{', '.join(DEFAULT_STATUSES)})")
    group.add_argument("--date-option", choices=DATE_OPTIONS, default="expiration",
                       help="which pass date --from and --to compare (default: expiration)")
    group.add_argument("--from", dest="date_from", type=iso_date, metavar="YYYY-MM-DD")
    group.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD")
    group.add_argument("--every-member", action="store_true",
                       help="every member gets it, not one per household")
    group.add_argument("--account-state", choices=tuple(ACCOUNT_STATES), default="any",
                       help="narrow by the state of the web login (default: any)")
    group.add_argument("--skip-category", action="append", default=[], metavar="CODE",
                       help="skip households that got a live mailing of this category")
    group.add_argument("--include-category", action="append", default=[], metavar="CODE",
                       help="only households that got a live mailing of this category")
    group.add_argument("--households-file", metavar="FILE", type=Path,
                       help="only these households: client IDs, one a line (highlighted only)")


def _delivery_options(group) -> None:
    group.add_argument("--cc", action="append", default=[], metavar="ADDRESS",
                       help="a copy of every email to this address (repeatable)")
    group.add_argument("--channels", choices=tuple(CHANNEL_LABELS), default="email",
                       help="email, text messages, or both (default: email)")
    group.add_argument("--text-body-file", metavar="FILE", type=Path,
                       help="the text message body (default: the email body)")
    group.add_argument("--send-text-even-with-email", action="store_true",
                       help="with --channels both: text households that get the email too")
    group.add_argument("--attach", action="append", default=[], metavar="FILE", type=Path,
                       help="attach this file to every email (repeatable)")
    group.add_argument("--reissue-owner-passwords", action="store_true",
                       help="households that chose their own password get a new PIN too")


def _mode_options(group) -> None:
    group.add_argument("--live", action="store_true",
                       help="send for real (default: a rehearsal into the capture folder)")
    group.add_argument("--dry-run", action="store_true",
                       help="print the warnings before processing and queue nothing "
                            "(exit status 1 when a problem would stop the mailing)")
    group.add_argument("--yes", action="store_true",
                       help="queue without asking (needed when standard input is not a "
                            "terminal)")


def iso_date(text: str) -> date:
    # The pattern first: fromisoformat alone also takes week dates and dates without dashes.
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"a date is a real day written YYYY-MM-DD, "
                                     f"not “{text[:40]}”")


def check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options that cannot go together: exit 2 before the database opens."""
    if args.template and (args.subject is not None or args.body_file):
        parser.error("give --template, or --subject with --body-file, not both")
    if not args.template and (args.subject is None or not args.body_file):
        parser.error("say what to send: --template NAME, or --subject and --body-file")
    if args.skip_category and args.include_category:
        parser.error("--skip-category and --include-category cannot be used together")
    if args.channels == "email" and (args.text_body_file or args.send_text_even_with_email):
        parser.error("--text-body-file and --send-text-even-with-email need --channels "
                     "text or both")


# --- what it does ------------------------------------------------------------------------------

def mail_create(args: argparse.Namespace, actor: StaffSession | None) -> int:
    # Checked first so that a clerk is told about the permission, not about a template.
    require(actor, Permission.BULK_EMAIL)
    draft = mailing_draft(actor, args)
    ready = _readiness(actor, draft)
    print_readiness(ready, draft)
    if args.dry_run:
        print("Dry run: nothing was queued.")
        return EXIT_REFUSED if ready.problems else 0
    if ready.problems:
        raise ClerkDeskError("Fix the problems above first; nothing was queued.")
    if not args.yes:
        confirm(_question(ready, draft), "queueing a mailing")
    return _queue(actor, draft)


def mailing_draft(actor: StaffSession, args: argparse.Namespace) -> MailingDraft:
    """The wizard's choices, read from the options and the files they name."""
    message = _message(args)
    teaser = None
    if args.teaser_template:
        found = _template(args.teaser_template)
        teaser = MessageDraft(found.subject, found.body, message.cc, message.channels,
                              message.skip_text_if_email)
    return MailingDraft(description=args.description, targeting=_targeting(actor, args),
                        message=message, category=args.category.strip().upper(),
                        with_history=not args.no_history, rehearsal=not args.live,
                        reissue_owner_passwords=args.reissue_owner_passwords, teaser=teaser)


def _message(args: argparse.Namespace) -> MessageDraft:
    if args.template:
        found = _template(args.template)
        subject, body = found.subject, found.body
    else:
        subject, body = args.subject, read_text("body file", args.body_file)
    text_body = read_text("text body file", args.text_body_file) if args.text_body_file else ""
    attachments = tuple(_attachment(path) for path in args.attach)
    return MessageDraft(subject, body, tuple(args.cc), args.channels,
                        not args.send_text_even_with_email, text_body, attachments)


def _template(name: str) -> TemplateView:
    """A saved mailing template, as the wizard loads them (the program's own emails, such
    as the password reset, are not mailing templates)."""
    return mailing_compose.load_template(clean_text("template name", name, max_length=100,
                                                    required=True))


def _targeting(actor: StaffSession, args: argparse.Namespace) -> Targeting:
    history = args.include_category or args.skip_category
    highlighted = tuple(highlighted_households(actor, args.households_file)) \
        if args.households_file else ()
    return Targeting(pass_types=tuple(args.pass_types),
                     date_option=args.date_option, date_from=args.date_from,
                     date_to=args.date_to, statuses=tuple(args.statuses) or DEFAULT_STATUSES,
                     every_member=args.every_member, account_state=args.account_state,
                     history_categories=tuple(code.strip().upper() for code in history),
                     history_rule="include" if args.include_category else "skip",
                     household_ids=highlighted)


def highlighted_households(actor: StaffSession, path: Path) -> list[int]:
    """The households a file of client IDs names. An empty file is refused: no households
    named would otherwise mean every household."""
    found: list[int] = []
    for number, client_id in _client_ids(path):
        try:
            found.append(households.household_id_for_client(actor, client_id))
        except ClerkDeskError as error:
            raise ClerkDeskError(f"{path}, line {number}: {error} Nothing was queued.") from None
        if len(found) > MAX_HIGHLIGHTED:
            raise ClerkDeskError(f"{path} names more than {MAX_HIGHLIGHTED:,} households; "
                                 "process them all, or split the file.")
    if not found:
        raise ClerkDeskError(f"{path} names no households (one client ID a line).")
    return list(dict.fromkeys(found))


def _client_ids(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8-sig") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    yield number, line.strip()
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable("households file", path, error) from None


def read_text(label: str, path: Path) -> str:
    """A UTF-8 file, read no further than the longest body a mailing takes (the service
    names the limit when it is over)."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return handle.read(MAX_BODY + 1)
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable(label, path, error) from None


def _attachment(path: Path) -> Attachment:
    try:
        return Attachment.from_file(str(path))
    except OSError as error:
        raise _unreadable("attachment", path, error) from None


def _unreadable(label: str, path: Path, error: Exception) -> ClerkDeskError:
    reason = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) \
        else getattr(error, "strerror", None) or str(error)
    return ClerkDeskError(f"Could not read the {label} “{str(path)[:200]}”: {reason}. "
                          "Nothing was queued.")


def _readiness(actor: StaffSession, draft: MailingDraft) -> Readiness:
    token = CancelToken()
    try:
        with interrupt_cancels(token, "counting"):
            return mailings.readiness(actor, draft, ProgressBar("Counting recipients"), token)
    except (Cancelled, KeyboardInterrupt):
        raise ClerkDeskError("Stopped while counting; nothing was queued.") from None


def print_readiness(ready: Readiness, draft: MailingDraft) -> None:
    """The warnings before processing, as the wizard shows them."""
    people = "members" if draft.targeting.every_member else "households"
    owners = "get a new PIN (--reissue-owner-passwords)" if draft.reissue_owner_passwords \
        else "keep their own password"
    lines = [
        ("Recipients", f"{ready.recipients:,} {people}"),
        ("Emails", f"{ready.emails:,}"),
        ("Texts", f"{ready.texts:,}"),
        ("Without a web login", f"{ready.without_login:,} (the message needs one: skipped)"),
        ("Owners' passwords", f"{ready.owner_passwords:,} chose their own; they {owners}"),
        ("Unreachable", f"{ready.unreachable:,} (no valid email address or text number)"),
        ("Teaser first", "yes, one more message each" if draft.teaser else "no"),
        ("Delivery", ready.delivery),
        ("Estimated time", estimated_time(ready.duration_seconds)),
    ]
    print("Before processing:")
    for label, value in lines:
        print(f"  {label + ':':<22}{value}")
    for problem in ready.problems:
        print(f"  PROBLEM: {problem}", file=sys.stderr)


def estimated_time(seconds: float | None) -> str:
    if seconds is None:
        return "no rate limit is set: as fast as the mail server takes them"
    whole = round(seconds)
    return f"about {whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d} (h:mm:ss) " \
           "at the configured rate"


def _question(ready: Readiness, draft: MailingDraft) -> str:
    people = "members" if draft.targeting.every_member else "households"
    teaser = " (each after a teaser)" if draft.teaser else ""
    mode = "as a REHEARSAL" if ready.rehearsal else "LIVE"
    return f"Queue {ready.messages:,} messages{teaser} to {ready.recipients:,} {people} {mode}?"


def confirm(question: str, what: str) -> None:
    """Ask for YES on a terminal; refuse without a terminal (a script adds --yes)."""
    if not sys.stdin.isatty():
        raise ClerkDeskError(f"Confirm {what}: run it on a terminal and type {CONFIRM_WORD}, "
                             "or add --yes. Nothing was changed.")
    print(f"{question} Type {CONFIRM_WORD} to go on: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip() != CONFIRM_WORD:
        raise ClerkDeskError("Not confirmed; nothing was changed.")


def _queue(actor: StaffSession, draft: MailingDraft) -> int:
    job = mailings.QueueMailing(actor, draft)
    token = CancelToken()
    try:
        with interrupt_cancels(token, "the current batch"):
            result = job.run(ProgressBar(job.title), token)
    except (Cancelled, KeyboardInterrupt):
        print("Cancelled: nothing was queued.", file=sys.stderr)
        return EXIT_REFUSED
    print_queued(result, draft)
    return 0


def print_queued(result: QueueResult, draft: MailingDraft) -> None:
    mode = "a rehearsal" if draft.rehearsal else "LIVE"  # a capture site refused LIVE before
    print(f"Queued mailing {result.mailing_id} ({mode}): {result.emails:,} emails, "
          f"{result.texts:,} texts.")
    if result.teaser_id is not None:
        print(f"Its teaser, mailing {result.teaser_id}, goes first.")
    for reason, count in sorted(result.skipped.items()):
        print(f"  skipped, {reason}: {count:,}")
    print("Nothing is sent yet: run `clerkdesk mail send` to send it.")
