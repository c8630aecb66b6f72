"""The portal's pages over HTTP, on SQLite and PostgreSQL: the household's whole side of
seeds 000-003 (sign in, first-login change, lockout messages, forgot flows, links, sign-up)."""

import re

import pytest

from clerkdesk.models import Household, Member, WebAccount
from clerkdesk.services import account_links, settings, web_accounts
from tests.portal.conftest import PASSWORD, form_token, post_form
from tests.smtp_server import body_of

CHOSEN = "Kingfisher-Weir-Dawn"


def page_text(response) -> str:
    return response.get_data(as_text=True)


def sign_in(client, username: str, password: str):
    return post_form(client, "/sign-in", username=username, password=password)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_signing_in_shows_the_household_and_its_members(client, account):
    answer = sign_in(client, "OBRIEN", PASSWORD)
    assert (answer.status_code, answer.location) == (302, "/")
    home = page_text(client.get("/"))
    assert "O&#39;Brien" in home and "Siobhán O&#39;Brien" in home and "obrien" in home


def test_a_wrong_password_keeps_the_user_name_and_never_echoes_the_password(client, account):
    answer = sign_in(client, "obrien", "Not-The-Password-9")
    text = page_text(answer)
    assert answer.status_code == 200 and "The user name or password is not correct." in text
    assert 'value="obrien"' in text and "Not-The-Password-9" not in text
    assert not signed_in(client)


def test_the_landing_page_needs_a_sign_in(client):
    answer = client.get("/")
    assert (answer.status_code, answer.location) == (302, "/sign-in")


def test_first_sign_in_with_an_assigned_pin_leads_to_the_change_page(client, assigned_account):
    answer = sign_in(client, "obrien", "4812-7730")
    assert answer.location == "/first-login"
    assert client.get("/").location == "/first-login"  # nothing else until it is done
    assert 'value="obrien"' in page_text(client.get("/first-login"))
    done = post_form(client, "/first-login", username="siobhan", password=CHOSEN,
                     confirm=CHOSEN)
    assert done.location == "/sign-in"
    assert "Please sign in with them" in page_text(client.get("/sign-in"))
    assert not signed_in(client)  # the change ended the session
    assert sign_in(client, "obrien", "4812-7730").status_code == 200  # refused now
    assert sign_in(client, "siobhan", CHOSEN).location == "/"


def test_the_first_login_page_may_keep_the_assigned_sign_in(client, assigned_account):
    sign_in(client, "obrien", "4812-7730")
    post_form(client, "/first-login", username="obrien", password="4812-7730",
              confirm="4812-7730")
    assert sign_in(client, "obrien", "4812-7730").location == "/"


def test_a_refused_first_login_change_says_why_and_changes_nothing(client, assigned_account):
    sign_in(client, "obrien", "4812-7730")
    answer = post_form(client, "/first-login", username="obrien", password=CHOSEN,
                       confirm=CHOSEN + "!")
    assert "do not match" in page_text(answer) and 'aria-invalid="true"' in page_text(answer)
    assert WebAccount.get_by_id(assigned_account).must_change


def test_final_attempt_warning_then_locked_message_then_unlock_at_the_desk(client, account, admin,
                                                                          supervisor):
    settings.set_setting(admin, "password_policy.max_attempts", 3)
    first = page_text(sign_in(client, "obrien", "wrong-1"))
    assert "not correct" in first and "one attempt left" not in first
    assert "one attempt left" in page_text(sign_in(client, "obrien", "wrong-2"))
    locked_message = settings.password_policy().locked_message
    assert locked_message in page_text(sign_in(client, "obrien", "wrong-3"))
    assert locked_message in page_text(sign_in(client, "obrien", PASSWORD))
    web_accounts.unlock_account(supervisor, account)
    assert sign_in(client, "obrien", PASSWORD).location == "/"


def test_change_sign_in_later_needs_the_current_password(client, account):
    sign_in(client, "obrien", PASSWORD)
    refused = post_form(client, "/change-sign-in", current_password="wrong", username="obrien",
                        password=CHOSEN, confirm=CHOSEN)
    assert "not correct" in page_text(refused)
    done = post_form(client, "/change-sign-in", current_password=PASSWORD, username="siobhan",
                     password=CHOSEN, confirm=CHOSEN)
    assert done.location == "/sign-in" and not signed_in(client)
    assert sign_in(client, "siobhan", CHOSEN).location == "/"


def test_change_sign_in_is_not_there_when_the_site_forbids_it(client, account, admin):
    settings.set_setting(admin, "portal.allow_self_change", False)
    sign_in(client, "obrien", PASSWORD)
    assert "/change-sign-in" not in page_text(client.get("/"))
    assert client.get("/change-sign-in").status_code == 404
    assert client.post("/change-sign-in", data={
        "csrf_token": form_token(client, "/"), "current_password": PASSWORD,
        "username": "x", "password": CHOSEN, "confirm": CHOSEN}).status_code == 404


def test_forgot_user_name_emails_the_user_names(client, account, mail, portal_app):
    answer = post_form(client, "/forgot-user-name", email="OBrien@Example.org")
    assert "If that email address is on file" in page_text(answer)
    portal_app.extensions["clerkdesk_background"].drain(10)
    message = mail.recorder.messages_to("obrien@example.org")[0]
    assert "obrien" in body_of(message)


