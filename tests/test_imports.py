"""Importing an old portal's users (seed 002): reading, checking, both modes, and no plain
password from the file anywhere afterwards. On SQLite and on PostgreSQL."""

import csv
import json
import logging

import bcrypt
import pytest

from clerkdesk.models import AuditEvent, CaseNote, Household, Member, SearchToken, WebAccount
from clerkdesk.services import (
    household_search,
    import_hashing,
    imports,
    passwords,
    portal,
    portal_accounts,
)
from clerkdesk.services.account_store import address_of
from clerkdesk.services.errors import PermissionDenied, ValidationError
from clerkdesk.services.import_rows import HIDDEN
from clerkdesk.services.imports import ColumnMapping, ImportFileError, ImportOptions
from clerkdesk.services.jobs import Cancelled, CancelToken
from clerkdesk.services.portal import Outcome
from clerkdesk.services.portal_accounts import AccountFilter
from tests.conftest import stored_bytes

HEADER = "Client,Login,E-mail,Phone,First Name,Last Name,Password,Hash"
MAPPING = ColumnMapping({"client_id": "Client", "username": "Login", "email": "E-mail",
                         "phone": "Phone", "first_name": "First Name",
                         "last_name": "Last Name", "password": "Password",
                         "password_hash": "Hash"})
OLD_PASSWORD = "Rex-and-Fido-1987"  # the household's password in the old portal (hashed there)
PLAIN_PASSWORDS = ("pl41n-Kennel-Secret!", "Zz-second-plain-pw")
FORMULA = "=cmd|'/c calc'!A0"


@pytest.fixture
def kennel(db):
    """Four households with client IDs 1001–1004; the first has two members."""
    ids = {}
    for number, name in ((1001, "O'Brien"), (1002, "Ng"), (1003, "García"), (1004, "Smith")):
        home = Household.create(client_id=str(number), name=name,
                                email=f"{name[:2].lower()}@example.org")
        Member.create(household=home, first_name="Ann", last_name=name, is_primary=True,
                      phone="303 555 0101", phone_digits=f"30355501{number % 100:02d}")
        ids[number] = home.id
    Member.create(household=ids[1001], first_name="Bo", last_name="O'Brien")
    return ids


def old_hash(password: str = OLD_PASSWORD, prefix: str = "$2b$") -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return prefix + made[4:]


def write(tmp_path, lines, name="olr-users.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding, newline="")
    return path


def check(actor, path, mapping=MAPPING):
    return imports.check_import(actor, imports.read_file(actor, path), mapping)


def run(actor, checked, **options):
    job = imports.start_import(actor, checked, ImportOptions(**options))
    return job.run(lambda progress: None, CancelToken())


# --- reading the file ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,label", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (with BOM)"),
                                            ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"),
                                            ("cp1252", "Windows-1252")])
def test_encodings_are_detected(supervisor, kennel, tmp_path, encoding, label):
    path = write(tmp_path, ["Client,Login,Last Name", "1003,jose,García Ñúñez"], encoding=encoding)
    source = imports.read_file(supervisor, path)
    assert source.encoding == label
    assert source.rows == [["1003", "jose", "García Ñúñez"]]


@pytest.mark.parametrize("data,message", [
    (b"", "is empty"),
    (b"Client,Login\n1001,\x00\x01\x02bin\n", "binary data"),
    (b"Client,Login\n1001,\x81\x8d\x8f\x90\x9d\n", "neither UTF-8, UTF-16 nor Windows-1252"),
    (b"Client,Login\n", "no users under it"),
    (b"Client,,Login\n1001,x,y\n", "Column 2"),
    (b"Login,login\nx,y\n", "two columns named"),
])
def test_unreadable_files_get_a_clear_error(supervisor, tmp_path, data, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message):
        imports.read_file(supervisor, path)


