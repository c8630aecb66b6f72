"""Import of an old portal's users (seed 002, Kennel Connection's "Import Existing Clients").

`read_file` decodes a CSV file, `guess_mapping` suggests which column holds which field,
`check_import` is the preview: every row checked as the import would write it, nothing
written. `start_import` returns the Job that writes the checked rows: all or nothing (one
transaction; any bad row and nothing is written), or skipping the bad rows (one transaction
per batch). Plain passwords are hashed with the site's recipe on every core and exist only
in memory until then; an old system's bcrypt hash is kept as it is, so the old password still
works. Accounts without either must choose a password (optionally through a set-password
email). The audit trail gets the file's name and the counts, never its content.
"""

import csv
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from peewee import IntegrityError, SqliteDatabase

from clerkdesk.models import (
    Household,
    SearchToken,
    WebAccount,
    database,
    utcnow,
)
from clerkdesk.models.search import TOKEN_LENGTH

from . import audit, case_notes, email_templates, search_index, tokens
from .account_store import RESET, account_by_id, address_of, merge_values
from .bulk import bulk_insert
from .bulk_report import safe_cell
from .email_delivery import DeliveryError, OutgoingEmail, build_message, mailer_from_settings
from .errors import ClerkDeskError, ValidationError
from .household_passwords import recipe
from .import_hashing import ParallelHasher, stored_old_hash
from .import_rows import (
    FIELDS,
    SECRET_FIELDS,
    Checked,
    ColumnMapping,
    ImportFile,
    ImportFileError,
    ImportRow,
    RowChecker,
    RowProblem,
    check_mapping,
    parse_import_bytes,
    read_import_file,
    shown,
    without_cyclic_gc,
)
from .import_rows import guess_mapping as _guess_mapping
from .jobs import Cancelled, CancelToken, Job, Progress, ProgressCallback
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting, password_policy
from .write_ahead_log import checkpoint_once

__all__ = [
    "EXCEPTION_HEADERS", "FIELDS", "ColumnMapping", "ImportCheck", "ImportFile",
    "ImportFileError", "ImportJob", "ImportOptions", "ImportResult", "RowProblem",
    "check_import", "guess_mapping", "parse_mapping", "read_file", "start_import",
    "write_exceptions_csv",
]

log = logging.getLogger(__name__)
EXCEPTION_HEADERS = ("Row", "Column", "Value", "Reason")
SAMPLE = 20
# Rows per transaction when there is little to hash. Large: every commit writes each index
# page the batch touched, and an import's rows touch pages all over the indexes.
WRITE_BATCH = 10_000
CATEGORY = "Web account"
# The welcome email ("choose your password") where this site has it, else the reset email.
SET_PASSWORD_TEMPLATE = getattr(email_templates, "WELCOME", email_templates.PASSWORD_RESET)
_ACCOUNT_FIELDS = [WebAccount.household, WebAccount.member, WebAccount.username,
                   WebAccount.username_key, WebAccount.email, WebAccount.password_hash,
                   WebAccount.must_change, WebAccount.password_source,
                   WebAccount.password_changed_at, WebAccount.credentials_delivered_at,
                   WebAccount.created_at, WebAccount.changed_at]
_TOKEN_FIELDS = [SearchToken.household, SearchToken.kind, SearchToken.token]
_WORD = re.compile(r"[a-z0-9]+")  # as search_index's words


# --- what the front ends see ----------------------------------------------------------------

@dataclass(frozen=True)
class ImportOptions:
    skip_bad_rows: bool = False  # False: all or nothing
    send_set_password: bool = False  # email accounts without a password a set-password link


@dataclass(frozen=True)
class SampleRow:
    """A preview row: what will be written, with the password only as "password"."""

    row: int
    client_id: str
    username: str
    email: str
    phone: str
    name: str
    credential: str  # "password", "old hash" or "none"


