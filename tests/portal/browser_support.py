"""Browser fixtures for the portal: Debian's chromium driven by Playwright's sync API against a
real portal server (waitress on a loopback port) over a SQLite test database.

One browser per test module keeps the suite fast; every test gets a fresh browser context
(no cookies, no history) so the tests never see each other's sessions.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from clerkdesk.portal import create_app
from clerkdesk.portal.server import RunningPortal, ServeOptions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAILED_PORTAL = "https://portal.example.org"  # the portal.url the `mail` fixture sets
ORGANISATION = "Riverside Rec"
TIMEOUT_MS = 10_000  # a page that takes longer than this on loopback is a failure, not a wait


def _unavailable(reason: str) -> None:
    """Without a browser: a failure under CI (the setup must install chromium), else a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the browser tests need it under CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        _unavailable(f"Debian's chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    playwright = sync_playwright().start()
    try:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                args=CHROMIUM_ARGS, headless=True)
        except Error as error:
            _unavailable(f"chromium would not start: {error.message.splitlines()[0]}")
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, portal):
    """A new, empty browser context and page for this test. It needs the portal so that it
    closes first: the server stops at once when no browser holds a connection open."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def portal(db):
    """The portal served on 127.0.0.1 at a free port, for as long as the test runs."""
    app = create_app(limit="1000 per minute", secret_key="browser-test-signing-key",
                     organisation=ORGANISATION)
    with RunningPortal(app, ServeOptions(host="127.0.0.1", port=0)) as running:
        yield running


def local(portal: RunningPortal, link: str) -> str:
    """A link from an email, pointed at the server under test instead of the real site."""
    assert link.startswith(MAILED_PORTAL), link
    return portal.url + link.removeprefix(MAILED_PORTAL)


def link_in(body: str, path: str) -> str:
    """The portal link to `path` in an email body."""
    found = re.search(re.escape(MAILED_PORTAL + path) + r"\?token=\S+", body)
    assert found, f"no {path} link in:\n{body}"
    return found.group(0)


def path_of(page) -> str:
    """The page's address without the server part (query string included)."""
    return re.sub(r"^https?://[^/]+", "", page.url)


def sign_in(page, portal: RunningPortal, username: str, password: str) -> None:
    page.goto(portal.url + "/sign-in")
    fill_sign_in(page, username, password)


def fill_sign_in(page, username: str, password: str) -> None:
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    press(page, "Sign in")


def choose_credentials(page, username: str | None, password: str, button: str) -> None:
    """Fill the user name (when the form has one) and the new password twice, then submit."""
    if username is not None:
        page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Type the new password again", exact=True).fill(password)
    press(page, button)


def press(page, button: str) -> None:
    """Click a button that submits a form, and wait for the page the server answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def follow(page, link: str) -> None:
    """Click a link and wait for the page it opens."""
    with page.expect_navigation():
        page.get_by_role("link", name=link, exact=True).click()


def problem(page) -> str:
    """The refusal shown at the top of the form ('' when there is none)."""
    shown = page.locator("#problem")
    return shown.inner_text() if shown.count() else ""


def notes(page) -> list[str]:
    """The status notes (flashed messages) on the page."""
    return page.locator("p.note").all_inner_texts()


def heading(page) -> str:
    return page.locator("h1").inner_text()