def test_missing_columns_and_unmapped_required_fields_are_refused(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login", "1001,obrien"])
    source = imports.read_file(supervisor, path)
    with pytest.raises(ValidationError, match="The file has no column “E-mail”"):
        imports.check_import(supervisor, source, ColumnMapping({"client_id": "Client",
                                                                "username": "Login",
                                                                "email": "E-mail"}))
    with pytest.raises(ValidationError, match="User name"):
        imports.check_import(supervisor, source, ColumnMapping({"client_id": "Client"}))
    with pytest.raises(ValidationError, match="Email"):
        imports.check_import(supervisor, source, ColumnMapping(
            {"client_id": "Client", "username": "Login"}, frozenset({"email"})))


def test_columns_are_guessed_from_the_headers():
    headers = ("Customer #", "Web ID", "Email Address", "Cell", "First", "Surname", "PIN",
               "Password Hash", "Notes")
    assert imports.guess_mapping(headers) == {
        "client_id": "Customer #", "username": "Web ID", "email": "Email Address",
        "phone": "Cell", "first_name": "First", "last_name": "Surname", "password": "PIN",
        "password_hash": "Password Hash"}
    assert imports.parse_mapping("client_id=client,username=Web ID", headers) == {
        "client_id": "client", "username": "Web ID"}


# --- checking rows ------------------------------------------------------------------------------

def test_preview_counts_and_first_rows_never_show_a_password(supervisor, kennel, tmp_path):
    path = write(tmp_path, [HEADER,
                            f"1001,obrien,s@example.org,303-555-0101,Ann,O'Brien,"
                            f"{PLAIN_PASSWORDS[0]},",
                            f"1002,jng,,,,,,{old_hash()}",
                            "1003,garcia,,,,,,"])
    checked = check(supervisor, path)
    assert (checked.rows_read, checked.good_rows, checked.bad_rows) == (3, 3, 0)
    assert (checked.with_password, checked.with_old_hash, checked.without_password) == (1, 1, 1)
    assert [(s.username, s.credential) for s in checked.sample] == [
        ("obrien", "password"), ("jng", "old hash"), ("garcia", "none")]
    assert checked.sample[0].phone == "303-555-0101"
    assert checked.file_has_plain_passwords
    shown = repr(checked) + repr(checked.rows) + repr(checked.sample) + checked.summary()
    assert PLAIN_PASSWORDS[0] not in shown and "$2b$" not in shown


def test_bad_values_become_exceptions_with_row_column_and_reason(supervisor, kennel, tmp_path):
    long_value = "x" * 10_000
    path = write(tmp_path, [
        HEADER,
        "1001,ok-user,not-an-email,,,,,",               # 2: email
        "1002,phone-user,,12,,,,",                       # 3: phone
        f"1003,{long_value},,,,,,",                      # 4: 10,000-character user name: fine
        f"1004,{long_value}x,,,,,,",                     # 5: 10,001 characters
        f"9999,{long_value}y,{long_value}@example.org,,,{long_value},,",  # 6: several
        "1001,hash-user,,,,,,$1$md5$notbcrypt",          # 7: not a bcrypt hash
        f"1002,both,,,,,{PLAIN_PASSWORDS[1]},{old_hash()}",  # 8: both
        "1003,,,,,,,",                                   # 9: empty user name
        "1004,extra,,,,,,,surplus",                      # 10: a cell too many
    ])
    checked = check(supervisor, path)
    by_row = {}
    for problem in checked.problems:
        by_row.setdefault(problem.row, []).append(problem)
    assert sorted(by_row) == [2, 3, 5, 6, 7, 8, 9, 10]
    assert "Not a valid email address" in by_row[2][0].reason and by_row[2][0].column == "E-mail"
    assert "not a phone number" in by_row[3][0].reason
    assert "at most 10,000" in by_row[5][0].reason
    assert by_row[5][0].value.endswith("(10,001 characters)") and len(by_row[5][0].value) < 100
    assert {p.column for p in by_row[6]} >= {"Client", "Login", "E-mail", "Last Name"}
    assert "Not a bcrypt hash" in by_row[7][0].reason and by_row[7][0].value == HIDDEN
    assert "both a plain password and a hash" in by_row[8][0].reason
    assert by_row[8][0].value == HIDDEN
    assert "empty" in by_row[9][0].reason
    assert "9 cells" in by_row[10][0].reason
    assert [r.number for r in checked.rows] == [4]
    assert PLAIN_PASSWORDS[1] not in repr(checked.problems)


def test_formula_cells_are_kept_as_text_and_exported_safely(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login,E-mail", f'1001,"{FORMULA}",',
                            '1002,"+SUM(1,2)",@bad'])
    checked = check(supervisor, path, ColumnMapping(
        {"client_id": "Client", "username": "Login", "email": "E-mail"}))
    assert [r.username for r in checked.rows] == [FORMULA]
    report = tmp_path / "exceptions.csv"
    imports.write_exceptions_csv(checked.problems, report)
    with open(report, encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["Row", "Column", "Value", "Reason"]
    assert rows[1][:3] == ["3", "E-mail", "'@bad"]
    run(supervisor, checked, skip_bad_rows=True)
    assert WebAccount.get(WebAccount.household == kennel[1001]).username == FORMULA


def test_duplicates_in_the_file_and_against_the_database(supervisor, kennel, tmp_path):
    from clerkdesk.services import web_accounts

    web_accounts.create_account(supervisor, kennel[1004], "Taken.Name")
    path = write(tmp_path, ["Client,Login", "1001,obrien", "1001,obrien", "1002,OBRIEN",
                            "1003,taken.name", "1001,second-login", "1004,smith",
                            "7777,nobody"])
    checked = check(supervisor, path, ColumnMapping({"client_id": "Client",
                                                     "username": "Login"}))
    reasons = {p.row: p.reason for p in checked.problems}
    assert reasons[3] == "The same row as row 2."
    assert reasons[4].startswith("Row 2 has the same user name")
    assert reasons[5] == "This user name is already taken in ClerkDesk."
    assert reasons[6].startswith("Row 2 is a login for the same household")
    assert reasons[7] == "This household already has the web account “Taken.Name”."
    assert reasons[8] == "No household has this client ID."
    assert [r.username for r in checked.rows] == ["obrien"]


# --- the two modes ------------------------------------------------------------------------------

def test_an_email_the_mail_goes_to_anyway_is_not_stored_as_the_accounts_own(supervisor, kennel,
                                                                            tmp_path):
    """The household's (or the matched member's) own address is followed, not copied: when
    the household's email changes, its login's mail follows. The preview still shows it."""
    Member.update(email="bo@example.org").where(Member.first_name == "Bo").execute()
    path = write(tmp_path, ["Client,Login,Email,First,Last",
                            "1001,bo,BO@example.org,Bo,O'Brien",  # the member's, any case
                            "1002,ng,NG@Example.org,,",  # the household's
                            "1003,garcia,other@example.org,,",  # an address of its own
                            "1004,smith,,,"])
    checked = check(supervisor, path, ColumnMapping({
        "client_id": "Client", "username": "Login", "email": "Email", "first_name": "First",
        "last_name": "Last"}))
    assert [row.email for row in checked.sample] == ["BO@example.org", "NG@Example.org",
                                                     "other@example.org", ""]
    run(supervisor, checked)
    accounts = {a.username: a for a in WebAccount.select()}
    assert {name: a.email for name, a in accounts.items()} == {
        "bo": "", "ng": "", "garcia": "other@example.org", "smith": ""}
    assert [address_of(accounts[name]) for name in ("bo", "ng", "garcia", "smith")] == [
        "bo@example.org", "ng@example.org", "other@example.org", "sm@example.org"]
    Household.update(email="new-ng@example.org").where(Household.client_id == "1002").execute()
    assert address_of(WebAccount.get(WebAccount.username == "ng")) == "new-ng@example.org"
    found = portal_accounts.account_page(supervisor, AccountFilter("all", "other@example"))
    assert [row.username for row in found.rows] == ["garcia"]  # found by its own address


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login", "1001,obrien", "7777,nobody"])
    checked = check(supervisor, path, ColumnMapping({"client_id": "Client",
                                                     "username": "Login"}))
    with pytest.raises(ValidationError, match="Nothing was imported: 1 row has problems"):
        imports.start_import(supervisor, checked, ImportOptions())
    assert WebAccount.select().count() == 0


def test_skip_mode_imports_the_good_rows(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login,E-mail", "1001,obrien,own@example.org",
                            "7777,nobody,", "1002,ng,"])
    checked = check(supervisor, path, ColumnMapping({"client_id": "Client", "username": "Login",
                                                     "email": "E-mail"}))
    result = run(supervisor, checked, skip_bad_rows=True)
    assert (result.imported, result.skipped) == (2, 1)
    accounts = {a.username: a for a in WebAccount.select()}
    assert set(accounts) == {"obrien", "ng"}
    assert accounts["obrien"].email == "own@example.org"
    assert accounts["ng"].must_change and accounts["ng"].password_hash is None
    # the desk finds the households by their new user names, and each has a case note
    assert SearchToken.select().where((SearchToken.kind == "user")
                                      & (SearchToken.token == "obrien")).count() == 1
    assert CaseNote.select().where(CaseNote.household == kennel[1002]).count() == 1
    summary = AuditEvent.get(AuditEvent.action == "import.users.finished")
    assert '"file": "olr-users.csv"' in summary.details and '"imported": 2' in summary.details
    with pytest.raises(ValidationError, match="imported already"):
        imports.start_import(supervisor, checked, ImportOptions(skip_bad_rows=True))