@dataclass(repr=False)
class ImportCheck:
    """The preview: counts, the first rows as mapped, and every problem. Holds the checked
    rows (with their plain passwords, in memory only) for the one import that uses it."""

    file_name: str
    encoding: str
    mapping: ColumnMapping
    rows_read: int
    bad_rows: int
    problems: list[RowProblem]
    sample: list[SampleRow]
    with_password: int
    with_old_hash: int
    without_password: int
    file_has_plain_passwords: bool
    rows: list[ImportRow] = field(default_factory=list)
    used: bool = False

    @property
    def good_rows(self) -> int:
        return len(self.rows)

    def summary(self) -> str:
        return (f"{self.rows_read:,} rows read from {self.file_name} ({self.encoding}): "
                f"{self.good_rows:,} can be imported, {self.bad_rows:,} have problems. Of "
                f"those to import, {self.with_password:,} bring a password (hashed on "
                f"import), {self.with_old_hash:,} the old system's hash and "
                f"{self.without_password:,} none (they must choose one).")

    def __repr__(self) -> str:
        return f"ImportCheck({self.file_name!r}, rows={self.rows_read}, bad={self.bad_rows})"


@dataclass
class ImportResult:
    file_name: str
    imported: int = 0
    skipped: int = 0  # bad rows left out
    with_password: int = 0
    with_old_hash: int = 0
    without_password: int = 0
    set_password_sent: int = 0
    set_password_unsent: int = 0  # no address, or the mail server refused
    file_had_plain_passwords: bool = False
    problems: list[RowProblem] = field(default_factory=list)  # taken meanwhile, at write time

    def summary(self) -> str:
        text = (f"{self.imported:,} web accounts imported from {self.file_name}"
                + (f", {self.skipped:,} rows skipped" if self.skipped else "") + ": "
                f"{self.with_password:,} with their password (now hashed), "
                f"{self.with_old_hash:,} with the old system's hash, "
                f"{self.without_password:,} without a password (they must choose one).")
        if self.set_password_sent or self.set_password_unsent:
            text += (f" Set-password emails: {self.set_password_sent:,} sent, "
                     f"{self.set_password_unsent:,} not sent.")
        return text

    @property
    def advice(self) -> str:
        """What to do with the file now; it matters when it held plain passwords."""
        if not self.file_had_plain_passwords:
            return ""
        return (f"“{self.file_name}” holds plain passwords. ClerkDesk stored only their "
                "hashes: delete the file now (and empty the recycle bin), and delete any "
                "copies of it, e.g. in email or downloads.")


# --- reading and checking -------------------------------------------------------------------

def read_file(actor: StaffSession, path: Path) -> ImportFile:
    require(actor, Permission.DATA_IMPORT)
    return read_import_file(Path(path))


def read_bytes(actor: StaffSession, name: str, data: bytes) -> ImportFile:
    require(actor, Permission.DATA_IMPORT)
    return parse_import_bytes(name, data)


def guess_mapping(headers: tuple[str, ...]) -> dict[str, str]:
    """field -> column, for the columns whose headers say what they hold."""
    return _guess_mapping(headers)


def parse_mapping(text: str, headers: tuple[str, ...] | None = None) -> dict[str, str]:
    """``client_id=Client,username=Login,…`` as typed on the command line; a column name may
    be matched without regard to case when `headers` are given."""
    columns: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        name, sep, column = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not column.strip():
            raise ValidationError("mapping", f"“{shown(part)}” is not FIELD=COLUMN.")
        if name not in FIELDS:
            raise ValidationError("mapping", f"There is no field “{shown(name)}”. Fields: "
                                  f"{', '.join(FIELDS)}.")
        columns[name] = _matching_header(column.strip(), headers)
    return columns


def _matching_header(column: str, headers: tuple[str, ...] | None) -> str:
    if headers is None or column in headers:
        return column
    same = [h for h in headers if h.casefold() == column.casefold()]
    return same[0] if len(same) == 1 else column


