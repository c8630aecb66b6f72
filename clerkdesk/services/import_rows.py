"""Reading an import file of existing portal users and checking it row by row.

A file is decoded (UTF-8 with or without BOM, UTF-16, cp1252), parsed as CSV and mapped onto
ClerkDesk's fields. Every row is checked as the import would write it: a row either becomes
an `ImportRow` or yields `RowProblem`s, each naming the row, the column, the value (shown
safely, never a password) and the reason. Cells are only ever text: a cell such as
``=cmd|'/c calc'!A0`` is a user name like any other, and is never evaluated.
"""

import csv
import gc
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from peewee import Field, Model

from clerkdesk.models import Household, Member, WebAccount, database

from .errors import ValidationError
from .households import normalise_phone
from .sign_up_matching import phone_key
from .usernames import MAX_LENGTH as USERNAME_MAX_LENGTH
from .usernames import normalise_username, username_key
from .validation import clean_text, fold_key, is_plain_address, normalise_email

# field -> label; the order is the order of the mapping page and the preview.
FIELDS = {
    "client_id": "Client ID",
    "username": "User name",
    "email": "Email",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "password": "Password (plain)",
    "password_hash": "Password hash (bcrypt)",
}
ALWAYS_REQUIRED = frozenset({"client_id", "username"})
SECRET_FIELDS = frozenset({"password", "password_hash"})
HIDDEN = "(hidden)"
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PASSWORD_LENGTH = 100_000
SHOWN_LENGTH = 60
CHUNK = 2_000  # rows looked up in the database at once

# What a header is likely called in an old system's export, by field (compared folded, with
# spaces, dots, dashes and underscores removed).
HEADER_GUESSES = {
    "client_id": ("clientid", "client", "clientnumber", "clientno", "customerid", "customer",
                  "customernumber", "accountnumber", "householdid", "familyid", "memberid"),
    "username": ("username", "login", "loginid", "loginname", "user", "userid", "webid",
                 "weblogin", "webuser", "webusername", "portalusername", "portallogin",
                 "onlineid", "olrusername", "olrlogin"),
    "email": ("email", "emailaddress", "mail", "emailaddr"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "cell", "cellphone"),
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "password": ("password", "pin", "webpin", "pass", "pwd", "plainpassword"),
    "password_hash": ("passwordhash", "hash", "pwdhash", "bcrypt", "hashedpassword",
                      "passhash", "encryptedpassword"),
}
# The old system's own bcrypt: "$2a$", "$2b$" or "$2y$", a two-digit cost, 53 characters.
OLD_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DELIMITERS = ",;\t|"
# The longest each plain-text field may be, for `clean_text`'s fast path in `_field`.
_TEXT_LIMITS = {"client_id": 40, "username": USERNAME_MAX_LENGTH, "phone": 40,
                "first_name": 100, "last_name": 100}
_LONGEST_PLAIN_KEY = 200  # as `usernames.username_key`: longer keys are digests


class ImportFileError(ValidationError):
    """The file as a whole cannot be read; nothing was checked or written."""

    def __init__(self, message: str) -> None:
        super().__init__("file", message)


