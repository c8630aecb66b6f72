"""portal.authenticate: outcomes, the password device's lockout, case rules, rehashing."""

import threading
import time
from datetime import timedelta

import pytest

from clerkdesk.models import AuditEvent, WebAccount
from clerkdesk.services import passwords, portal, settings, web_accounts
from clerkdesk.services.portal import Outcome

PASSWORD = "Blue-Heron-Pond"


@pytest.fixture
def account(clerk, household):
    view = web_accounts.create_account(clerk, household, "Smith", PASSWORD, PASSWORD,
                                       must_change=False)
    return view.id


def _max_attempts(admin, value):
    settings.set_setting(admin, "password_policy.max_attempts", value)


def test_right_password_signs_in_and_wrong_does_not(account):
    result = portal.authenticate("smith", PASSWORD)
    assert result.outcome is Outcome.OK and result.account_id == account
    assert WebAccount.get_by_id(account).last_login is not None
    wrong = portal.authenticate("Smith", "not-it")
    assert wrong.outcome is Outcome.WRONG and wrong.account_id is None


def test_unknown_user_answers_exactly_like_a_wrong_password(account):
    unknown = portal.authenticate("nobody-here", "whatever")
    wrong = portal.authenticate("Smith", "whatever")
    assert (unknown.outcome, unknown.message, unknown.attempts_left, unknown.account_id) == \
        (wrong.outcome, wrong.message, wrong.attempts_left, wrong.account_id)


def test_passwords_are_not_case_sensitive_by_default(account):
    assert portal.authenticate("SMITH", PASSWORD.upper()).outcome is Outcome.OK
    assert portal.authenticate("smith", PASSWORD.lower()).outcome is Outcome.OK


def test_case_rule_change_keeps_old_logins_and_rehashes(account, admin):
    settings.set_setting(admin, "password_policy.case_sensitive", True)
    assert WebAccount.get_by_id(account).password_hash.startswith("bcrypt-sha256$ci$")
    # The old hash remembers it was case-folded, so the household still gets in...
    assert portal.authenticate("Smith", PASSWORD.lower()).outcome is Outcome.OK
    # ...and is rehashed under the new rule with the password as typed.
    assert WebAccount.get_by_id(account).password_hash.startswith("bcrypt-sha256$cs$")
    assert portal.authenticate("Smith", PASSWORD.lower()).outcome is Outcome.OK
    assert portal.authenticate("Smith", PASSWORD.upper()).outcome is Outcome.WRONG


def test_cost_change_rehashes_on_sign_in(account, monkeypatch):
    assert "$2b$04$" in WebAccount.get_by_id(account).password_hash
    monkeypatch.setenv("CLERKDESK_BCRYPT_COST", "5")
    portal.authenticate("Smith", PASSWORD)
    assert "$2b$05$" in WebAccount.get_by_id(account).password_hash


def test_unlimited_attempts_by_default(account):
    for _ in range(25):
        assert portal.authenticate("Smith", "wrong").outcome is Outcome.WRONG
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.OK
    assert WebAccount.get_by_id(account).failed_attempts == 0  # success resets the count


def test_max_one_locks_on_the_first_failure(account, admin):
    _max_attempts(admin, 1)
    locked = portal.authenticate("Smith", "wrong")
    assert locked.outcome is Outcome.LOCKED
    assert locked.message == settings.password_policy().locked_message
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.LOCKED


def test_max_three_warns_before_the_final_attempt_then_locks(account, admin, supervisor):
    _max_attempts(admin, 3)
    outcomes = [portal.authenticate("Smith", "wrong") for _ in range(3)]
    assert [o.outcome for o in outcomes] == [Outcome.WRONG, Outcome.FINAL_ATTEMPT_WARNING,
                                             Outcome.LOCKED]
    assert outcomes[1].attempts_left == 1 and "one attempt left" in outcomes[1].message
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.LOCKED
    row = WebAccount.get_by_id(account)
    assert row.locked and row.failed_attempts == 3 and row.locked_at is not None
    web_accounts.unlock_account(supervisor, account)
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.OK


