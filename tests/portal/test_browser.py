"""The household's side of ClerkDesk in a real browser: Debian's chromium, driven by
Playwright, against the reference portal served by waitress on loopback.

Every test follows what a household does: read the email ClerkDesk sent (captured by a real
aiosmtpd server), open the link or type what it says, fill in the pages and read them. The
desk's side (mailings, unlocking, sign-up links) goes through the same services the desktop
program calls. These run on SQLite; the HTTP-level portal tests cover PostgreSQL.
"""

import re

import pytest

from clerkdesk.models import Member
from clerkdesk.services import account_links, outbox, roles, settings, web_accounts
from clerkdesk.services.email_delivery import mailer_from_settings
from clerkdesk.services.errors import PermissionDenied
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.mailing_drafts import MessageDraft
from clerkdesk.services.mailing_targets import Targeting
from clerkdesk.services.mailings import MailingDraft, QueueMailing
from clerkdesk.services.permissions import CLERK, Permission
from clerkdesk.services.portal import FORGOT_PASSWORD_ANSWER, FORGOT_USERNAME_ANSWER
from tests.portal import browser_support
from tests.portal.browser_support import (
    choose_credentials,
    fill_sign_in,
    follow,
    heading,
    link_in,
    local,
    notes,
    path_of,
    press,
    problem,
    sign_in,
)
from tests.portal.conftest import PASSWORD
from tests.smtp_server import body_of

WRONG = "The user name or password is not correct."
FINAL_WARNING = ("The user name or password is not correct. You have one attempt left before "
                 "your account is locked.")
LOCKED = "Your account is locked. Please contact the front desk to have it unlocked."
CHANGED = "Your sign-in details were changed. Please sign in with them."
CREDENTIALS = MessageDraft("Your portal login", "Dear <FirstName>,\nUser name: <WebID>\n"
                           "PIN: <WebPin>\nSign in at <PortalLink>\n")
HOUSEHOLD_EMAIL = "obrien@example.org"


# One chromium for the module, a fresh context and a fresh portal server for each test.
browser = browser_support.browser
page = browser_support.page
portal = browser_support.portal


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


@pytest.fixture
def family(household):
    """The `household` fixture (O'Brien, primary member Siobhán) with a second member."""
    Member.create(household=household, first_name="Ciarán", last_name="O'Brien")
    return household


def drain(portal) -> None:
    """Wait until the email the forgot pages send in the background has gone out."""
    portal.app.extensions["clerkdesk_background"].drain(timeout=10)


def only_message(mail, subject: str):
    found = [m for m in mail.recorder.messages_to(HOUSEHOLD_EMAIL) if m["Subject"] == subject]
    assert len(found) == 1, [m["Subject"] for m in mail.recorder.messages_to(HOUSEHOLD_EMAIL)]
    return body_of(found[0])


def shows_household(page) -> bool:
    return page.locator("#household").count() > 0


def assert_household_page(page, username: str) -> None:
    assert path_of(page) == "/"
    assert heading(page) == "Welcome"
    assert page.locator("#household").inner_text() == "O'Brien"
    assert page.locator("ul.members li").all_inner_texts() == ["Siobhán O'Brien",
                                                                "Ciarán O'Brien"]
    assert f"You are signed in as {username}." in page.locator("main").inner_text()


def sign_out(page) -> None:
    press(page, "Sign out")
    assert path_of(page) == "/sign-in"
    assert "You are signed out." in notes(page)


# --- a. the PIN from a bulk mailing, and the first-login change --------------------------

def test_pin_from_a_bulk_mailing_signs_in_once_and_is_replaced_at_first_login(
        page, portal, mail, clerk, supervisor, family):
    web_accounts.create_account(clerk, family, "obrien-desk")  # no password: the mail mints
    mailing = MailingDraft(description="Portal logins", category="WEB", rehearsal=False,
                           targeting=Targeting(household_ids=(family,)), message=CREDENTIALS)
    queued = QueueMailing(supervisor, mailing).run(lambda progress: None, CancelToken())
    assert queued.emails == 1
    mailer = mailer_from_settings()
    sent = outbox.OutboxSender(mailer, texts=outbox.texts_from_settings(mailer)).run(
        lambda progress: None, CancelToken())
    assert sent.sent == 1

    body = only_message(mail, "Your portal login")
    username = re.search(r"User name: (\S+)", body)[1]
    pin = re.search(r"PIN: (\S+)", body)[1]
    assert username == "obrien-desk"
    page.goto(local(portal, re.search(r"Sign in at (\S+)", body)[1]))
    assert path_of(page) == "/sign-in"  # the portal's address leads to sign-in
    fill_sign_in(page, username, pin)

    assert path_of(page) == "/first-login"
    assert heading(page) == "Choose your sign-in details"
    assert any(note.startswith("Welcome! Please choose your own user name") for note in notes(page))
    assert page.get_by_label("User name", exact=True).input_value() == username
    page.goto(portal.url + "/")  # the landing page waits until the change is made
    assert path_of(page) == "/first-login"
    choose_credentials(page, "Siobhan.OBrien", "Kettle-Harbour-Lantern-9", "Save and sign in again")

    assert path_of(page) == "/sign-in"
    assert CHANGED in notes(page)
    fill_sign_in(page, "siobhan.obrien", "Kettle-Harbour-Lantern-9")  # names ignore case
    assert_household_page(page, "Siobhan.OBrien")

    sign_out(page)
    fill_sign_in(page, username, pin)
    assert problem(page) == WRONG
    fill_sign_in(page, "Siobhan.OBrien", pin)
    assert problem(page) == WRONG
    assert not shows_household(page)