def test_each_imported_account_is_audited_with_its_user_name_and_file(supervisor, kennel,
                                                                      tmp_path):
    from clerkdesk.services import audit

    path = write(tmp_path, ["Client,Login", '1001,"say ""hi"""', "1002,back\\slash",
                            "1003,Nguyễn", "1004,plain.name"], name="old “portal”.csv")
    run(supervisor, check(supervisor, path, ColumnMapping({"client_id": "Client",
                                                           "username": "Login"})))
    events = list(AuditEvent.select().where(AuditEvent.action == "web_account.import"))
    accounts = {str(a.id): a for a in WebAccount.select()}
    assert len(events) == len(accounts) == 4
    for event in events:
        account = accounts[event.entity_id]
        assert (event.actor, event.entity, event.household_id) == (
            "sam", "web_account", str(account.household_id))
        # Made by the database's own JSON function: the same content, its own spacing.
        assert json.loads(event.details) == {"username": account.username,
                                             "file": "old “portal”.csv"}
        assert "\\u" not in event.details  # unicode kept as it is, as audit.record keeps it
        assert not any(word in key for key in json.loads(event.details)
                       for word in audit._SECRET_WORDS)


def test_cancel_all_or_nothing_leaves_nothing(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login", "1001,a", "1002,b"])
    checked = check(supervisor, path, ColumnMapping({"client_id": "Client",
                                                     "username": "Login"}))
    job = imports.start_import(supervisor, checked, ImportOptions())
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled, match="Nothing was imported"):
        job.run(lambda progress: None, token)
    assert WebAccount.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "import.users.cancelled").count() == 1


