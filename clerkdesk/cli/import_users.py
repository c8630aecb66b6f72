"""`clerkdesk --as STAFF import users FILE …`: import an old portal's users from a CSV file.

The file is checked first and the preview printed (counts, the first rows as mapped, the
problems by reason); --dry-run stops there. Without --skip-bad-rows one bad row means nothing
is imported. Plain passwords in the file are hashed and never stored, printed or logged.
"""

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from clerkdesk.services import imports
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.import_rows import FIELDS
from clerkdesk.services.imports import ColumnMapping, ImportCheck, ImportOptions, ImportResult
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.permissions import Permission, require
from clerkdesk.services.session import StaffSession

from .bulk_assign import printable
from .terminal import ProgressBar, interrupt_cancels

EXIT_REFUSED = 1  # as in app.py
SAMPLE_SHOWN = 5
REASONS_SHOWN = 10
DESCRIPTION = """\
Import the users of an old web portal (Kennel Connection's "Import Existing Clients") from a
CSV file: one row per login, with the household's client ID and the user name, and optionally
email, phone, first and last name, and the old password (plain, hashed on import) or the old
system's bcrypt hash ($2a$/$2b$/$2y$, kept so the old password still works).
Fields: """ + ", ".join(FIELDS) + "."
EPILOG = """\
examples:
  clerkdesk --as sam import users olr.csv --dry-run --exceptions problems.csv
  clerkdesk --as sam import users olr.csv --map client_id=Client,username=Login,password=Pwd
  clerkdesk --as sam import users olr.csv --skip-bad-rows --send-set-password
Without --map the columns are guessed from the header names (the preview shows the guess).
"""