def test_final_attempt_warning_can_be_turned_off(account, admin):
    _max_attempts(admin, 2)
    settings.set_setting(admin, "password_policy.final_attempt_warning", False)
    assert portal.authenticate("Smith", "wrong").outcome is Outcome.WRONG
    assert portal.authenticate("Smith", "wrong").outcome is Outcome.LOCKED


def test_automatic_unlock_after_the_policy_minutes(account, admin):
    _max_attempts(admin, 1)
    settings.set_setting(admin, "password_policy.auto_unlock_minutes", 10)
    portal.authenticate("Smith", "wrong")
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.LOCKED
    row = WebAccount.get_by_id(account)
    WebAccount.update(locked_at=row.locked_at - timedelta(minutes=11)).where(
        WebAccount.id == account).execute()
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.OK


def test_disabled_account_is_told_only_with_the_right_password(account, supervisor):
    web_accounts.set_account_active(supervisor, account, False)
    assert portal.authenticate("Smith", "wrong").outcome is Outcome.WRONG
    assert portal.authenticate("Smith", PASSWORD).outcome is Outcome.DISABLED


def test_temporary_password_must_change_and_expires(clerk, household):
    view = web_accounts.create_account(clerk, household, "temp-user")
    temporary = web_accounts.issue_temporary_password(clerk, view.id)
    assert portal.authenticate("temp-user", temporary).outcome is Outcome.MUST_CHANGE
    expires = WebAccount.get_by_id(view.id).password_expires_at
    WebAccount.update(password_expires_at=expires - timedelta(days=8)).where(
        WebAccount.id == view.id).execute()
    assert portal.authenticate("temp-user", temporary).outcome is Outcome.EXPIRED


def test_every_outcome_is_audited_without_the_password(account, admin):
    _max_attempts(admin, 2)
    portal.authenticate("Smith", "wrong-guess-1")
    portal.authenticate("ghost", "wrong-guess-2")
    portal.authenticate("Smith", "wrong-guess-3")
    outcomes = [e.details for e in AuditEvent.select().where(AuditEvent.action ==
                                                             "portal.sign_in")]
    assert any('"unknown"' in d for d in outcomes)
    assert any('"final_attempt_warning"' in d for d in outcomes)
    assert any('"locked"' in d for d in outcomes)
    assert not any("wrong-guess" in d or PASSWORD in d for d in outcomes)


@pytest.mark.parametrize("bad", ["", None, 42, "x" * 200_000, "\x00", "' OR 1=1 --"])
def test_hostile_sign_in_input_is_just_wrong(account, bad):
    result = portal.authenticate(bad, bad)
    assert result.outcome is Outcome.WRONG
    assert WebAccount.get_by_id(account).failed_attempts == 0


def test_concurrent_failures_never_pass_the_maximum(account, admin):
    _max_attempts(admin, 3)
    barrier = threading.Barrier(8)
    results = []

    def attempt():
        barrier.wait()
        results.append(portal.authenticate("Smith", "wrong"))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = WebAccount.get_by_id(account)
    assert row.locked and row.failed_attempts == 3
    assert sum(r.outcome is Outcome.LOCKED for r in results) >= 6


def test_unknown_user_costs_as_much_as_a_wrong_password(account, monkeypatch):
    """Timing must not tell a guesser which user names exist (a dummy hash is checked)."""
    monkeypatch.setenv("CLERKDESK_BCRYPT_COST", "10")
    hashed = passwords.hash_secret(PASSWORD, passwords.HashRecipe(10, False))
    WebAccount.update(password_hash=hashed).where(WebAccount.id == account).execute()

    def median_seconds(name):
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            portal.authenticate(name, "wrong")
            timings.append(time.perf_counter() - started)
        return sorted(timings)[2]

    ratio = median_seconds("nobody") / median_seconds("Smith")
    assert 0.5 < ratio < 2.0
