"""Forgot user name / forgot password / reset: identical answers, case notes only when sent,
single-use expiring tokens, and nothing changed until a token is used."""

import re
from datetime import timedelta

import pytest

from clerkdesk.models import CaseNote, Household, Member, Token, WebAccount, utcnow
from clerkdesk.services import portal, settings, web_accounts
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.portal import Outcome, PortalRefusal
from clerkdesk.services.tokens import InvalidToken
from tests.conftest import stored_bytes
from tests.smtp_server import body_of

OWN = "My-Own-Choice-42"


@pytest.fixture
def account(clerk, household):
    view = web_accounts.create_account(clerk, household, "obrien", OWN, OWN, must_change=False)
    return view.id


def _reset_link(message) -> str:
    return re.search(r"https://portal\.example\.org/reset\?token=(\S+)", body_of(message))[1]


def _notes(category):
    return [n.text for n in CaseNote.select().where(CaseNote.category == category)]


def test_forgot_user_name_lists_every_name_for_the_address(clerk, account, household, mail):
    second = Household.create(client_id="2002", name="Smyth", email="OBrien@Example.org")
    web_accounts.create_account(clerk, second.id, "smyth-family")
    answer = portal.forgot_username("obrien@example.org")
    assert answer == portal.FORGOT_USERNAME_ANSWER
    (message,) = mail.recorder.messages_to("obrien@example.org")
    assert "obrien" in body_of(message) and "smyth-family" in body_of(message)
    assert len(_notes("Forgot user name")) == 2  # one on each household's file


def test_forgot_user_name_for_an_unknown_address_answers_the_same(account, mail):
    assert portal.forgot_username("nobody@example.org") == portal.FORGOT_USERNAME_ANSWER
    assert mail.received == []
    assert _notes("Forgot user name") == []


def test_member_address_finds_a_per_member_login(clerk, household, mail):
    member = Member.create(household=household, first_name="Aoife", last_name="O'Brien",
                           email="aoife@example.org")
    web_accounts.create_account(clerk, household, "aoife", member_id=member.id)
    portal.forgot_username("aoife@example.org")
    (message,) = mail.recorder.messages_to("aoife@example.org")
    assert "aoife" in body_of(message)


@pytest.mark.parametrize("bad", ["", "not-an-address", "<script>@x.org", "a" * 400 + "@x.org"])
def test_forgot_user_name_refuses_malformed_addresses(account, mail, bad):
    with pytest.raises(ValidationError):
        portal.forgot_username(bad)
    assert mail.received == []


def test_no_case_note_when_the_email_could_not_be_sent(account, mail):
    mail.stop()
    assert portal.forgot_username("obrien@example.org") == portal.FORGOT_USERNAME_ANSWER
    assert portal.forgot_password("obrien") == portal.FORGOT_PASSWORD_ANSWER
    assert _notes("Forgot user name") == [] and _notes("Forgot password") == []


def test_reset_link_works_once_and_changes_nothing_before(account, mail):
    before = WebAccount.get_by_id(account).__data__.copy()
    assert portal.forgot_password("OBRIEN") == portal.FORGOT_PASSWORD_ANSWER
    after_request = WebAccount.get_by_id(account).__data__
    assert after_request == before  # no lock, no new password: only a link went out
    assert _notes("Forgot password")
    token = _reset_link(mail.received[-1][1])
    assert len(token) >= 40  # 256 random bits
    assert token.encode() not in stored_bytes_of_tokens()
    result = portal.reset_password(token, "Fresh-Start-2026")
    assert result.outcome is Outcome.OK
    assert portal.authenticate("obrien", "Fresh-Start-2026").outcome is Outcome.OK
    assert portal.authenticate("obrien", OWN).outcome is Outcome.WRONG
    with pytest.raises(InvalidToken):
        portal.reset_password(token, "Another-Start-2027")


def stored_bytes_of_tokens() -> bytes:
    return b"".join(t.token_hash.encode() for t in Token.select())


def test_unknown_or_disabled_user_gets_the_same_answer_and_no_mail(account, supervisor, mail):
    assert portal.forgot_password("ghost") == portal.FORGOT_PASSWORD_ANSWER
    web_accounts.set_account_active(supervisor, account, False)
    mail.received.clear()
    assert portal.forgot_password("obrien") == portal.FORGOT_PASSWORD_ANSWER
    assert mail.received == []


