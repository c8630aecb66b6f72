"""`clerkdesk --as STAFF bulk-assign …`: the Bulk Web ID/PIN Assign from a terminal.

Without a mode option it starts a new run (or, with --dry-run, shows what one would do).
--resume, --retry-exceptions, --undo, --list and --run are the other modes. A run commits
one batch of households at a time, so Ctrl-C stops it after the current batch and --resume
carries on from there; nothing is ever done twice.
"""

import argparse
import os
import sys
from functools import partial
from pathlib import Path

from clerkdesk.services import bulk_assign, bulk_report, bulk_undo
from clerkdesk.services.bulk_assign import (
    COLLISION_CHOICES,
    CONFIRM_WORD,
    AssignOptions,
    BulkAssignJob,
    Preview,
)
from clerkdesk.services.bulk_report import ExceptionRow
from clerkdesk.services.bulk_targets import SCOPES, Scope
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.permissions import Permission, require
from clerkdesk.services.session import StaffSession

from .terminal import ProgressBar, interrupt_cancels

EXIT_REFUSED = 1  # as in app.py, which imports this module
REPORT_SUFFIXES = (".csv", ".pdf")
REPORT_TITLE = "Bulk Web ID/PIN Assign: exceptions"
DEFAULT_SCOPE, DEFAULT_USERNAMES, DEFAULT_PINS, DEFAULT_COLLISION = (
    "without-account", "webreg", "random", "suffix")
# Options that describe a new run, by destination: they mean nothing to the other modes.
RUN_OPTIONS = {"scope": "--scope", "pass_types": "--pass-types",
               "every_member": "--every-member", "only_with_email": "--only-with-email",
               "usernames": "--usernames", "pins": "--pins", "on_collision": "--on-collision",
               "no_must_change": "--no-must-change", "overwrite": "--overwrite",
               "yes": "--yes", "dry_run": "--dry-run"}
DESCRIPTION = """\
Give the households in scope a portal user name and PIN (Bulk Web ID/PIN Assign).
A run commits a batch of households at a time: Ctrl-C stops it after the current batch,
--resume carries on where it stopped, and --undo rolls a whole run back. Random PINs are
minted when the credentials are sent; a pattern PIN is hashed at once. No PIN is ever shown.
"""
EPILOG = """\
examples:
  clerkdesk --as sam bulk-assign --dry-run --only-with-email --exceptions preview.csv
  clerkdesk --as sam bulk-assign --only-with-email --pins '{phone:-4}{id:-4}'
  clerkdesk --as sam bulk-assign --scope pass-holders --pass-types SWIM-10,SR-FIT
  clerkdesk --as sam bulk-assign --list | --resume | --undo 3 | --run 3 --exceptions 3.pdf
"""


# --- the command line ------------------------------------------------------------------------