def test_member_is_linked_by_phone_or_name(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login,Phone,First Name,Last Name",
                            "1001,bo-login,,Bo,O'Brien", "1002,ng-login,303 555 0102,,"])
    run(supervisor, check(supervisor, path, ColumnMapping(
        {"client_id": "Client", "username": "Login", "phone": "Phone",
         "first_name": "First Name", "last_name": "Last Name"})))
    bo = WebAccount.get(WebAccount.username == "bo-login")
    assert bo.member.first_name == "Bo"
    assert WebAccount.get(WebAccount.username == "ng-login").member.household_id == kennel[1002]


def test_a_phone_the_household_has_on_file_is_not_parsed_again(supervisor, kennel, tmp_path,
                                                                 monkeypatch):
    """A phone with the digits of one of the household's members is known good (it was
    checked at the desk); every other phone is asked of phonenumbers, and a rejected row
    reports its bad phone beside its other problems."""
    from clerkdesk.services import import_rows

    home = Household.create(client_id="1005", name="Trunk", email="tr@example.org")
    Member.create(household=home, first_name="Ty", last_name="Trunk", is_primary=True,
                  phone="+1 720 555 0199", phone_digits="17205550199")  # the desk's digits
    asked = []
    real_parse = import_rows.phonenumbers.parse
    monkeypatch.setattr(import_rows.phonenumbers, "parse",
                        lambda text, region: asked.append(text) or real_parse(text, region))
    path = write(tmp_path, ["Client,Login,Phone",
                            "1002,ng-on-file,(303) 555-0102",   # 2: a member's digits
                            "1003,garcia-new,+1 415 555 0199",  # 3: not on file, good
                            "1004,smith-bad,12",                # 4: not on file, bad
                            "1001,obrien-none,n/a",             # 5: no digits (Bo has no phone)
                            "9999,nobody,303 555 0102",         # 6: no such household
                            "1002,,not-a-phone",                # 7: no user name, bad phone
                            "1004,smith-plus1,+1 303 555 0104",  # 8: on file, with a trunk 1
                            "1005,trunk-on-file,(720) 555-0199"])  # 9: on file with the 1
    checked = check(supervisor, path, ColumnMapping({"client_id": "Client", "username": "Login",
                                                     "phone": "Phone"}))
    problems = {(p.row, p.column) for p in checked.problems}
    assert problems == {(4, "Phone"), (5, "Phone"), (6, "Client"), (7, "Login"), (7, "Phone")}
    assert [row.username for row in checked.rows] == ["ng-on-file", "garcia-new", "smith-plus1",
                                                      "trunk-on-file"]
    assert not {"(303) 555-0102", "+1 303 555 0104", "(720) 555-0199"} & set(asked)
    assert {"+1 415 555 0199", "12", "n/a", "303 555 0102", "not-a-phone"} <= set(asked)
    run(supervisor, checked, skip_bad_rows=True)
    for username, first_name in (("ng-on-file", "Ann"), ("smith-plus1", "Ann"),
                                 ("trunk-on-file", "Ty")):
        linked = WebAccount.get(WebAccount.username == username).member
        assert linked.first_name == first_name
    assert WebAccount.get(WebAccount.username == "smith-plus1").household_id == kennel[1004]