def check_import(actor: StaffSession, source: ImportFile, mapping: ColumnMapping,
                 report: ProgressCallback | None = None, cancel: CancelToken | None = None
                 ) -> ImportCheck:
    """The preview and the validation: every row checked, nothing written."""
    require(actor, Permission.DATA_IMPORT)
    checker = RowChecker(source, mapping, str(get_setting("phone.region")),
                         one_login_per_household=not get_setting("accounts.per_member"))
    checked, total = Checked(), len(source.rows)
    with without_cyclic_gc():
        for first_number, cells in checker.chunks():
            if cancel is not None:
                cancel.raise_if_cancelled()
            checker.check_chunk(first_number, cells, checked)
            if report is not None:
                report(Progress(checked.read, total,
                                f"{checked.read:,} of {total:,} rows checked"))
        return _check_result(source, mapping, checked)


def _check_result(source: ImportFile, mapping: ColumnMapping, checked: Checked) -> ImportCheck:
    kinds = [row.credential for row in checked.rows]
    return ImportCheck(
        source.name, source.encoding, mapping, checked.read, checked.bad_rows,
        checked.problems, [_sample(row) for row in checked.rows[:SAMPLE]],
        kinds.count("password"), kinds.count("old hash"), kinds.count("none"),
        _has_plain_passwords(source, mapping), checked.rows)


def _sample(row: ImportRow) -> SampleRow:
    return SampleRow(row.number, row.client_id, row.username, row.email, row.phone,
                     f"{row.first_name} {row.last_name}".strip(), row.credential)


def _has_plain_passwords(source: ImportFile, mapping: ColumnMapping) -> bool:
    header = mapping.columns.get("password")
    if header is None:
        return False
    column = source.headers.index(header)
    return any(len(row) > column and row[column] for row in source.rows)


def write_exceptions_csv(problems: list[RowProblem], path: Path) -> None:
    """The exceptions as a spreadsheet opens them: every cell text, none a formula."""
    try:
        with open(path, "w", newline="", encoding="utf-8-sig") as stream:
            writer = csv.writer(stream)
            writer.writerow(EXCEPTION_HEADERS)
            writer.writerows([safe_cell(p.row), safe_cell(p.column), safe_cell(p.value),
                              safe_cell(p.reason)] for p in problems)
    except OSError as error:
        raise ValidationError("file", f"Could not write “{path}”: "
                              f"{error.strerror or error}.") from None


# --- the import itself ----------------------------------------------------------------------

def start_import(actor: StaffSession, check: ImportCheck, options: ImportOptions
                 ) -> "ImportJob":
    """The job that writes what `check` found importable; refused before anything is written
    when the mode or the settings do not allow it."""
    require(actor, Permission.DATA_IMPORT)
    if options.send_set_password:
        require(actor, Permission.BULK_EMAIL)
        if not str(get_setting("portal.url")).strip():
            raise ValidationError("portal", "Set the portal address (Settings → portal.url) "
                                  "first: the set-password emails link to it.")
    if check.used:
        raise ValidationError("check", "This check has been imported already; check the file "
                              "again to import it again.")
    if check.problems and not options.skip_bad_rows:
        rows = "1 row has" if check.bad_rows == 1 else f"{check.bad_rows:,} rows have"
        raise ValidationError("rows", f"Nothing was imported: {rows} problems (see the "
                              "exceptions). Fix them in the file, or choose to skip the bad "
                              "rows.")
    if not check.rows:
        raise ValidationError("rows", "No row of the file can be imported; nothing was "
                              "imported.")
    check.used = True  # its plain passwords are dropped as they are hashed
    return ImportJob(actor, check, options)