def add_bulk_assign_command(commands) -> None:
    """Add `bulk-assign` to the CLI's subcommands."""
    sub = commands.add_parser(
        "bulk-assign", help="give households portal user names and PINs in bulk",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _what_options(sub.add_argument_group("what to assign (a new run, a dry run or a retry)"))
    _mode_options(sub.add_argument_group("modes (one at a time; without one: a new run)")
                  .add_mutually_exclusive_group())
    sub.add_argument("--exceptions", metavar="FILE", type=report_path,
                     help="write the exceptions report of the dry run or the run to "
                          "FILE.csv or FILE.pdf")
    sub.set_defaults(handler=bulk_assign_command, check_usage=partial(check_usage, sub))


def _what_options(group) -> None:
    # Defaults are None so that check_usage can tell which options were given.
    group.add_argument("--scope", choices=SCOPES,
                       help=f"which active households (default: {DEFAULT_SCOPE})")
    group.add_argument("--pass-types", metavar="CODE[,CODE…]", type=pass_type_codes,
                       help="with --scope pass-holders: households with an active pass of "
                            "one of these types")
    group.add_argument("--every-member", action="store_true",
                       help="a login for every member, not one per household")
    group.add_argument("--only-with-email", action="store_true",
                       help="households without a valid email address become exceptions")
    group.add_argument("--usernames", metavar="RULE",
                       help="webreg, email, client-id, first.last or a pattern such as "
                            "'{first:1}{last:4}{id:-3}' (default: webreg)")
    group.add_argument("--pins", metavar="RULE",
                       help="random, range:LOW-HIGH, digits:N or a pattern such as "
                            "'{phone:-4}{id:-4}' (default: random)")
    group.add_argument("--on-collision", choices=COLLISION_CHOICES,
                       help="a user name already taken gets a number, or is an exception "
                            "(default: suffix)")
    group.add_argument("--no-must-change", action="store_true",
                       help="households need not change their login at first sign-in")
    group.add_argument("--overwrite", action="store_true",
                       help="replace existing logins too (asks you to type YES)")
    group.add_argument("--yes", action="store_true",
                       help="confirm --overwrite without a prompt (needed when standard "
                            "input is not a terminal)")
    group.add_argument("--dry-run", action="store_true",
                       help="show counts, exceptions and sample user names; write nothing")


def _mode_options(group) -> None:
    group.add_argument("--resume", action="store_true",
                       help="carry on with the run that was cancelled or interrupted")
    group.add_argument("--retry-exceptions", metavar="RUN", type=run_number,
                       help="a new run over the exceptions of run RUN only")
    group.add_argument("--undo", metavar="RUN", type=run_number,
                       help="roll run RUN back (logins used since are kept and listed)")
    group.add_argument("--list", action="store_true", help="list recent runs")
    group.add_argument("--run", metavar="RUN", type=run_number,
                       help="with --exceptions: export the exceptions of run RUN")


def report_path(text: str) -> Path:
    """--exceptions: refused here, before any work, rather than after a long run."""
    path = Path(text).expanduser()
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"the exceptions report is written to a .csv or .pdf file, not “{text[:80]}”")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"there is no folder “{str(folder)[:80]}”")
    if path.is_dir() or not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write “{text[:80]}”")
    return path


def run_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2 ** 31:
        raise argparse.ArgumentTypeError(
            f"a run is the number --list shows, not “{text[:40]}”")
    return int(text)