def add_import_command(commands) -> None:
    group = commands.add_parser("import", help="import data from another system")
    actions = group.add_subparsers(title="import commands", metavar="WHAT", required=True)
    sub = actions.add_parser("users", help="import an old portal's users from a CSV file",
                             description=DESCRIPTION, epilog=EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("file", type=Path, metavar="FILE", help="the CSV file")
    sub.add_argument("--map", metavar="FIELD=COLUMN,…", dest="mapping",
                     help="which column holds each field (default: guessed from the headers)")
    sub.add_argument("--require", metavar="FIELD,…", default="",
                     help="fields every row must fill besides client_id and username, e.g. email")
    sub.add_argument("--skip-bad-rows", action="store_true",
                     help="import the good rows and skip the bad ones (default: all or nothing)")
    sub.add_argument("--dry-run", action="store_true", help="check and preview; write nothing")
    sub.add_argument("--exceptions", metavar="FILE.csv", type=csv_path,
                     help="write the rows with problems to FILE.csv")
    sub.add_argument("--send-set-password", action="store_true",
                     help="email accounts without a password a link to choose one")
    sub.set_defaults(handler=import_users_command)


def csv_path(text: str) -> Path:
    """--exceptions: refused before any work rather than after a long import."""
    path = Path(text).expanduser()
    if path.suffix.lower() != ".csv":
        raise argparse.ArgumentTypeError(f"the exceptions are written to a .csv file, not "
                                         f"“{text[:80]}”")
    if not path.parent.is_dir() or path.is_dir() or not os.access(path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write “{text[:80]}”")
    return path


def import_users_command(args: argparse.Namespace, actor: StaffSession | None) -> int:
    require(actor, Permission.DATA_IMPORT)
    source = imports.read_file(actor, args.file)
    mapping = _mapping(args, source.headers)
    token = CancelToken()
    try:
        with interrupt_cancels(token, "the check"):
            check = imports.check_import(actor, source, mapping, ProgressBar("Checking"), token)
    except (Cancelled, KeyboardInterrupt):
        print("Check stopped; nothing was imported.", file=sys.stderr)
        return EXIT_REFUSED
    print_preview(check)
    if args.exceptions is not None:
        _write_exceptions(check.problems, args.exceptions)
    if args.dry_run:
        print("Dry run: nothing was imported.")
        _advise(check.file_has_plain_passwords, check.file_name)
        return 0
    options = ImportOptions(skip_bad_rows=args.skip_bad_rows,
                            send_set_password=args.send_set_password)
    return _run(actor, check, options, args.exceptions)


def _mapping(args: argparse.Namespace, headers: tuple[str, ...]) -> ColumnMapping:
    if args.mapping:
        columns = imports.parse_mapping(args.mapping, headers)
    else:
        columns = imports.guess_mapping(headers)
        guessed = ", ".join(f"{name}={column}" for name, column in columns.items())
        print(f"Columns guessed from the headers (use --map to choose): "
              f"{printable(guessed) or '(none)'}")
    required = frozenset(f.strip() for f in args.require.split(",") if f.strip())
    unknown = required - set(FIELDS)
    if unknown:
        raise ClerkDeskError(f"--require: there is no field “{printable(sorted(unknown)[0])}”."
                             f" Fields: {', '.join(FIELDS)}.")
    return ColumnMapping(columns, required)


def print_preview(check: ImportCheck) -> None:
    """Counts, the first rows as they will be written and the problems by reason; a password
    is only ever shown as the word "password"."""
    print(f"File:                  {printable(check.file_name)} ({check.encoding})\n"
          f"Rows read:             {check.rows_read:,}\n"
          f"Rows to import:        {check.good_rows:,}\n"
          f"  with a password:     {check.with_password:,} (hashed on import)\n"
          f"  with an old hash:    {check.with_old_hash:,} (kept: the old password works)\n"
          f"  without a password:  {check.without_password:,} (must choose one)\n"
          f"Rows with problems:    {check.bad_rows:,}")
    for reason, count in Counter(_reason_kind(p.reason) for p in check.problems).most_common(
            REASONS_SHOWN):
        print(f"  {count:>6,}  {printable(reason)}")
    if check.sample:
        print("First rows as they will be imported:")
    for row in check.sample[:SAMPLE_SHOWN]:
        print(f"  row {row.row:<6} client {printable(row.client_id):<12} "
              f"{printable(row.username):<24} {printable(row.email):<28} {row.credential}")
    for problem in check.problems[:SAMPLE_SHOWN]:
        print(f"  row {problem.row:<6} {printable(problem.column)}: "
              f"“{printable(problem.value)}” — {printable(problem.reason)}")
    if len(check.problems) > SAMPLE_SHOWN:
        print(f"  …and {len(check.problems) - SAMPLE_SHOWN:,} more problems "
              "(--exceptions FILE.csv lists them all).")


def _reason_kind(reason: str) -> str:
    """Reasons grouped for counting: "Row 12 has the same user name" → "Row N has …"."""
    return " ".join("N" if word.isdigit() else word for word in reason.split())


def _run(actor: StaffSession, check: ImportCheck, options: ImportOptions,
         report: Path | None) -> int:
    job = imports.start_import(actor, check, options)
    token = CancelToken()
    try:
        with interrupt_cancels(token, "the current batch"):
            result = job.run(ProgressBar(job.title), token)
    except (Cancelled, KeyboardInterrupt) as error:
        print(str(error) or "Interrupted.", file=sys.stderr)
        _advise(check.file_has_plain_passwords, check.file_name)
        return EXIT_REFUSED
    print(result.summary())
    if result.problems and report is not None:
        _write_exceptions(check.problems + result.problems, report)
    _advise_after(result)
    return 0


def _advise_after(result: ImportResult) -> None:
    if result.advice:
        print(f"\nAdvice: {printable(result.advice)}")


def _advise(had_passwords: bool, name: str) -> None:
    if had_passwords:
        print(f"\nAdvice: “{printable(name)}” holds plain passwords. Delete it (and its "
              "copies) as soon as the import is done.")


def _write_exceptions(problems: list, path: Path) -> None:
    imports.write_exceptions_csv(problems, path)
    print(f"Exceptions ({len(problems):,} rows): {path}")