class ImportJob(Job):
    title = "Import portal users"

    def __init__(self, actor: StaffSession, check: ImportCheck, options: ImportOptions) -> None:
        self.actor, self.check, self.options = actor, check, options
        self.hasher = ParallelHasher(recipe(password_policy()))

    def run(self, report: ProgressCallback, cancel: CancelToken) -> ImportResult:
        require(self.actor, Permission.DATA_IMPORT)  # a role may have changed since
        result = ImportResult(self.check.file_name, skipped=self.check.bad_rows,
                              file_had_plain_passwords=self.check.file_has_plain_passwords)
        try:
            with checkpoint_once(alongside=True), without_cyclic_gc():
                if self.options.skip_bad_rows:
                    self._write_all(result, report, cancel, per_batch=True)
                    self._audit(result, "finished")
                else:
                    with database.atomic():  # all or nothing: one transaction
                        self._write_all(result, report, cancel, per_batch=False)
                        self._audit(result, "finished")
        except Cancelled:
            self._cancelled(result)
        except ClerkDeskError:
            self._audit(result if self.options.skip_bad_rows else ImportResult(
                result.file_name, skipped=result.skipped), "failed")
            raise
        finally:
            for row in self.check.rows:
                row.secret = ""  # nothing plain outlives the job, cancelled or not
        if self.options.send_set_password:
            self._send_set_password_links(result, report, cancel)
        return result

    def _write_all(self, result: ImportResult, report: ProgressCallback, cancel: CancelToken,
                   *, per_batch: bool) -> None:
        total = len(self.check.rows)
        for batch, hashes in self.hasher.hashed_batches(self._batches()):
            cancel.raise_if_cancelled()
            if per_batch:
                self._write_committed(batch, hashes, result)
            else:
                self._write_or_refuse(batch, hashes, result)
            done = result.imported + len(result.problems)
            report(Progress(done, total, f"{result.imported:,} of {total:,} accounts "
                                         "imported"))

    def _batches(self) -> Iterator[list[ImportRow]]:
        """Batches that end after WRITE_BATCH rows or one round of hashing, whichever first."""
        batch, secrets = [], 0
        for row in self.check.rows:
            batch.append(row)
            secrets += bool(row.secret)
            if len(batch) >= WRITE_BATCH or secrets >= self.hasher.batch_size:
                yield batch
                batch, secrets = [], 0
        if batch:
            yield batch

    def _write_or_refuse(self, batch: list[ImportRow], hashes: dict[int, str],
                         result: ImportResult) -> None:
        try:
            with database.atomic():
                self._write(batch, hashes, result)
        except IntegrityError:
            raise ValidationError("rows", "A user name or household in the file was changed "
                                  "at another desk during the import; nothing was imported. "
                                  "Check the file again and import it again.") from None

    def _write_committed(self, batch: list[ImportRow], hashes: dict[int, str],
                         result: ImportResult) -> None:
        """One transaction for the batch; rows another desk took meanwhile become problems."""
        try:
            with database.atomic():
                self._write(batch, hashes, result)
        except IntegrityError:
            batch = self._drop_conflicts(batch, result)
            with database.atomic():
                self._write(batch, hashes, result)

    def _drop_conflicts(self, batch: list[ImportRow], result: ImportResult) -> list[ImportRow]:
        keys = {key for (key,) in WebAccount.select(WebAccount.username_key).where(
            WebAccount.username_key.in_([r.key for r in batch])).tuples()}
        households = {i for (i,) in Household.select(Household.id).where(
            Household.id.in_(list({r.household_id for r in batch}))).tuples()}
        kept, columns = [], self.check.mapping.columns
        for row in batch:
            if row.key in keys:
                result.problems.append(RowProblem(row.number, columns["username"],
                                                  shown(row.username), "Taken at another desk "
                                                  "during the import; this row was skipped."))
            elif row.household_id not in households:
                result.problems.append(RowProblem(row.number, columns["client_id"],
                                                  shown(row.client_id), "The household was "
                                                  "deleted during the import; this row was "
                                                  "skipped."))
            else:
                kept.append(row)
        return kept

    def _write(self, batch: list[ImportRow], hashes: dict[int, str],
               result: ImportResult) -> None:
        now = _cell_time(utcnow())
        # In user-name order, so the inserts into the indexes keyed by it touch neighbouring
        # pages rather than random ones (a large import is mostly index maintenance).
        batch = sorted(batch, key=lambda row: row.key)
        rows = [_account_row(row, _stored_hash(row, hashes), now) for row in batch]
        bulk_insert(WebAccount, _ACCOUNT_FIELDS, rows)
        bulk_insert(SearchToken, _TOKEN_FIELDS, _user_tokens(batch))
        self._trail(batch, now)
        kinds = Counter(row.credential for row in batch)
        result.with_password += kinds["password"]
        result.with_old_hash += kinds["old hash"]
        result.without_password += kinds["none"]
        result.imported += len(batch)

    def _trail(self, batch: list[ImportRow], now: datetime | str) -> None:
        """Per account an audit event and a case note, as `audit.record_many` and
        `case_notes` would write them, each made by one INSERT … SELECT over the batch's new
        accounts: the database builds the rows itself, instead of Python building and binding
        a tuple per row (half these tables' share of an import). The events' details have
        the keys "username" and "file" (no secret word, as audit's rule asks; a test holds
        them to it)."""
        mark = database.param
        keys = [row.key for row in batch]
        batch_accounts = (f'FROM "web_account" WHERE "username_key" IN '
                          f'({", ".join([mark] * len(keys))})')
        author = self.actor.username
        database.execute_sql(
            'INSERT INTO "audit_event" ("at", "actor", "action", "entity", "entity_id", '
            '"household_id", "details") '
            f'SELECT {mark}, {mark}, {mark}, {mark}, CAST("id" AS TEXT), '
            f'CAST("household_id" AS TEXT), {_details_sql(mark)} {batch_accounts}',
            [now, author, "web_account.import", "web_account", self.check.file_name, *keys])
        database.execute_sql(
            'INSERT INTO "case_note" ("household_id", "created_at", "author", "by_system", '
            '"category", "text") '
            f'SELECT "household_id", {mark}, {mark}, {mark}, {mark}, '
            f'{mark} || "username" || {mark} {batch_accounts}',
            [now, author, True, CATEGORY, "Web account “",
             f"” imported from {self.check.file_name} by {self.actor.label}.", *keys])

    def _audit(self, result: ImportResult, state: str) -> None:
        with database.atomic():
            audit.record(self.actor, f"import.users.{state}", "import", "",
                         file=self.check.file_name, encoding=self.check.encoding,
                         rows=self.check.rows_read, imported=result.imported,
                         skipped=result.skipped + len(result.problems),
                         kept_old_bcrypt=result.with_old_hash,
                         without_credential=result.without_password,
                         mode="skip bad rows" if self.options.skip_bad_rows else "all or nothing")

    def _cancelled(self, result: ImportResult) -> None:
        if not self.options.skip_bad_rows:
            result.imported = result.with_password = result.with_old_hash = 0
            result.without_password = 0
        self._audit(result, "cancelled")
        kept = (f" The {result.imported:,} accounts imported before it stopped are kept."
                if result.imported else " Nothing was imported.")
        raise Cancelled("The import was cancelled." + kept)

    # --- set-password emails, after the accounts are committed ---
    def _send_set_password_links(self, result: ImportResult, report: ProgressCallback,
                                 cancel: CancelToken) -> None:
        keys = [row.key for row in self.check.rows if row.credential == "none"]
        ids = _ids_for(keys)
        if not ids:
            return
        lifetime = timedelta(days=int(get_setting("security.temporary_password_days")))
        portal = str(get_setting("portal.url")).rstrip("/")
        with mailer_from_settings() as mailer:
            for done, account_id in enumerate(ids, start=1):
                if cancel.cancelled:
                    result.set_password_unsent += len(ids) - done + 1
                    break
                sent = self._send_link(mailer, account_id, portal, lifetime)
                result.set_password_sent += sent
                result.set_password_unsent += not sent
                report(Progress(done, len(ids), f"{done:,} of {len(ids):,} set-password "
                                                "emails"))
        with database.atomic():
            audit.record(self.actor, "import.users.set_password_emails", "import", "",
                         file=self.check.file_name, sent=result.set_password_sent,
                         not_sent=result.set_password_unsent)

    def _send_link(self, mailer, account_id: int, portal: str, lifetime: timedelta) -> bool:
        account = account_by_id(account_id)
        address = address_of(account)
        if not address:
            return False
        with database.atomic():
            secret = tokens.issue(RESET, lifetime, account_id=account.id)
        link = f"{portal}/reset?{urlencode({'token': secret})}"
        subject, body = email_templates.render(email_templates.get_template(SET_PASSWORD_TEMPLATE),
                                               merge_values(account, ResetLink=link))
        try:
            mailer.send(build_message(OutgoingEmail(address, subject, body)))
        except (DeliveryError, ValidationError) as error:
            log.warning("Set-password email for account %s not sent: %s", account.id, error)
            return False
        with database.atomic():
            case_notes.add_system_note(account.household_id, CATEGORY,
                                       f"Imported web account “{account.username}”: a link to "
                                       f"choose a password was emailed to {address}.",
                                       self.actor)
        return True


