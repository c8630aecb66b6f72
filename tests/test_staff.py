"""Staff: the first administrator, sign-in outcomes, lockout, administration."""

import pytest

from clerkdesk.models import AuditEvent, StaffUser
from clerkdesk.services import staff
from clerkdesk.services.errors import ConflictError, NotFound, SignInFailed, ValidationError
from tests.conftest import STAFF_PASSWORD


def test_first_run_creates_the_administrator_once(db):
    assert staff.needs_first_administrator()
    session = staff.create_first_administrator("Ada", "Ada Admin", "a-long-password",
                                               "a-long-password")
    assert session.username == "Ada"
    assert not staff.needs_first_administrator()
    with pytest.raises(ConflictError, match="already exists"):
        staff.create_first_administrator("Eve", "", "another-password", "another-password")
    assert StaffUser.select().count() == 1


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("", "a-long-password", "a-long-password", "Enter the user name"),
        ("   ", "a-long-password", "a-long-password", "Enter the user name"),
        ("has space", "a-long-password", "a-long-password", "no spaces"),
        ("x'; DROP TABLE staffuser; --", "a-long-password", "a-long-password", "letters"),
        ("<b>ada</b>", "a-long-password", "a-long-password", "letters"),
        ("ada\tx", "a-long-password", "a-long-password", "control character"),
        ("a" * 151, "a-long-password", "a-long-password", "too long"),
        ("ada", "", "", "Enter a password"),
        ("ada", "a-long-password", "a-long-passwore", "do not match"),
        ("ada", "short", "short", "at least 10"),
        ("adalovelace", "ADALOVELACE", "ADALOVELACE", "cannot be the user name"),
    ],
)
def test_bad_first_administrator_input_changes_nothing(db, username, password, confirm, message):
    with pytest.raises(ValidationError, match=message):
        staff.create_first_administrator(username, "", password, confirm)
    assert StaffUser.select().count() == 0
    assert AuditEvent.select().count() == 0


def test_unicode_and_very_long_passwords_work(db):
    long_password = "Ω≈ç√∫˜µ≤≥÷" * 1000  # 10,000 characters
    staff.create_first_administrator("zoë", "Zoë Ørsted", long_password, long_password)
    assert staff.sign_in("ZOË", long_password).username == "zoë"
    with pytest.raises(SignInFailed):
        staff.sign_in("zoë", long_password[:-1] + "x")


def test_sign_in_outcomes_each_have_a_clear_message(admin):
    with pytest.raises(SignInFailed, match="Enter your user name") as empty:
        staff.sign_in("", "x")
    assert empty.value.reason == "empty"
    with pytest.raises(SignInFailed, match="Enter your password"):
        staff.sign_in("root-admin", "")
    with pytest.raises(SignInFailed, match="not correct") as unknown:
        staff.sign_in("nobody", "whatever-password")
    with pytest.raises(SignInFailed, match="not correct") as wrong:
        staff.sign_in("root-admin", "wrong-password")
    # An unknown name and a wrong password look the same to whoever is guessing.
    assert str(unknown.value) == str(wrong.value)
    assert staff.sign_in("ROOT-ADMIN", STAFF_PASSWORD).username == "root-admin"


def test_repeated_failures_lock_the_staff_account(admin):
    for _ in range(4):
        with pytest.raises(SignInFailed) as failure:
            staff.sign_in("root-admin", "wrong-password")
        assert failure.value.reason == "invalid"
    with pytest.raises(SignInFailed, match="locked") as locked:
        staff.sign_in("root-admin", "wrong-password")
    assert locked.value.reason == "locked"
    # Even the right password is refused while locked.
    with pytest.raises(SignInFailed, match="locked"):
        staff.sign_in("root-admin", STAFF_PASSWORD)


def test_administrator_unlocks_a_locked_clerk(clerk, admin):
    for _ in range(5):
        with pytest.raises(SignInFailed):
            staff.sign_in("cleo", "wrong-password")
    with pytest.raises(SignInFailed, match="locked"):
        staff.sign_in("cleo", STAFF_PASSWORD)
    staff.unlock_staff(admin, "cleo")
    assert staff.sign_in("cleo", STAFF_PASSWORD).username == "cleo"


def test_disabled_staff_cannot_sign_in_and_last_admin_is_kept(clerk, admin):
    staff.set_staff_active(admin, "cleo", False)
    with pytest.raises(SignInFailed, match="disabled"):
        staff.sign_in("cleo", STAFF_PASSWORD)
    # A wrong password on a disabled account does not reveal that it is disabled.
    with pytest.raises(SignInFailed, match="not correct"):
        staff.sign_in("cleo", "wrong-password")
    with pytest.raises(ConflictError, match="your own account"):
        staff.set_staff_active(admin, "root-admin", False)
    with pytest.raises(ConflictError, match="last active administrator"):
        staff.set_staff_role(admin, "root-admin", "clerk")
    with pytest.raises(NotFound):
        staff.set_staff_active(admin, "ghost", False)


def test_staff_passwords_are_stored_only_as_bcrypt(admin):
    stored = StaffUser.get(StaffUser.username == "root-admin").password_hash
    assert stored.startswith("bcrypt-sha256$cs$$2b$")
    assert STAFF_PASSWORD not in stored


def test_sign_in_rehashes_an_outdated_cost(admin, monkeypatch):
    before = StaffUser.get(StaffUser.username == "root-admin").password_hash
    assert "$2b$04$" in before
    monkeypatch.setenv("CLERKDESK_BCRYPT_COST", "5")
    staff.sign_in("root-admin", STAFF_PASSWORD)
    after = StaffUser.get(StaffUser.username == "root-admin").password_hash
    assert "$2b$05$" in after
    assert staff.sign_in("root-admin", STAFF_PASSWORD)


def test_duplicate_staff_name_differing_in_case_is_refused(admin):
    with pytest.raises(ValidationError, match="already exists"):
        staff.add_staff(admin, "ROOT-ADMIN", "", "another-password", "clerk")


def test_sign_ins_are_audited_without_secrets(admin):
    with pytest.raises(SignInFailed):
        staff.sign_in("root-admin", "wrong-password-xyz")
    outcomes = [e.details for e in AuditEvent.select().where(AuditEvent.action == "staff.sign_in")]
    assert any('"wrong"' in d for d in outcomes)
    assert any('"ok"' in d for d in outcomes)
    for event in AuditEvent.select():
        assert "wrong-password-xyz" not in event.details
        assert STAFF_PASSWORD not in event.details
