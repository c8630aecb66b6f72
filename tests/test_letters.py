"""Credential letters for households without email: preparing mints nothing, printing mints a
PIN per household that signs in (and must be changed), stores none, logs none, audits and
notes each one; owners' own passwords are kept; bad input changes nothing."""

import logging

import pytest

from clerkdesk.models import AuditEvent, CaseNote, WebAccount
from clerkdesk.services import letters, mailing_reports, portal
from clerkdesk.services import settings as site_settings
from clerkdesk.services.errors import NotFound, PermissionDenied, ValidationError
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.letters import OWN_PASSWORD, MintLetters
from clerkdesk.services.portal import Outcome
from tests.conftest import stored_bytes
from tests.test_mailing_reports import HOSTILE, home

PORTAL = "https://portal.example.org"


@pytest.fixture
def portal_set(admin):
    site_settings.set_settings(admin, {"portal.url": PORTAL})


def snapshot():
    return (list(WebAccount.select().order_by(WebAccount.id).dicts()),
            AuditEvent.select().count(), CaseNote.select().count())


def test_preparing_lists_what_will_print_and_who_gets_no_letter(supervisor, portal_set):
    first = home(1, name="García Márquez", first="José")
    owner = home(2, owner=True)
    nobody = home(3, login=False)
    before = snapshot()
    plan = letters.prepare_letters(supervisor, [first, owner, nobody])
    assert [t.web_id for t in plan.letters] == ["user1", "user2"]
    assert plan.letters[0].address_block == (
        "José García Márquez", "1 Main St", "Apt 2", "Burlington, VT 05401")
    assert [(r.client_id, r.reason) for r in plan.refused] == [("00003", letters.NO_LOGIN)]
    assert plan.to_mint == 1
    assert snapshot() == before  # preparing mints nothing


def test_each_printed_pin_signs_in_and_none_is_stored_or_logged(
        supervisor, admin, portal_set, db_url, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    site_settings.set_settings(admin, {"email.from_name": "Town <Recreation>"})
    ids = [home(number, name=name) for number, name in enumerate(HOSTILE, start=1)]
    printed = letters.mint_for_letters(supervisor, ids)
    assert [letter.web_id for letter in printed] == ["user1", "user2", "user3"]
    assert all(letter.minted and letter.portal_url == PORTAL for letter in printed)
    pins = [letter.secret for letter in printed]
    assert len(set(pins)) == 3 and all(pin.isdigit() and len(pin) == 6 for pin in pins)
    page = letters.letter_html(printed)
    assert page.count("page-break-before") == 2 and "<b>Bold</b>" not in page
    assert "Town &lt;Recreation&gt;" in page and PORTAL in page
    rows = mailing_reports.no_email_rows(supervisor, mailing_reports.Targeting())
    mailing_reports.write_csv(tmp_path / "rows.csv", rows)
    exposed = stored_bytes(db_url) + caplog.text.encode() + \
        (tmp_path / "rows.csv").read_bytes() + repr(printed).encode()
    for letter in printed:
        assert letter.secret.encode() not in exposed
        assert f"<b>{letter.secret}</b>" in page
        assert portal.authenticate(letter.web_id, letter.secret).outcome == Outcome.MUST_CHANGE


def test_printing_is_audited_and_noted_without_the_secret(supervisor, portal_set):
    household = home(1)
    [letter] = letters.mint_for_letters(supervisor, [household])
    account = WebAccount.get(WebAccount.household == household)
    assert account.must_change and account.credentials_delivered_at is not None
    assert account.pin_rule == ""  # minted: no PIN left to mint at the next mailing
    [event] = AuditEvent.select().where(AuditEvent.action == letters.PRINTED_ACTION)
    assert event.actor == supervisor.username and letter.secret not in event.details
    [note] = CaseNote.select().where(CaseNote.household == household)
    assert note.text == f"Credentials letter printed by {supervisor.label}."


def test_a_reprint_mints_again_and_the_old_pin_stops_working(supervisor, portal_set):
    household = home(1)
    [old] = letters.mint_for_letters(supervisor, [household])
    [new] = letters.mint_for_letters(supervisor, [household])
    assert portal.authenticate("user1", old.secret).outcome == Outcome.WRONG
    assert portal.authenticate("user1", new.secret).outcome == Outcome.MUST_CHANGE


def test_an_owners_password_is_kept_unless_reissued(supervisor, portal_set):
    household = home(1, owner=True)
    hash_before = WebAccount.get(WebAccount.household == household).password_hash
    [kept] = letters.mint_for_letters(supervisor, [household])
    assert (kept.secret, kept.minted) == (OWN_PASSWORD, False)
    assert WebAccount.get(WebAccount.household == household).password_hash == hash_before
    assert "password you chose" in letters.letter_html([kept])
    [reissued] = letters.mint_for_letters(supervisor, [household], reissue=True)
    assert reissued.minted
    assert portal.authenticate("user1", reissued.secret).outcome == Outcome.MUST_CHANGE


def test_a_cancelled_run_returns_the_letters_already_minted(supervisor, portal_set):
    ids = [home(number) for number in range(1, 4)]
    token = CancelToken()

    def cancel_after_first(progress):
        token.cancel()

    printed = MintLetters(supervisor, ids).run(cancel_after_first, token)
    assert [letter.web_id for letter in printed] == ["user1"]
    assert WebAccount.get(WebAccount.username == "user2").pin_rule == "digits:6"


def test_a_clerk_is_refused(clerk, portal_set):
    household = home(1)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        letters.prepare_letters(clerk, [household])
    with pytest.raises(PermissionDenied):
        letters.mint_for_letters(clerk, [household])
    assert snapshot() == before


@pytest.mark.parametrize("household_ids, error, message", [
    ([], ValidationError, "at least one household"),
    ([999_999], NotFound, "do not exist"),
    (list(range(1, letters.MAX_LETTERS + 2)), ValidationError, "too many"),
    (["1"], ValidationError, "not a household number"),
    ("12", ValidationError, "at least one household"),
])
def test_bad_household_lists_get_a_clear_message_and_change_nothing(
        supervisor, portal_set, household_ids, error, message):
    home(1)
    before = snapshot()
    with pytest.raises(error, match=message):
        letters.mint_for_letters(supervisor, household_ids)
    assert snapshot() == before


def test_a_household_without_login_or_portal_address_stops_the_whole_run(supervisor, admin):
    ready, nobody = home(1), home(2, login=False)
    before = snapshot()
    with pytest.raises(ValidationError, match="portal address"):
        letters.mint_for_letters(supervisor, [ready])
    assert snapshot() == before
    site_settings.set_settings(admin, {"portal.url": PORTAL})
    before = snapshot()
    with pytest.raises(ValidationError, match=r"Family 2 \(00002\): no web login"):
        letters.mint_for_letters(supervisor, [ready, nobody])
    assert snapshot() == before