@dataclass(frozen=True)
class ImportFile:
    """A decoded, parsed file; `rows` are the data rows, the first being row 2."""

    name: str
    encoding: str
    headers: tuple[str, ...]
    rows: list[list[str]] = field(repr=False)


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file holds each field, and which fields every row must fill."""

    columns: dict[str, str]  # field -> header in the file
    required: frozenset[str] = frozenset()

    @property
    def must_fill(self) -> frozenset[str]:
        return ALWAYS_REQUIRED | self.required


@dataclass(repr=False, slots=True)  # slots: a large file makes a hundred thousand of them
class ImportRow:
    """One row as it will be written. The plain password lives here, in memory only, until
    it is hashed; `repr` leaves it (and the old hash) out."""

    number: int
    household_id: int
    client_id: str
    username: str
    key: str
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    secret: str = ""
    old_hash: str = ""
    member_id: int | None = None
    # False when the email is the one the account's mail would go to anyway (its member's,
    # else its household's): the account then stores none of its own, and follows that
    # address when it changes.
    email_is_own: bool = True
    # What the row brings to sign in with: "password", "old hash" or "none". Kept apart from
    # `secret`, which is emptied as soon as the password is hashed.
    credential: str = field(init=False)

    def __post_init__(self) -> None:
        self.credential = "password" if self.secret else "old hash" if self.old_hash else "none"

    def __repr__(self) -> str:
        return (f"ImportRow(row={self.number}, household={self.household_id}, "
                f"username={self.username!r}, credential={self.credential!r})")


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    value: str  # already made safe to show: shortened, control characters replaced, no secret
    reason: str


# --- reading the file ---------------------------------------------------------------------------

def read_import_file(path: Path) -> ImportFile:
    """Decode and parse `path`, or an ImportFileError that says what is wrong with it."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError(f"“{path.name}” is larger than "
                                  f"{MAX_FILE_BYTES // 1024 // 1024} MB; split it first.")
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(f"Could not read “{path.name}”: "
                              f"{error.strerror or error}.") from None
    return parse_import_bytes(path.name, data)


def parse_import_bytes(name: str, data: bytes) -> ImportFile:
    text, encoding = decode(name, data)
    records = _parse_csv(name, text)
    headers = tuple(cell.strip() for cell in records[0])
    _check_headers(name, headers)
    rows = [row for row in records[1:] if "".join(row).strip()]  # blank lines dropped
    if not rows:
        raise ImportFileError(f"“{name}” has a header row but no users under it.")
    return ImportFile(name, encoding, headers, rows)


