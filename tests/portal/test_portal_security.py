"""What a security reviewer checks on the portal, over HTTP: CSRF, the session cookie and its
lifetime, the per-address limit, identical answers for unknown accounts, headers, secrets
kept out of URLs and storage, and hostile input."""

import logging
import re

import pytest

from clerkdesk.models import AuditEvent, WebAccount
from clerkdesk.portal import create_app
from tests.conftest import stored_bytes
from tests.portal.conftest import PASSWORD, TOKEN_FIELD, form_token, post_form

CHOSEN = "Kingfisher-Weir-Dawn"
PAGES = ("/sign-in", "/forgot-user-name", "/forgot-password", "/sign-up", "/reset",
         "/no-such-page")


def page_text(response) -> str:
    return response.get_data(as_text=True)


def without_tokens(text: str) -> str:
    return TOKEN_FIELD.sub('name="csrf_token" value=""', text)


def sign_in(client, username: str = "obrien", password: str = PASSWORD):
    return post_form(client, "/sign-in", username=username, password=password)


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("clerkdesk_portal=")]
    assert cookies, response.headers
    return cookies[-1]


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


# --- CSRF -----------------------------------------------------------------------------------

def test_a_form_without_its_token_is_refused_and_counts_nothing(client, account):
    client.get("/sign-in")
    for token in (None, "", "forged", "' OR '1'='1"):
        data = {"username": "obrien", "password": "guess"}
        if token is not None:
            data["csrf_token"] = token
        answer = client.post("/sign-in", data=data)
        assert answer.status_code == 400 and "Nothing was changed" in page_text(answer)
    assert WebAccount.get_by_id(account).failed_attempts == 0
    assert not AuditEvent.select().where(AuditEvent.action == "portal.sign_in").exists()


def test_another_browsers_token_does_not_work_here(portal_app, account):
    theirs, mine = portal_app.test_client(), portal_app.test_client()
    stolen = form_token(theirs, "/sign-in")
    mine.get("/sign-in")
    answer = mine.post("/sign-in", data={"csrf_token": stolen, "username": "obrien",
                                         "password": PASSWORD})
    assert answer.status_code == 400 and not signed_in(mine)


def test_signing_out_needs_the_token_too(client, account):
    sign_in(client)
    assert client.post("/sign-out").status_code == 400
    assert signed_in(client)


# --- the session cookie ---------------------------------------------------------------------

def test_the_cookie_is_http_only_and_same_site_and_not_secure_over_plain_http(client, account):
    cookie = session_cookie(sign_in(client))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_over_tls_the_cookie_is_secure_and_hsts_is_sent(portal_app, account):
    client = portal_app.test_client()
    page = client.get("/sign-in", base_url="https://portal.example.org")
    assert "Secure" in session_cookie(page)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in portal_app.test_client().get("/sign-in").headers


def test_signing_in_renews_the_session(portal_app, client, account):
    before = session_cookie(client.get("/sign-in")).split(";")[0].split("=", 1)[1]
    after = session_cookie(sign_in(client)).split(";")[0].split("=", 1)[1]
    serializer = portal_app.session_interface.get_signing_serializer(portal_app)
    old, new = serializer.loads(before), serializer.loads(after)
    assert "sid" in new and old.get("csrf_token") != new.get("csrf_token")
    planted = portal_app.test_client()  # someone who knew the cookie before the sign-in
    planted.set_cookie("clerkdesk_portal", before)
    assert not signed_in(planted)


def test_a_copied_cookie_stops_working_at_sign_out(portal_app, client, account):
    cookie = session_cookie(sign_in(client)).split(";")[0].split("=", 1)[1]
    client.post("/sign-out", data={"csrf_token": form_token(client, "/")})
    replay = portal_app.test_client()
    replay.set_cookie("clerkdesk_portal", cookie)
    assert not signed_in(replay)


def test_a_credential_change_signs_out_every_other_browser(portal_app, account):
    phone, laptop = portal_app.test_client(), portal_app.test_client()
    sign_in(phone), sign_in(laptop)
    post_form(laptop, "/change-sign-in", current_password=PASSWORD, username="obrien",
              password=CHOSEN, confirm=CHOSEN)
    assert not signed_in(phone) and not signed_in(laptop)


def test_the_session_secret_is_kept_only_as_a_hash(portal_app, client, account, db):
    cookie = session_cookie(sign_in(client)).split(";")[0].split("=", 1)[1]
    sid = portal_app.session_interface.get_signing_serializer(portal_app).loads(cookie)["sid"]
    assert sid.encode() not in stored_bytes(db)


# --- the per-address limit ------------------------------------------------------------------

@pytest.fixture
def strict_app(db):
    app = create_app(limit="3 per minute", secret_key="test-signing-key")
    yield app
    app.extensions["clerkdesk_background"].shutdown()