# --- passwords ----------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_an_old_bcrypt_hash_still_signs_in_and_is_upgraded(supervisor, kennel, tmp_path, prefix):
    path = write(tmp_path, ["Client,Login,Hash", f"1001,rex-owner,{old_hash(prefix=prefix)}"])
    run(supervisor, check(supervisor, path, ColumnMapping(
        {"client_id": "Client", "username": "Login",
         "password_hash": "Hash"})))
    account = WebAccount.get(WebAccount.username == "rex-owner")
    assert account.password_hash.startswith("bcrypt$" + prefix)
    assert not account.must_change
    assert portal.authenticate("rex-owner", "wrong-password").outcome is Outcome.WRONG
    assert portal.authenticate("rex-owner", OLD_PASSWORD).outcome is Outcome.OK
    upgraded = WebAccount.get_by_id(account.id).password_hash
    assert upgraded.startswith("bcrypt-sha256$")  # rehashed with the site's recipe on sign-in
    assert portal.authenticate("rex-owner", OLD_PASSWORD).outcome is Outcome.OK


def test_an_old_hash_is_checked_as_the_old_system_did():
    stored = import_hashing.stored_old_hash(old_hash())
    assert passwords.verify_secret(OLD_PASSWORD, stored)
    assert not passwords.verify_secret(OLD_PASSWORD.upper(), stored)  # case kept
    assert not passwords.verify_secret(OLD_PASSWORD, "bcrypt$$2b$04$tooshort")