def _cell_time(moment: datetime) -> datetime | str:
    """`moment` as a cell of many rows: on SQLite the text its executemany would make of the
    datetime in every cell (``isoformat(" ")``, the same stored value), made once."""
    return moment.isoformat(" ") if isinstance(database.obj, SqliteDatabase) else moment


def _account_row(row: ImportRow, stored: str | None, now: datetime | str) -> tuple:
    """Old credentials keep working as the household's own; without any, the household
    must choose a password."""
    has_credential = stored is not None
    return (row.household_id, row.member_id, row.username, row.key,
            row.email if row.email_is_own else "", stored,
            not has_credential, "owner" if has_credential else "assigned",
            now if has_credential else None, now if has_credential else None, now, now)


def _stored_hash(row: ImportRow, hashes: dict[int, str]) -> str | None:
    if row.number in hashes:
        return hashes[row.number]
    return stored_old_hash(row.old_hash) if row.old_hash else None


def _user_tokens(batch: list[ImportRow]) -> list[tuple]:
    """The search words of each new login (households found by them at the desk): what
    `search_index.tokens_for` gives a user name alone — its key, and the key's letters and
    digits run together — made straight from the key the check computed, and the words of
    the login's own email when it has one. In word order, so the inserts walk the word index
    rather than jump about it."""
    rows = []
    for row in batch:
        key = row.key
        whole = key[:TOKEN_LENGTH]
        run_together = "".join(_WORD.findall(search_index.fold(key)))[:TOKEN_LENGTH]
        if whole:
            rows.append((row.household_id, "user", whole))
        if run_together and run_together != whole:
            rows.append((row.household_id, "user", run_together))
        if row.email_is_own and row.email:  # the desk finds the household by it too
            rows += [(row.household_id, "email", token) for token in
                     {word[:TOKEN_LENGTH] for word in search_index.email_tokens(row.email)}]
    rows.sort(key=lambda token_row: token_row[2])
    return rows


def _details_sql(mark: str) -> str:
    """The audit details {"username": …, "file": <the parameter>} built by the database
    (its JSON function escapes what a user name may hold)."""
    if isinstance(database.obj, SqliteDatabase):
        return f"json_object('username', \"username\", 'file', {mark})"
    return (f"CAST(json_build_object('username', \"username\", 'file', CAST({mark} AS TEXT))"
            " AS TEXT)")


def _ids_for(keys: list[str]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(keys), 500):
        ids += [i for (i,) in WebAccount.select(WebAccount.id).where(
            WebAccount.username_key.in_(keys[start:start + 500])).order_by(
            WebAccount.id).tuples()]
    return ids


def secret_columns(mapping: ColumnMapping) -> set[str]:
    """The file's columns that hold passwords or hashes: never shown, logged or stored."""
    return {mapping.columns[f] for f in SECRET_FIELDS if f in mapping.columns}


def mapping_problems(mapping: ColumnMapping, headers: tuple[str, ...]) -> str:
    """"" when the mapping can be used, else what to fix (for a wizard page)."""
    try:
        check_mapping(mapping, headers)
    except ValidationError as error:
        return error.message
    return ""