def test_an_address_is_stopped_before_the_lockout_and_told_when_to_retry(strict_app, account):
    client = strict_app.test_client()
    for _ in range(3):
        assert sign_in(client, password="guess").status_code == 200
    blocked = sign_in(client, password=PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in page_text(blocked)
    assert WebAccount.get_by_id(account).failed_attempts == 3  # the 4th never reached it
    assert client.get("/sign-in").status_code == 200  # reading pages is not limited


def test_the_limit_is_per_address_and_covers_the_forgot_forms(strict_app, account):
    client = strict_app.test_client()
    for _ in range(3):
        post_form(client, "/forgot-password", username="obrien")
    assert post_form(client, "/forgot-user-name", email="a@example.org").status_code == 429
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    token = form_token(client, "/sign-in")
    answer = client.post("/sign-in", data={"csrf_token": token, "username": "obrien",
                                           "password": PASSWORD}, environ_base=elsewhere)
    assert answer.location == "/"


# --- identical answers ----------------------------------------------------------------------

def test_an_unknown_user_name_answers_exactly_like_a_wrong_password(portal_app, account):
    unknown = sign_in(portal_app.test_client(), "nobody-at-all", "guess")
    wrong = sign_in(portal_app.test_client(), "nobody-at-all", "guess")
    known = sign_in(portal_app.test_client(), "obrien", "guess")
    assert unknown.status_code == known.status_code == 200
    assert without_tokens(page_text(known)).replace("obrien", "nobody-at-all") == \
        without_tokens(page_text(unknown)) == without_tokens(page_text(wrong))


@pytest.mark.parametrize("path, field, known, unknown", [
    ("/forgot-password", "username", "obrien", "nobody-at-all"),
    ("/forgot-user-name", "email", "obrien@example.org", "nobody@example.org"),
])
def test_forgot_forms_answer_the_same_for_unknown_accounts(portal_app, account, mail, path,
                                                           field, known, unknown):
    first = post_form(portal_app.test_client(), path, **{field: known})
    second = post_form(portal_app.test_client(), path, **{field: unknown})
    assert first.status_code == second.status_code == 200
    assert without_tokens(page_text(first)) == without_tokens(page_text(second))
    portal_app.extensions["clerkdesk_background"].drain(10)
    assert len(mail.recorder.received) == 1  # only the real account got an email


# --- headers and URLs -----------------------------------------------------------------------

def test_every_answer_carries_the_security_headers(client):
    for path in (*PAGES, "/static/portal.css"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert "script-src" not in policy and "default-src 'none'" in policy  # no script
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path


def test_pages_have_no_inline_script_or_style_and_are_not_cached(client):
    for path in PAGES:
        answer = client.get(path)
        text = page_text(answer)
        assert "<script" not in text and "style=" not in text and "<style" not in text, path
        assert answer.headers["Cache-Control"] == "no-store", path


def test_every_form_posts_and_carries_a_token(client, account):
    sign_in(client)
    for path in ("/", "/change-sign-in"):
        text = page_text(client.get(path))
        forms = re.findall(r"<form[^>]*>", text)
        assert forms and all('method="post"' in form for form in forms)
        assert text.count('name="csrf_token"') == len(forms)


# --- hostile input --------------------------------------------------------------------------

HOSTILE_SIGN_INS = [
    ("", ""), ("obrien", ""), ("", PASSWORD), ("obrien' OR '1'='1", "' OR '1'='1"),
    ("obrien; DROP TABLE web_account; --", "x"), ("<b>obrien</b>", "<script>"),
    ("ö" * 5_000, "ü" * 10_000), ("obrien\x00", PASSWORD), ("obrien", PASSWORD + "\x00"),
]


def test_hostile_sign_ins_get_the_plain_answer_and_change_nothing(client, account):
    for username, password in HOSTILE_SIGN_INS:
        answer = sign_in(client, username, password)
        assert answer.status_code == 200 and "not correct" in page_text(answer)
        assert "<b>obrien</b>" not in page_text(answer) and "<script>" not in page_text(answer)
        assert WebAccount.select().count() == 1 and not signed_in(client)
    assert sign_in(client).location == "/"  # the account itself still works


def test_a_flood_of_form_data_is_refused_before_it_is_read(client, account):
    token = form_token(client, "/sign-in")
    answer = client.post("/sign-in", data={"csrf_token": token, "username": "obrien",
                                           "password": "x" * 400_000})
    assert answer.status_code == 413 and "Nothing was changed" in page_text(answer)
    assert WebAccount.get_by_id(account).failed_attempts == 0


def test_a_household_name_with_markup_is_shown_as_text(client, account):
    from clerkdesk.models import Household

    Household.update(name="<img src=x onerror=alert(1)>").execute()
    sign_in(client)
    text = page_text(client.get("/"))
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_no_password_or_pin_is_kept_in_the_database_or_the_log(client, assigned_account, db,
                                                               caplog):
    caplog.set_level(logging.DEBUG)
    sign_in(client, "obrien", "4812-7730")
    post_form(client, "/first-login", username="obrien", password=CHOSEN, confirm=CHOSEN)
    sign_in(client, "obrien", "Wrong-Guess-Phrase")
    at_rest = stored_bytes(db)
    for secret in ("4812-7730", CHOSEN, "Wrong-Guess-Phrase"):
        assert secret.encode() not in at_rest and secret not in caplog.text
