"""Portal sessions and the portal calls the web pages added: first-login change without the
PIN twice, the landing page's view, and checking a link without using it up."""

import pytest

from clerkdesk.models import Member, Token, WebAccount
from clerkdesk.services import passwords, portal, portal_sessions, web_accounts
from clerkdesk.services.errors import ValidationError
from clerkdesk.services.portal import Outcome, PortalRefusal

PIN = "4812-7730"
CHOSEN = "Heron-Lake-Morning"


@pytest.fixture
def assigned(clerk, household):
    return web_accounts.create_account(clerk, household, "obrien", PIN, PIN,
                                       must_change=True).id


def test_a_session_lives_until_signed_out_and_stores_only_a_hash(assigned):
    secret = portal_sessions.start(assigned)
    session = portal_sessions.current(secret)
    assert session.account_id == assigned and session.must_change
    assert Token.get(Token.kind == "session").token_hash != secret
    portal_sessions.end(secret)
    assert portal_sessions.current(secret) is None


def test_a_credential_change_ends_every_session_of_the_account(assigned, clerk, household):
    other = web_accounts.create_account(clerk, household, "second", CHOSEN, CHOSEN,
                                        must_change=False).id
    phone, laptop, theirs = (portal_sessions.start(assigned), portal_sessions.start(assigned),
                             portal_sessions.start(other))
    portal_sessions.end_all(assigned)
    assert portal_sessions.current(phone) is None and portal_sessions.current(laptop) is None
    assert portal_sessions.current(theirs).account_id == other


def test_a_clerk_disabling_or_a_lockout_ends_the_session_at_once(assigned, clerk):
    secret = portal_sessions.start(assigned)
    WebAccount.update(locked=True).where(WebAccount.id == assigned).execute()
    assert portal_sessions.current(secret) is None
    WebAccount.update(locked=False, status="disabled").where(
        WebAccount.id == assigned).execute()
    assert portal_sessions.current(secret) is None


@pytest.mark.parametrize("secret", [None, "", "x" * 5000, "' OR 1=1 --", 42, "ab" * 20])
def test_nonsense_session_secrets_are_no_session(assigned, secret):
    portal_sessions.start(assigned)
    assert portal_sessions.current(secret) is None
    portal_sessions.end(secret)  # and ending one changes nothing


def test_purge_forgets_ended_sessions_only(assigned):
    ended, live = portal_sessions.start(assigned), portal_sessions.start(assigned)
    portal_sessions.end(ended)
    assert portal_sessions.purge_expired() == 1
    assert portal_sessions.current(live) is not None


def test_first_login_change_stores_the_chosen_sign_in(assigned):
    result = portal.first_login_change(assigned, "siobhan", CHOSEN, CHOSEN)
    assert result.outcome is Outcome.OK
    account = WebAccount.get_by_id(assigned)
    assert (account.username, account.must_change) == ("siobhan", False)
    assert portal.authenticate("siobhan", CHOSEN).outcome is Outcome.OK
    assert portal.authenticate("siobhan", PIN).outcome is Outcome.WRONG


def test_first_login_change_may_keep_the_assigned_pin_though_policy_would_refuse_it(assigned):
    portal.first_login_change(assigned, "obrien", PIN, PIN)
    assert portal.authenticate("obrien", PIN).outcome is Outcome.OK  # no longer must-change


def test_first_login_change_checks_a_new_password_against_the_policy(assigned):
    with pytest.raises(ValidationError):
        portal.first_login_change(assigned, "obrien", "short", "short")
    with pytest.raises(ValidationError, match="match"):
        portal.first_login_change(assigned, "obrien", CHOSEN, CHOSEN + "x")
    assert WebAccount.get_by_id(assigned).must_change  # nothing changed


def test_first_login_change_is_only_for_accounts_that_must_change(assigned):
    portal.first_login_change(assigned, "obrien", CHOSEN, CHOSEN)
    with pytest.raises(PortalRefusal):
        portal.first_login_change(assigned, "obrien", "Another-Long-Phrase", "Another-Long-Phrase")
    assert passwords.verify_secret(CHOSEN, WebAccount.get_by_id(assigned).password_hash)


def test_a_ten_thousand_character_password_is_refused_or_stored_whole(assigned):
    huge = "é" * 10_000
    portal.first_login_change(assigned, "obrien", huge, huge)
    assert portal.authenticate("obrien", huge).outcome is Outcome.OK
    assert portal.authenticate("obrien", huge[:-1]).outcome is Outcome.WRONG


def test_home_shows_the_household_and_its_members(assigned):
    home = portal.home(assigned)
    assert (home.username, home.household_name, home.members, home.must_change,
            home.may_change) == ("obrien", "O'Brien", ("Siobhán O'Brien",), True, True)


def test_looking_at_a_link_does_not_use_it_up(account_with_reset_link):
    _, secret = account_with_reset_link
    assert portal.link_is_usable(portal.RESET, secret)
    assert portal.link_is_usable(portal.RESET, secret)
    assert not portal.link_is_usable(portal.SIGN_UP, secret)  # a reset link is not a sign-up
    portal.reset_password(secret, CHOSEN, CHOSEN)
    assert not portal.link_is_usable(portal.RESET, secret)
    assert not portal.link_is_usable(portal.RESET, "<script>")
    with pytest.raises(ValueError):
        portal.link_is_usable("session", secret)


@pytest.fixture
def account_with_reset_link(assigned):
    from datetime import timedelta

    from clerkdesk.models import database
    from clerkdesk.services import tokens

    with database.atomic():
        secret = tokens.issue(portal.RESET, timedelta(minutes=30), account_id=assigned)
    return assigned, secret


def test_home_of_a_household_without_members_shows_none(clerk, db):
    from clerkdesk.models import Household

    bare = Household.create(client_id="2002", name="Nguyen", email="n@example.org")
    account = web_accounts.create_account(clerk, bare.id, "nguyen", CHOSEN, CHOSEN,
                                          must_change=False).id
    assert (portal.home(account).household_name, portal.home(account).members) == \
        ("Nguyen", ())


def test_the_session_knows_the_household_and_user_name(assigned, household):
    session = portal_sessions.current(portal_sessions.start(assigned))
    assert (session.household_id, session.username) == (household, "obrien")


def test_the_session_brings_the_household_and_members_primary_first(assigned, household):
    Member.create(household=household, first_name="Aoife", last_name="Brennan")
    session = portal_sessions.current(portal_sessions.start(assigned))
    assert session.household_name == "O'Brien"
    assert session.members == ("Siobhán O'Brien", "Aoife Brennan")
