"""Portal fixtures: the Flask app over the test database, a client that reads form tokens
the way a browser would, and a household with a known sign-in."""

import re

import pytest

from clerkdesk.portal import create_app
from clerkdesk.services import web_accounts

PASSWORD = "Blue-Heron-Pond-42"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def portal_app(db):
    app = create_app(limit="1000 per minute", secret_key="test-signing-key",
                     organisation="Riverside Rec")
    yield app
    app.extensions["clerkdesk_background"].shutdown()


@pytest.fixture
def client(portal_app):
    return portal_app.test_client()


def form_token(client, path: str) -> str:
    """The CSRF token of the form at `path`, as the browser would submit it."""
    page = client.get(path)
    found = TOKEN_FIELD.search(page.get_data(as_text=True))
    assert found, f"no form token on {path} ({page.status})"
    return found.group(1)


def post_form(client, path: str, **fields: str):
    """Submit the form at `path` like a browser: fetch it, then post with its token."""
    return client.post(path, data={"csrf_token": form_token(client, path), **fields})


@pytest.fixture
def account(clerk, household):
    """An account that chose its own password already (no first-login change)."""
    return web_accounts.create_account(clerk, household, "obrien", PASSWORD, PASSWORD,
                                       must_change=False).id


@pytest.fixture
def assigned_account(clerk, household):
    """An account with a clerk-assigned PIN that must be changed at first sign-in."""
    return web_accounts.create_account(clerk, household, "obrien", "4812-7730", "4812-7730",
                                       must_change=True).id