def test_plain_passwords_sign_in_and_are_nowhere_at_rest(supervisor, kennel, tmp_path, db,
                                                         caplog):
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path, [
        HEADER, f"1001,kennel-one,,,,,{PLAIN_PASSWORDS[0]},",
        f"1002,kennel-two,,,,,{PLAIN_PASSWORDS[1]},",
        f"7777,bad-client,,,,,{PLAIN_PASSWORDS[1]}x,"])
    checked = check(supervisor, path)
    report = tmp_path / "exceptions.csv"
    imports.write_exceptions_csv(checked.problems, report)
    result = run(supervisor, checked, skip_bad_rows=True)
    assert (result.imported, result.with_password) == (2, 2)
    assert result.advice and "delete the file" in result.advice
    for username, password in zip(("kennel-one", "kennel-two"), PLAIN_PASSWORDS, strict=True):
        assert portal.authenticate(username, password).outcome is Outcome.OK
    raw = stored_bytes(db)
    assert b"bcrypt-sha256$" in raw  # the scan does see the stored hashes
    text = caplog.text + report.read_text(encoding="utf-8-sig")
    for password in (*PLAIN_PASSWORDS, PLAIN_PASSWORDS[1] + "x"):
        assert password.encode() not in raw
        assert password not in text
    assert all(row.secret == "" for row in checked.rows)  # dropped from memory as well


def test_set_password_emails_go_to_accounts_without_a_password(supervisor, kennel, tmp_path,
                                                                mail):
    path = write(tmp_path, ["Client,Login,Password", "1001,no-pw,", f"1002,with-pw,"
                            f"{PLAIN_PASSWORDS[0]}"])
    result = run(supervisor, check(supervisor, path, ColumnMapping(
        {"client_id": "Client", "username": "Login", "password": "Password"})),
        send_set_password=True)
    assert (result.set_password_sent, result.set_password_unsent) == (1, 0)
    assert len(mail.received) == 1
    recipients, message = mail.received[0]
    assert recipients == ["o'@example.org"]
    assert "https://portal.example.org/reset?token=" in message.as_string()
    assert PLAIN_PASSWORDS[0] not in message.as_string()