def test_forgot_user_name_refuses_what_is_not_an_address(client, account, mail, portal_app):
    answer = post_form(client, "/forgot-user-name", email="obrien<at>example")
    assert "email" in page_text(answer).lower() and 'aria-invalid="true"' in page_text(answer)
    portal_app.extensions["clerkdesk_background"].drain(10)
    assert mail.recorder.received == []


def test_reset_link_from_the_email_sets_a_new_password_once(client, account, mail, portal_app):
    post_form(client, "/forgot-password", username="obrien")
    portal_app.extensions["clerkdesk_background"].drain(10)
    link = _link_in(mail.recorder.messages_to("obrien@example.org")[0], "/reset")
    first = client.get(link)
    assert (first.status_code, first.location) == (302, "/reset")  # the token left the URL
    done = post_form(client, "/reset", password=CHOSEN, confirm=CHOSEN)
    assert done.location == "/sign-in"
    assert sign_in(client, "obrien", CHOSEN).location == "/"
    again = client.get(client.get(link).location)
    assert again.status_code == 410 and "not valid any more" in page_text(again)


def test_a_mistyped_reset_link_is_a_clear_dead_end(client):
    answer = client.get(client.get("/reset?token=not-a-real-token-at-all").location)
    assert answer.status_code == 410 and "Forgot your password?" in page_text(answer)


def test_a_sign_in_link_asks_before_it_signs_in_and_works_once(client, account, mail, clerk):
    account_links.send_login_link(clerk, account)
    link = _link_in(mail.recorder.messages_to("obrien@example.org")[0], "/link-sign-in")
    page = client.get(client.get(link).location)
    assert page.status_code == 200 and not signed_in(client)  # a mail scanner's visit
    assert post_form(client, "/link-sign-in").location == "/"
    assert signed_in(client)
    client.post("/sign-out", data={"csrf_token": form_token(client, "/")})
    assert client.get(client.get(link).location).status_code == 410


def test_sign_up_creates_the_household_and_signs_it_in(client, db):
    answer = post_form(client, "/sign-up", first_name="Aoife", last_name="Brennan",
                       email="aoife@example.org", phone="", postal_code="K1A 0B1",
                       birth_date="1990-04-02", username="aoife", password=CHOSEN,
                       confirm=CHOSEN)
    assert answer.location == "/"
    assert "Brennan" in page_text(client.get("/"))
    assert Member.get(Member.first_name == "Aoife").household.name


def test_sign_up_does_not_create_a_household_twice(client, account):
    Member.update(email="obrien@example.org", birth_date="1980-01-01").execute()
    answer = post_form(client, "/sign-up", first_name="Siobhán", last_name="O'Brien",
                       email="obrien@example.org", phone="", postal_code="",
                       birth_date="1980-01-01", username="siobhan2", password=CHOSEN,
                       confirm=CHOSEN)
    assert answer.status_code == 200 and 'data-status="' in page_text(answer)
    assert Household.select().count() == 1 and not signed_in(client)


@pytest.mark.parametrize("field, value", [
    ("first_name", ""), ("last_name", "<script>alert(1)</script>"),
    ("email", "not-an-address"), ("birth_date", "31/31/1999"), ("username", "a" * 300),
    ("password", "x"), ("postal_code", "'; DROP TABLE household; --"),
])
def test_a_bad_sign_up_says_what_to_fix_and_creates_nothing(client, db, field, value):
    values = {"first_name": "Aoife", "last_name": "Brennan", "email": "aoife@example.org",
              "phone": "", "postal_code": "", "birth_date": "1990-04-02",
              "username": "aoife", "password": CHOSEN, "confirm": CHOSEN, field: value}
    answer = post_form(client, "/sign-up", **values)
    assert answer.status_code == 200 and 'role="alert"' in page_text(answer)
    assert "<script>alert" not in page_text(answer)
    assert Household.select().count() == 0 and WebAccount.select().count() == 0


def test_an_invitation_link_attaches_the_sign_in_to_the_household(client, clerk, household,
                                                                  mail):
    link = account_links.sign_up_link(clerk, household).link
    assert client.get(_path_of(link)).location == "/sign-up"
    form = page_text(client.get("/sign-up"))
    assert "invitation" in form and 'name="first_name"' not in form
    done = post_form(client, "/sign-up", username="obrien-family", password=CHOSEN,
                     confirm=CHOSEN)
    assert done.location == "/" and "O&#39;Brien" in page_text(client.get("/"))
    assert WebAccount.get(WebAccount.username == "obrien-family").household_id == household


def test_signing_out_ends_the_session(client, account):
    sign_in(client, "obrien", PASSWORD)
    assert client.post("/sign-out", data={"csrf_token": form_token(client, "/")}).location \
        == "/sign-in"
    assert not signed_in(client)


def _link_in(message, path: str) -> str:
    body = body_of(message)
    found = re.search(r"https://portal\.example\.org(" + re.escape(path) + r"\?token=[\w-]+)",
                      body)
    assert found, body
    return found.group(1)


def _path_of(link: str) -> str:
    return link.removeprefix("https://portal.example.org")


def test_a_dead_invitation_says_so_without_offering_a_password_reset(client):
    answer = client.get(client.get("/sign-up?token=no-such-invitation-token").location)
    assert answer.status_code == 410 and "not valid any more" in page_text(answer)
    assert "Forgot your password?" not in page_text(answer)
    assert 'name="first_name"' in page_text(client.get("/sign-up"))  # a fresh sign-up is open