def decode(name: str, data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: a BOM decides, else UTF-8, else cp1252."""
    if not data.strip():
        raise ImportFileError(f"“{name}” is empty.")
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"),
                          (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return _decoded(name, data, encoding), "UTF-16" if "16" in encoding \
                else "UTF-8 (with BOM)"
    guessed = _utf16_without_bom(data)
    if guessed:
        return _decoded(name, data, guessed), "UTF-16"
    try:
        return _checked_text(name, data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decoded(name, data, "cp1252"), "Windows-1252"


def _utf16_without_bom(data: bytes) -> str:
    """UTF-16 text of mostly Latin letters has a NUL in every other byte."""
    sample = data[:4000]
    if len(sample) < 4:
        return ""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > len(sample) * 0.4 and even == 0:
        return "utf-16-le"
    if even > len(sample) * 0.4 and odd == 0:
        return "utf-16-be"
    return ""


def _decoded(name: str, data: bytes, encoding: str) -> str:
    try:
        return _checked_text(name, data.decode(encoding))
    except UnicodeDecodeError:
        raise ImportFileError(
            f"“{name}” is not a text file ClerkDesk can read: it is neither UTF-8, UTF-16 nor "
            "Windows-1252 (cp1252). Save it from the spreadsheet as “CSV UTF-8” and try "
            "again.") from None


def _checked_text(name: str, text: str) -> str:
    if "\x00" in text:
        raise ImportFileError(f"“{name}” holds binary data (NUL characters), not CSV text. "
                              "Save it from the spreadsheet as “CSV UTF-8” and try again.")
    return text


def _parse_csv(name: str, text: str) -> list[list[str]]:
    csv.field_size_limit(MAX_FILE_BYTES)  # a long cell is reported per row, not as a crash
    first_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileError(f"“{name}” is not a well-formed CSV file: {error}.") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ImportFileError(f"“{name}” has no header row: the first line must name the "
                              "columns.")
    return records


def _check_headers(name: str, headers: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for number, header in enumerate(headers, start=1):
        if not header:
            raise ImportFileError(f"Column {number} of “{name}” has no name in the header row.")
        if header.casefold() in seen:
            raise ImportFileError(f"“{name}” has two columns named “{shown(header)}”; rename "
                                  "one.")
        seen.add(header.casefold())


# --- mapping ------------------------------------------------------------------------------------

def guess_mapping(headers: tuple[str, ...]) -> dict[str, str]:
    """field -> header, for the headers whose names say what they hold."""
    by_plain = {_plain(header): header for header in headers}
    guessed: dict[str, str] = {}
    for name, guesses in HEADER_GUESSES.items():
        for guess in guesses:
            header = by_plain.get(guess)
            if header is not None and header not in guessed.values():
                guessed[name] = header
                break
    return guessed


def _plain(header: str) -> str:
    return re.sub(r"[\s._\-/#]+", "", fold_key(header))


def check_mapping(mapping: ColumnMapping, headers: tuple[str, ...]) -> None:
    """Every mapped column exists and every required field has a column."""
    unknown = [f for f in mapping.columns if f not in FIELDS]
    if unknown:
        raise ValidationError("mapping", f"There is no field “{shown(unknown[0])}”. Fields: "
                              f"{', '.join(FIELDS)}.")
    missing = [mapping.columns[f] for f in mapping.columns if mapping.columns[f] not in headers]
    if missing:
        raise ValidationError("mapping", f"The file has no column “{shown(missing[0])}”. Its "
                              f"columns are: {', '.join(shown(h) for h in headers)}.")
    unmapped = [f"“{FIELDS[f]}”" for f in FIELDS
                if f in mapping.must_fill and f not in mapping.columns]
    if unmapped:
        raise ValidationError("mapping", f"Choose a column for {' and '.join(unmapped)}: "
                              "every row needs it.")
    doubled = {h for h in mapping.columns.values() if list(mapping.columns.values()).count(h) > 1}
    if doubled:
        raise ValidationError("mapping", f"The column “{shown(doubled.pop())}” is chosen for two "
                              "fields; each column can fill one field.")


# --- showing a value safely ---------------------------------------------------------------------

def shown(value: str, column_field: str = "") -> str:
    """A cell as a report may show it: never a secret, short, without control characters."""
    if column_field in SECRET_FIELDS:
        return HIDDEN if value else ""
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", value)
    if len(text) > SHOWN_LENGTH:
        return f"{text[:SHOWN_LENGTH]}… ({len(value):,} characters)"
    return text


# --- checking rows ------------------------------------------------------------------------------

@dataclass
class Checked:
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    bad_rows: int = 0
    read: int = 0


class RowChecker:
    """Checks rows in file order; what earlier rows claimed (user names, households) counts
    against later ones, as the import would write them."""

    def __init__(self, source: ImportFile, mapping: ColumnMapping, region: str,
                 one_login_per_household: bool) -> None:
        check_mapping(mapping, source.headers)
        self.source, self.mapping, self.region = source, mapping, region
        self.one_per_household = one_login_per_household
        self.index = {name: source.headers.index(header)
                      for name, header in mapping.columns.items()}
        self.width = len(source.headers)
        self.must_fill = mapping.must_fill
        # (field, column index, cleaner, longest plain text or None), in mapping order
        self.fields = [(name, self.index[name], _CLEANERS[name], _TEXT_LIMITS.get(name))
                       for name in mapping.columns]
        self.keys_in_file: dict[str, int] = {}  # username key -> first row
        self.households_in_file: dict[int, int] = {}  # household -> first row
        self.rows_seen: dict[tuple[str, ...], int] = {}  # whole row -> first row

    def chunks(self) -> Iterator[tuple[int, list[list[str]]]]:
        rows = self.source.rows
        for start in range(0, len(rows), CHUNK):
            yield start + 2, rows[start:start + CHUNK]

    def check_chunk(self, first_number: int, cells: list[list[str]], into: Checked) -> None:
        cleaned = [self._clean(first_number + i, row) for i, row in enumerate(cells)]
        found = _Lookups.load([c for c, _, _ in cleaned if c is not None],
                              {client for _, _, client in cleaned if client},
                              self._wants_members())
        for (values, problems, client_id), row in zip(cleaned, cells, strict=True):
            into.read += 1
            number = values.number if values else problems[0].row
            if values is not None:
                problems = self._against_others(values, row, found)
            elif client_id and client_id not in found.households:
                problems.append(self._problem(number, "client_id", client_id,
                                              "No household has this client ID."))
            if problems:
                into.problems.extend(sorted(problems, key=self._column_order))
                into.bad_rows += 1
            else:
                into.rows.append(values)
                self._claim(values)
            self.rows_seen.setdefault(tuple(row), number)

    def _column_order(self, problem: RowProblem) -> int:
        headers = self.source.headers
        return headers.index(problem.column) if problem.column in headers else -1

    def _wants_members(self) -> bool:
        return any(f in self.mapping.columns for f in ("phone", "first_name", "last_name"))

    def _clean(self, number: int, row: list[str]
               ) -> tuple[ImportRow | None, list[RowProblem], str]:
        """The row's values, or its problems and the client ID (when that one is fine)."""
        problems: list[RowProblem] = []
        if len(row) > self.width:
            problems.append(RowProblem(number, "(whole row)", shown(",".join(row[self.width:])),
                                       f"The row has {len(row)} cells but the header names "
                                       f"{self.width} columns (an unquoted comma?)."))
        values, cells = {}, len(row)
        for name, index, cleaner, limit in self.fields:
            raw = row[index] if index < cells else ""
            if limit is not None and raw.isascii() and raw.isprintable():
                # Printable ASCII is NFC and has no control character: `clean_text` would
                # only trim it and check its length.
                text = raw.strip()
                if text and len(text) <= limit:
                    values[name] = text
                    continue
            try:
                values[name] = self._field(name, raw, cleaner)
            except ValidationError as error:
                problems.append(self._problem(number, name, raw, error.message))
        if not problems and values.get("password") and values.get("password_hash"):
            problems.append(self._problem(number, "password_hash", values["password_hash"],
                                          "The row has both a plain password and a hash; "
                                          "keep one of them."))
        if problems:
            if values.get("phone"):  # a rejected row reports all it needs fixed
                problems += self._phone_number_problems(number, values["phone"])
            return None, problems, values.get("client_id", "")
        username = values["username"]
        key = (username.lower() if username.isascii() and len(username) <= _LONGEST_PLAIN_KEY
               else username_key(username))  # NFKC and casefold of ASCII: lower()
        return ImportRow(number, 0, values["client_id"], username, key,
                         values.get("email", ""),
                         values.get("phone", ""), values.get("first_name", ""),
                         values.get("last_name", ""), values.get("password", ""),
                         values.get("password_hash", "")), [], values["client_id"]

    def _problem(self, number: int, name: str, raw: str, reason: str) -> RowProblem:
        return RowProblem(number, self.mapping.columns[name], shown(raw, name), reason)

    def _field(self, name: str, raw: str, cleaner=None) -> str:
        if name in self.must_fill and not raw.strip():
            raise ValidationError(name, f"The {FIELDS[name].lower()} is empty; every row needs "
                                  "one.")
        return (cleaner or _CLEANERS[name])(self, raw)

    def _against_others(self, row: ImportRow, cells: list[str], found: "_Lookups"
                        ) -> list[RowProblem]:
        number, problems = row.number, []
        same = self.rows_seen.get(tuple(cells))
        if same is not None:
            return [RowProblem(number, "(whole row)", "", f"The same row as row {same}.")]
        household = found.households.get(row.client_id)
        if household is None:
            problems.append(self._problem(number, "client_id", row.client_id,
                                          "No household has this client ID."))
        first = self.keys_in_file.get(row.key)
        if first is not None:
            problems.append(self._problem(number, "username", row.username,
                                          f"Row {first} has the same user name (user names "
                                          "ignore upper and lower case)."))
        elif row.key in found.taken_keys:
            problems.append(self._problem(number, "username", row.username,
                                          "This user name is already taken in ClerkDesk."))
        phones = _stored_forms(row.phone) if row.phone else frozenset()
        if household is not None:
            row.household_id = household
            row.member_id = found.member_for(row, phones)
            row.email_is_own = row.email.casefold() != found.address_for(row).casefold()
            problems += self._household_problems(row, found)
        if row.phone and not (row.household_id and found.phone_on_file(row, phones)):
            # A phone the household has on file (a member with the same digits) was checked
            # at the desk. An old portal's users mostly gave the numbers the desk holds, and
            # parsing one costs more than the rest of the row's check.
            problems += self._phone_number_problems(number, row.phone)
        return problems

    def _phone_number_problems(self, number: int, text: str) -> list[RowProblem]:
        """A problem unless phonenumbers finds `text` (already cleaned) a possible number.
        Only its digits are used (to find the member), so the formatting
        `normalise_phone` adds (two-thirds of its cost) is left out; it is called only to
        word the refusal as the desk does."""
        try:
            number_found = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            number_found = None
        if number_found is None or not phonenumbers.is_possible_number(number_found):
            try:
                normalise_phone("phone", text, self.region)
            except ValidationError as error:
                return [self._problem(number, "phone", text, error.message)]
        return []

    def _household_problems(self, row: ImportRow, found: "_Lookups") -> list[RowProblem]:
        if not self.one_per_household:
            return []
        first = self.households_in_file.get(row.household_id)
        if first is not None:
            return [self._problem(row.number, "client_id", row.client_id,
                                  f"Row {first} is a login for the same household; a "
                                  "household has one web account.")]
        existing = found.accounts.get(row.household_id)
        if existing is not None:
            return [self._problem(row.number, "client_id", row.client_id,
                                  f"This household already has the web account "
                                  f"“{shown(existing)}”.")]
        return []

    def _claim(self, row: ImportRow) -> None:
        self.keys_in_file[row.key] = row.number
        self.households_in_file.setdefault(row.household_id, row.number)

    # --- one field each ---
    def _client_id(self, raw: str) -> str:
        return clean_text("client ID", raw, max_length=40)

    def _username(self, raw: str) -> str:
        return normalise_username(raw)

    def _email(self, raw: str) -> str:
        text = raw.strip()
        if not text:
            return ""
        plain = len(text) <= 320 and text.isascii()
        if plain and is_plain_address(text):
            return text
        try:
            normalised = normalise_email("email", text)
        except ValidationError as error:  # the value is in its own column of the report
            why = error.message.rpartition("valid email address: ")[2]
            raise ValidationError("email", f"Not a valid email address: {why}") from None
        return text if plain else normalised

    def _phone_text(self, raw: str) -> str:
        """A phone's text; whether it is a phone number waits for the household lookup
        (`_against_others`)."""
        return clean_text("phone", raw, max_length=40)

    def _name(self, raw: str) -> str:
        return clean_text("name", raw, max_length=100)

    def _password(self, raw: str) -> str:
        # The old system's password exactly as it was: spaces and case kept.
        if len(raw) > MAX_PASSWORD_LENGTH:
            raise ValidationError("password", f"The password is too long: {len(raw):,} "
                                  f"characters, at most {MAX_PASSWORD_LENGTH:,}.")
        if "\x00" in raw:
            raise ValidationError("password", "The password contains a NUL character.")
        return raw

    def _password_hash(self, raw: str) -> str:
        text = raw.strip()
        if text and not OLD_BCRYPT.fullmatch(text):
            raise ValidationError("password hash", "Not a bcrypt hash ($2a$, $2b$ or $2y$ "
                                  "with its cost and 53 characters); other kinds of hash "
                                  "cannot be imported.")
        return text


_CLEANERS = {
    "client_id": RowChecker._client_id, "username": RowChecker._username,
    "email": RowChecker._email, "phone": RowChecker._phone_text,
    "first_name": RowChecker._name, "last_name": RowChecker._name,
    "password": RowChecker._password, "password_hash": RowChecker._password_hash,
}


@dataclass
class _Lookups:
    """What the database says about one chunk of rows, asked all at once."""

    households: dict[str, int]  # client ID -> household
    taken_keys: set[str]
    accounts: dict[int, str]  # household -> a user name it already has
    members: dict[int, list[tuple[int, str, str, str]]]  # household -> (id, first, last, digits)
    household_emails: dict[int, str]  # household -> its email ("" for none)
    member_emails: dict[int, str]  # member -> its email, for members that have one

    @classmethod
    def load(cls, rows: list[ImportRow], more_client_ids: set[str], with_members: bool
             ) -> "_Lookups":
        client_ids = {r.client_id for r in rows} | more_client_ids
        households, household_emails, member_emails = {}, {}, {}
        for client_id, household, email in rows_where_in(
                Household, (Household.client_id, Household.id, Household.email),
                Household.client_id, client_ids):
            households[client_id] = household
            household_emails[household] = email or ""
        taken = {key for (key,) in rows_where_in(WebAccount, (WebAccount.username_key,),
                                                 WebAccount.username_key,
                                                 {r.key for r in rows})}
        ids = set(households.values())
        accounts = dict(rows_where_in(WebAccount, (WebAccount.household, WebAccount.username),
                                      WebAccount.household, ids))
        members: dict[int, list[tuple[int, str, str, str]]] = {}
        if with_members:
            for member, household, first, last, digits, email in rows_where_in(
                    Member, (Member.id, Member.household, Member.first_name, Member.last_name,
                             Member.phone_digits, Member.email), Member.household, ids):
                if email:
                    member_emails[member] = email
                # casefold, not fold_key: both sides are NFC already (clean_text), and
                # NFKC on every member's name would cost more than the query.
                person = (member, first.casefold(), last.casefold(), digits)
                people = members.get(household)
                if people is None:
                    members[household] = [person]
                else:
                    people.append(person)
        return cls(households, taken, accounts, members, household_emails, member_emails)

    def address_for(self, row: ImportRow) -> str:
        """Where the account's mail would go without an address of its own (as
        `account_store.address_of`): its member's email, else its household's."""
        member_email = self.member_emails.get(row.member_id) if row.member_id else None
        return member_email or self.household_emails.get(row.household_id, "")

    def phone_on_file(self, row: ImportRow, phones: frozenset[str]) -> bool:
        """Whether a member of the row's household has one of `phones` (`_stored_forms` of
        the row's phone)."""
        return any(person[3] in phones for person in self.members.get(row.household_id, ()))

    def member_for(self, row: ImportRow, phones: frozenset[str]) -> int | None:
        """The household's member this login is for, when the row names exactly one (by
        `phones`, the `_stored_forms` of its phone, else by name)."""
        people = self.members.get(row.household_id)
        if not people:
            return None
        if phones:
            matches = [p[0] for p in people if p[3] in phones]
            if len(matches) == 1:
                return matches[0]
        first, last = row.first_name.casefold(), row.last_name.casefold()
        if first or last:
            matches = [p[0] for p in people if p[1] == first and p[2] == last]
            if len(matches) == 1:
                return matches[0]
        return None


def _stored_forms(phone: str) -> frozenset[str]:
    """The members' phone_digits that are `phone`: its digits, a North American trunk 1
    aside ("+1 808 …" is "(808) …"), as sign-up matching compares them (`phone_key`). Asked
    of the file's phone, not of every member's, which a file without phones would pay for."""
    key = phone_key(phone)
    if not key:
        return frozenset()
    return frozenset((key, "1" + key)) if len(key) == 10 else frozenset((key,))


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Python's cycle collector paused for a bulk step. Checking and writing a large file
    keep hundreds of thousands of rows, tuples and strings alive, none of them in a cycle;
    the collector would walk them all again each time the heap grew by a quarter, a seventh
    of an import's time. Reference counting still frees everything as usual (the pause is
    process-wide, so other threads' cycles merely wait those seconds); the collector is
    switched back on (if it was on) however the step ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rows_where_in(model: type[Model], fields: tuple[Field, ...], key: Field,
                  values: set) -> list[tuple]:
    """The `fields` of the rows whose `key` is one of `values`. Plain SQL with one parameter
    per value: peewee builds a node for each value of an IN list, which costs more than the
    query itself when a chunk asks about thousands."""
    if not values:
        return []
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([database.param] * len(values))
    sql = (f'SELECT {columns} FROM "{model._meta.table_name}" '
           f'WHERE "{key.column_name}" IN ({marks})')
    return database.execute_sql(sql, list(values)).fetchall()