def test_the_import_needs_the_data_import_device(clerk, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login", "1001,x"])
    with pytest.raises(PermissionDenied, match=r"data\.import"):
        imports.read_file(clerk, path)


def test_household_search_finds_an_imported_user_name(supervisor, kennel, tmp_path):
    path = write(tmp_path, ["Client,Login", "1003,kennel.garcia"])
    run(supervisor, check(supervisor, path, ColumnMapping({"client_id": "Client",
                                                           "username": "Login"})))
    found = household_search.search(supervisor, "kennel.garcia")
    assert [row.id for row in found.rows] == [kennel[1003]]


# --- the fast paths give what the full checks give -------------------------------------------

ODD_TEXTS = ["  plain  ", "Ann", "ÅNGSTRÖM", "Cafe\u0301", "ｆｕｌｌ", "tab\there", "line\nbreak",
             "del\x7fchar", " ", "", "x" * 40, "x" * 41, "x" * 101, "=cmd|'/c calc'!A0",
             "Straße", "İstanbul", "K\u212a", "o'brien", "a" * 201, "B" * 10_001]
ODD_EMAILS = ["ann@example.org", " Ann.O'Brien@Example.ORG ", "bob@localhost", "bob@host.test",
              "bob@sub.invalid", "bob@x.local", "a..b@example.org", "ann@example", "user@[1.2.3.4]",
              "josé@example.org", "ann@exämple.org", "ann@@example.org", "x" * 65 + "@e.org",
              '"quoted"@example.org', "ann@home.arpa", "ann+tag@example.co.uk"]


def test_row_checks_match_the_shared_text_and_email_checks():
    from clerkdesk.services import validation
    from clerkdesk.services.import_rows import RowChecker
    from clerkdesk.services.usernames import normalise_username, username_key

    def outcome(function, *arguments):
        try:
            return "ok", function(*arguments)
        except ValidationError:
            return "refused", None

    headers = ("Client", "Login", "E-mail", "First Name")
    source = imports.ImportFile("t.csv", "UTF-8", headers, [])
    mapping = ColumnMapping({"client_id": "Client", "username": "Login", "email": "E-mail",
                             "first_name": "First Name"})
    checker = RowChecker(source, mapping, "US", one_login_per_household=True)
    for number, text in enumerate(ODD_TEXTS, start=2):
        row, problems, _ = checker._clean(number, [text, text, "", text])
        problem_fields = {p.column for p in problems}
        client = outcome(lambda t: validation.clean_text("client ID", t, max_length=40), text)
        client = client if client != ("ok", "") else ("refused", None)  # must be filled
        assert ("Client" not in problem_fields) == (client[0] == "ok"), text
        login = outcome(normalise_username, text)
        assert ("Login" not in problem_fields) == (login[0] == "ok"), text
        first = outcome(lambda t: validation.clean_text("name", t, max_length=100), text)
        assert ("First Name" not in problem_fields) == (first[0] == "ok"), text
        if row is not None:
            assert (row.client_id, row.username, row.first_name) == (
                client[1], login[1], first[1])
            assert row.key == username_key(row.username)
    for email in ODD_EMAILS:
        expected = outcome(validation.normalise_email, "email", email.strip())
        got = outcome(checker._email, email)
        assert got[0] == expected[0], email
        text = email.strip()
        if got[0] == "ok" and len(text) <= 320 and text.isascii():
            assert validation.is_valid_email(text) and got[1] == text, email


def test_an_imported_user_name_gets_the_search_words_the_index_gives_it():
    from clerkdesk.services import search_index
    from clerkdesk.services.import_rows import ImportRow
    from clerkdesk.services.usernames import username_key

    names = ["kennel.garcia", "O'Brien-Family", "Nguyễn", "ÅSA", "...", "b" * 150,
             "Ünïcødé " * 40, "bob"]
    emails = ["", "Own.Address@Example.org", "", "x@" + "y" * 200 + ".org", "", "", "", ""]
    rows = [ImportRow(n, 7, str(n), name, username_key(name), email=email)
            for n, (name, email) in enumerate(zip(names, emails, strict=True))]
    rows[2].email_is_own = False  # the household's own address: no words of the login's
    rows[2].email = "home@example.org"
    expected = {(7, kind, token) for name, email in zip(names, emails, strict=True)
                for kind, token in search_index.tokens_for("", "", "", "", (), [name],
                                                           [email])}
    made = imports._user_tokens(rows)
    assert len(made) == len(set(made)) and set(made) == expected
    assert (7, "email", "ownaddress") in made


def test_the_import_puts_back_the_connections_checkpoint_setting(supervisor, kennel, tmp_path):
    from peewee import SqliteDatabase

    from clerkdesk.models import database
    if not isinstance(database.obj, SqliteDatabase):
        pytest.skip("a SQLite setting")
    before = database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]
    path = write(tmp_path, ["Client,Login", "1002,ng-family"])
    assert run(supervisor, check(supervisor, path, ColumnMapping(
        {"client_id": "Client", "username": "Login"})), skip_bad_rows=True).imported == 1
    assert database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0] == before
    assert WebAccount.get(WebAccount.username == "ng-family").household_id == kennel[1002]