# --- b. lockout, and the clerk's unlock --------------------------------------------------

def test_lockout_warns_before_the_final_attempt_and_a_clerk_unlocks(page, portal, admin, clerk,
                                                                     family, account):
    settings.set_setting(admin, "password_policy.max_attempts", 3)
    sign_in(page, portal, "obrien", "not-the-password")
    assert problem(page) == WRONG
    assert page.get_by_label("User name", exact=True).input_value() == "obrien"
    assert page.get_by_label("Password", exact=True).input_value() == ""  # never echoed back
    fill_sign_in(page, "obrien", "still-not-it")
    assert problem(page) == FINAL_WARNING
    fill_sign_in(page, "obrien", "third-time-unlucky")
    assert problem(page) == LOCKED

    fill_sign_in(page, "obrien", PASSWORD)  # the right password changes nothing while locked
    assert problem(page) == LOCKED
    assert path_of(page) == "/sign-in" and not shows_household(page)

    # The desk unlocks in Web Details; by default only supervisors may, so this site's
    # administrator grants Clerk the "Unlock web accounts" permission device first.
    with pytest.raises(PermissionDenied):
        web_accounts.unlock_account(clerk, account)
    roles.set_grant(admin, CLERK, Permission.WEB_ACCOUNT_UNLOCK.value, True)
    web_accounts.unlock_account(clerk, account)
    fill_sign_in(page, "obrien", PASSWORD)
    assert problem(page) == ""
    assert_household_page(page, "obrien")


# --- c. forgot user name, forgot password and the reset link -----------------------------

def test_forgot_user_name_emails_the_user_name(page, portal, mail, family, account):
    page.goto(portal.url + "/sign-in")
    follow(page, "Forgot your user name?")
    assert path_of(page) == "/forgot-user-name"
    page.get_by_label("Email address").fill("OBrien@Example.org")
    press(page, "Email my user names")
    assert page.locator("main [role=status]").inner_text() == FORGOT_USERNAME_ANSWER
    drain(portal)
    body = only_message(mail, "Your user name for our online services")
    assert re.search(r"^\s+obrien\s*$", body, re.MULTILINE), body


def test_forgot_password_reset_link_works_once_and_leaves_the_address_bar(page, portal, mail,
                                                                          family, account):
    page.goto(portal.url + "/sign-in")
    follow(page, "Forgot your password?")
    assert path_of(page) == "/forgot-password"
    page.get_by_label("User name").fill("OBRIEN")
    press(page, "Email me a reset link")
    assert page.locator("main [role=status]").inner_text() == FORGOT_PASSWORD_ANSWER
    drain(portal)
    link = link_in(only_message(mail, "Reset your password"), "/reset")
    secret = link.split("token=", 1)[1]

    page.goto(local(portal, link))
    assert path_of(page) == "/reset"  # the secret moved into the session on the first visit
    assert secret not in page.url
    assert heading(page) == "Choose a new password"
    choose_credentials(page, None, "Heather-Canal-Bicycle-7", "Save the new password")
    assert path_of(page) == "/sign-in"
    assert "Your password was changed. You can sign in now." in notes(page)
    fill_sign_in(page, "obrien", PASSWORD)
    assert problem(page) == WRONG  # the old password is gone
    fill_sign_in(page, "obrien", "Heather-Canal-Bicycle-7")
    assert_household_page(page, "obrien")

    answer = page.goto(local(portal, link))  # the same link again, signed in or not
    assert answer.status == 410 and path_of(page) == "/reset"
    assert heading(page) == "This link cannot be used"
    assert page.get_by_label("New password", exact=True).count() == 0


# --- d. the sign-up link from Portal Accounts --------------------------------------------

def test_sign_up_link_from_the_desk_creates_the_account_and_signs_in(page, portal, mail, clerk,
                                                                     family):
    made = account_links.sign_up_link(clerk, family, HOUSEHOLD_EMAIL)
    link = link_in(only_message(mail, "Create your account for our online services"),
                   "/sign-up")
    assert link == made.link

    page.goto(local(portal, link))
    assert path_of(page) == "/sign-up"
    assert heading(page) == "Create your account"
    assert "Your invitation links it to the details" in page.locator("main").inner_text()
    assert page.get_by_label("First name").count() == 0  # the household is already on file
    choose_credentials(page, "siobhan-family", "Meadow-Violin-Ferry-33", "Create my account")
    assert_household_page(page, "siobhan-family")

    sign_out(page)
    fill_sign_in(page, "siobhan-family", "Meadow-Violin-Ferry-33")
    assert_household_page(page, "siobhan-family")
    answer = page.goto(local(portal, link))
    assert answer.status == 410 and heading(page) == "This link cannot be used"


# --- e. signing out ----------------------------------------------------------------------

def test_sign_out_ends_the_session_for_back_revisit_and_a_copied_cookie(browser, page, portal,
                                                                       family, account):
    sign_in(page, portal, "obrien", PASSWORD)
    assert_household_page(page, "obrien")
    copied = page.context.cookies()
    sign_out(page)

    page.go_back()  # to the landing page's address, which the server now refuses
    assert path_of(page) == "/sign-in"
    assert not shows_household(page) and "Siobhán" not in page.content()
    page.goto(portal.url + "/")
    assert path_of(page) == "/sign-in" and not shows_household(page)

    # The old cookie, replayed by another browser, no longer counts on the server either.
    other = browser.new_context()
    try:
        other.add_cookies(copied)
        replay = other.new_page()
        replay.goto(portal.url + "/")
        assert path_of(replay) == "/sign-in" and not shows_household(replay)
    finally:
        other.close()