def pass_type_codes(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("name at least one pass type code")
    return codes


def check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The rules argparse cannot express; a broken one exits 2 before the database opens."""
    mode = _mode_flag(args)
    if mode not in ("", "--retry-exceptions"):
        given = [flag for dest, flag in RUN_OPTIONS.items()
                 if getattr(args, dest) not in (None, False)]
        if given:
            parser.error(f"{', '.join(given)} cannot be used with {mode}")
    if mode in ("--undo", "--list") and args.exceptions is not None:
        parser.error(f"--exceptions cannot be used with {mode}")
    if mode == "--run" and args.exceptions is None:
        parser.error("--run RUN exports a run's exceptions: add --exceptions FILE.csv|FILE.pdf")
    if args.yes and not args.overwrite:
        parser.error("--yes only confirms --overwrite")
    if args.pass_types and args.scope != "pass-holders":
        parser.error("--pass-types needs --scope pass-holders")


def _mode_flag(args: argparse.Namespace) -> str:
    for dest in ("resume", "retry_exceptions", "undo", "list", "run"):
        if getattr(args, dest) not in (None, False):
            return "--" + dest.replace("_", "-")
    return ""


# --- what each mode does ------------------------------------------------------------------------

def bulk_assign_command(args: argparse.Namespace, actor: StaffSession | None) -> int:
    # Checked first so that a clerk is told about the permission, not asked to confirm.
    require(actor, Permission.BULK_ASSIGN)
    if args.list:
        return _list_runs(actor)
    if args.undo is not None:
        return _undo(actor, args.undo)
    if args.run is not None:
        return _export_run(actor, args.run, args.exceptions)
    if args.resume:
        return _resume(actor, args.exceptions)
    options = assign_options(args)
    if args.retry_exceptions is not None:
        bulk_assign.get_run(actor, args.retry_exceptions)  # a run that does not exist is refused
    if args.dry_run:
        return _dry_run(actor, options, args.exceptions)
    return _new_run(actor, options, args)


def assign_options(args: argparse.Namespace) -> AssignOptions:
    def given(value: object, default: object) -> object:
        return default if value is None else value  # an empty rule typed is checked, not defaulted

    scope = Scope(given(args.scope, DEFAULT_SCOPE), given(args.pass_types, ()),
                  args.every_member, args.retry_exceptions)
    return AssignOptions(scope=scope, only_with_email=args.only_with_email,
                         overwrite=args.overwrite, must_change=not args.no_must_change,
                         usernames=given(args.usernames, DEFAULT_USERNAMES),
                         pins=given(args.pins, DEFAULT_PINS),
                         on_collision=given(args.on_collision, DEFAULT_COLLISION))


def _new_run(actor: StaffSession, options: AssignOptions, args: argparse.Namespace) -> int:
    options.check()  # bad options are refused before anyone is asked to type YES
    confirm = _confirm_overwrite(args.yes) if options.overwrite else ""
    job = bulk_assign.start_run(actor, options, confirm)
    return _carry_out(actor, job, args.exceptions)


def _resume(actor: StaffSession, report: Path | None) -> int:
    waiting = bulk_assign.unfinished_run()
    if waiting is None:
        raise ClerkDeskError("No bulk assign run is waiting to be resumed: every run has "
                             "finished or been undone (see --list).")
    job = bulk_assign.resume_run(actor, waiting.id)
    print(f"Resuming run {waiting.id} after {waiting.done:,} of {waiting.total:,} households.")
    return _carry_out(actor, job, report)


def _confirm_overwrite(yes: bool) -> str:
    if yes:
        return CONFIRM_WORD
    if not sys.stdin.isatty():
        raise ClerkDeskError("--overwrite replaces logins households may be using: run it on "
                             f"a terminal and type {CONFIRM_WORD}, or add --yes. Nothing was "
                             "changed.")
    print("--overwrite replaces the user names and PINs of existing logins, which households "
          "may be using (--dry-run shows how many).", file=sys.stderr)
    print(f"Type {CONFIRM_WORD} to go on: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def _carry_out(actor: StaffSession, job: BulkAssignJob, report: Path | None) -> int:
    token = CancelToken()
    try:
        with interrupt_cancels(token, "the current batch"):
            finished = bulk_assign.run_view(job.run(ProgressBar(job.title), token))
    except (Cancelled, KeyboardInterrupt):
        stopped = bulk_assign.get_run(actor, job.run_id)
        print(f"{stopped.summary}\nStopped after the last whole batch. Carry on with "
              f"`clerkdesk --as {actor.username} bulk-assign --resume`, or roll the run back "
              f"with `--undo {stopped.id}`.", file=sys.stderr)
        return EXIT_REFUSED
    print(finished.summary)
    if report is not None:
        _write_report(bulk_report.run_exceptions(actor, finished.id), report, finished.summary)
    elif finished.exceptions:
        print(f"Export them with --run {finished.id} --exceptions FILE.csv; once fixed, "
              f"assign them with --retry-exceptions {finished.id}.")
    return 0


def _dry_run(actor: StaffSession, options: AssignOptions, report: Path | None) -> int:
    token = CancelToken()
    try:
        with interrupt_cancels(token, "the current batch"):
            shown = bulk_assign.preview(actor, options, ProgressBar("Dry run"), token)
    except (Cancelled, KeyboardInterrupt):
        print("Dry run stopped; nothing was written.", file=sys.stderr)
        return EXIT_REFUSED
    _print_preview(shown)
    if report is not None:
        subtitle = (f"Dry run: {shown.households:,} households, {shown.assigned:,} logins to "
                    f"assign, {len(shown.exceptions):,} exceptions. Nothing was written.")
        _write_report(bulk_report.rows_from_decisions(shown.exceptions), report, subtitle)
    return 0


def _print_preview(shown: Preview) -> None:
    """Counts and user names only: a pattern PIN is in the decisions, and must stay there."""
    print(f"Dry run: nothing was written.\n"
          f"Households in scope:   {shown.households:,}\n"
          f"Logins to assign:      {shown.assigned:,}\n"
          f"Exceptions:            {len(shown.exceptions):,}")
    for reason, count in sorted(shown.by_reason.items(), key=lambda item: -item[1]):
        print(f"  {reason + ':':<30} {count:,}")
    if shown.live_logins_overwritten:
        print(f"Logins in use that would be replaced: {shown.live_logins_overwritten:,}")
    when = "minted when the credentials are sent" if shown.pins_minted_at_delivery \
        else "hashed at once; never shown"
    print(f"PINs: {shown.pin_description} ({when}).")
    if shown.sample:
        print("Sample user names:")
    for decision in shown.sample:
        target = decision.target
        print(f"  {decision.username:<24} {printable(target.person)} "
              f"(client {printable(target.client_id)})")


def printable(text: str) -> str:
    """Household data as it may be printed: a control character in a name (from an import,
    say) must not reach the terminal, where it could clear the screen or rewrite lines."""
    return "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)


def _list_runs(actor: StaffSession) -> int:
    views = bulk_assign.recent_runs(actor)
    if not views:
        print("No bulk assign runs yet.")
    for view in views:
        print(view.summary)
        print(f"  {describe(view.options)}")
    return 0


def describe(options: AssignOptions) -> str:
    """One line a supervisor can read back as the options of a run."""
    scope = options.scope
    parts = [f"scope {scope.kind}" + (f" ({', '.join(scope.pass_types)})"
                                      if scope.pass_types else "")]
    if scope.retry_of is not None:
        parts.append(f"exceptions of run {scope.retry_of}")
    parts += [f"user names {options.usernames}", f"PINs {options.pins}",
              f"collisions: {options.on_collision}"]
    flags = ((scope.every_member, "every member"), (options.only_with_email, "only with email"),
             (options.overwrite, "overwrite"), (not options.must_change, "no change at first "
                                                                          "sign-in"))
    return "; ".join(parts + [text for chosen, text in flags if chosen])


def _undo(actor: StaffSession, run_id: int) -> int:
    result = bulk_undo.undo_run(actor, run_id)
    print(f"Run {run_id} undone: {result.deleted:,} logins deleted, {result.restored:,} "
          f"restored, {len(result.kept):,} kept.")
    for kept in result.kept:
        print(f"  kept {printable(kept.username)} (household {kept.household_id}): "
              f"{printable(kept.why)}")
    return 0


def _export_run(actor: StaffSession, run_id: int, report: Path) -> int:
    view = bulk_assign.get_run(actor, run_id)
    _write_report(bulk_report.run_exceptions(actor, run_id), report, view.summary)
    return 0


# --- the exceptions report ---------------------------------------------------------------------

def _write_report(rows: list[ExceptionRow], path: Path, subtitle: str) -> None:
    try:
        if path.suffix.lower() == ".pdf":
            _write_pdf(bulk_report.report_html(REPORT_TITLE, subtitle, rows), path)
        else:
            bulk_report.write_csv(rows, path)
    except OSError as error:
        raise ClerkDeskError(f"Could not write the exceptions report “{path}”: "
                             f"{error.strerror or error}.") from None
    print(f"Exceptions report ({len(rows):,} rows): {path}")


def _write_pdf(html: str, path: Path) -> None:
    # Imported here, so Qt loads only when a PDF is asked for. Qt's text engine is the one
    # thing the CLI borrows from the desktop (the layer contracts allow exactly this module).
    from clerkdesk.ui.report_document import write_pdf

    write_pdf(html, path)
    if not path.is_file() or path.stat().st_size == 0:  # QPdfWriter only warns on failure
        raise ClerkDeskError(f"Could not write the exceptions report “{path}”.")