def test_tampered_and_expired_tokens_are_refused(account, mail):
    portal.forgot_password("obrien")
    token = _reset_link(mail.received[-1][1])
    with pytest.raises(InvalidToken):
        portal.reset_password(token[:-1] + ("A" if token[-1] != "A" else "B"), "Fresh-Start-2026")
    for bad in ("", "x", "' OR 1=1 --", "a" * 5000):
        with pytest.raises(InvalidToken):
            portal.reset_password(bad, "Fresh-Start-2026")
    Token.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    with pytest.raises(InvalidToken):
        portal.reset_password(token, "Fresh-Start-2026")
    assert portal.authenticate("obrien", OWN).outcome is Outcome.OK


def test_a_weak_password_does_not_use_up_the_token(account, mail):
    portal.forgot_password("obrien")
    token = _reset_link(mail.received[-1][1])
    with pytest.raises(ValidationError, match="most common passwords"):
        portal.reset_password(token, "password123")
    with pytest.raises(ValidationError, match="too short"):
        portal.reset_password(token, "Ob-1")
    assert portal.reset_password(token, "Fresh-Start-2026").outcome is Outcome.OK


def test_any_password_change_voids_open_reset_links(clerk, account, mail):
    portal.forgot_password("obrien")
    token = _reset_link(mail.received[-1][1])
    web_accounts.set_password(clerk, account, "Clerk-Set-Pass-1", "Clerk-Set-Pass-1")
    with pytest.raises(InvalidToken):
        portal.reset_password(token, "Fresh-Start-2026")


def test_reset_requests_are_rate_limited_per_account(account, mail):
    for _ in range(5):
        assert portal.forgot_password("obrien") == portal.FORGOT_PASSWORD_ANSWER
    assert len(mail.recorder.messages_to("obrien@example.org")) == 3
    assert Token.select().count() == 3


def test_reset_unlocks_a_locked_account(account, admin, mail):
    settings.set_setting(admin, "password_policy.max_attempts", 1)
    portal.authenticate("obrien", "wrong")
    portal.forgot_password("obrien")
    portal.reset_password(_reset_link(mail.received[-1][1]), "Fresh-Start-2026")
    assert portal.authenticate("obrien", "Fresh-Start-2026").outcome is Outcome.OK


def test_first_login_change_may_keep_the_assigned_name_and_password(clerk, household, mail):
    view = web_accounts.create_account(clerk, household, "assigned-name")
    temporary = web_accounts.issue_temporary_password(clerk, view.id)
    result = portal.change_credentials("assigned-name", temporary, "assigned-name", temporary)
    assert result.outcome is Outcome.OK
    assert portal.authenticate("assigned-name", temporary).outcome is Outcome.OK
    row = WebAccount.get_by_id(view.id)
    assert not row.must_change and row.password_source == "owner"
    assert row.password_expires_at is None


def test_change_credentials_checks_the_new_password_and_name(clerk, household, account, mail):
    other = web_accounts.create_account(clerk, household, "taken-name")
    with pytest.raises(ValidationError, match="already taken"):
        portal.change_credentials("obrien", OWN, "TAKEN-NAME", "Fresh-Start-2026")
    with pytest.raises(ValidationError, match="most common"):
        portal.change_credentials("obrien", OWN, "obrien2", "qwerty123")
    with pytest.raises(ValidationError, match="cannot be the user name"):
        portal.change_credentials("obrien", OWN, "Obrien-Family", "OBRIEN-FAMILY")
    with pytest.raises(PortalRefusal, match="not correct"):
        portal.change_credentials("obrien", "wrong", "obrien2", "Fresh-Start-2026")
    portal.change_credentials("obrien", OWN, "Obrien-Family", "Fresh-Start-2026")
    assert portal.authenticate("obrien-family", "Fresh-Start-2026").outcome is Outcome.OK
    assert other.username == "taken-name"
    notice = mail.recorder.messages_to("obrien@example.org")[-1]
    assert "Fresh-Start-2026" not in body_of(notice)


def test_self_change_after_login_can_be_turned_off(account, admin, mail):
    settings.set_setting(admin, "portal.allow_self_change", False)
    with pytest.raises(PortalRefusal, match="turned off"):
        portal.change_credentials("obrien", OWN, "obrien", "Fresh-Start-2026")
    assert portal.authenticate("obrien", OWN).outcome is Outcome.OK


def test_no_secret_at_rest_after_the_flows(clerk, account, mail, db_url):
    portal.forgot_password("obrien")
    token = _reset_link(mail.received[-1][1])
    portal.reset_password(token, "Fresh-Start-2026")
    temporary = web_accounts.issue_temporary_password(clerk, account)
    raw = stored_bytes(db_url)
    for secret in (OWN, "Fresh-Start-2026", token, temporary):
        assert secret.encode() not in raw
        assert secret.lower().encode() not in raw
