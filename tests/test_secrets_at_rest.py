"""After every credential flow, no password, PIN or token is readable at rest: not in the
database, not in the log, and the capture folder holds only what was mailed."""

import email
import email.policy
import logging
import re

import pytest

from clerkdesk.services import portal, settings, web_accounts
from clerkdesk.services.logs import configure_logging
from tests.conftest import stored_bytes

TYPED = "Typed-At-Counter-31"
CHOSEN = "Chosen-By-Family-77"
RESET = "Reset-By-Link-2026"


@pytest.fixture
def capture(admin, tmp_path):
    folder = tmp_path / "captured"
    settings.set_settings(admin, {"email.mode": "capture", "email.capture_folder": str(folder),
                                  "email.from_address": "desk@example.org",
                                  "portal.url": "https://portal.example.org"})
    return folder


def _captured(folder):
    """Each captured message decoded (bodies are quoted-printable on disk), oldest first."""
    messages = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages.append(f"{message['Subject']}\n{message.get_body().get_content()}")
    return messages


def test_every_flow_leaves_no_secret_at_rest(clerk, supervisor, household, capture, db_url,
                                             caplog):
    log_path = configure_logging(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    view = web_accounts.create_account(clerk, household, "family-one")
    web_accounts.email_credentials(clerk, view.id, TYPED, TYPED)
    assert portal.authenticate("family-one", TYPED).signed_in
    portal.change_credentials("family-one", TYPED, "family-one", CHOSEN)
    portal.authenticate("family-one", "a-wrong-guess-99")
    temporary = web_accounts.issue_temporary_password(clerk, view.id)
    web_accounts.unlock_account(supervisor, view.id)
    portal.forgot_password("family-one")
    token = re.search(r"token=(\S+)", _captured(capture)[-1])[1]
    portal.reset_password(token, RESET)
    minted = web_accounts.email_credentials(clerk, view.id, mint_if_empty=True)
    assert minted.sent

    mails = _captured(capture)
    minted_pin = re.findall(r"online services is:\s+(\S+)", mails[-1])[0]
    secrets = [TYPED, CHOSEN, RESET, temporary, token, minted_pin, "a-wrong-guess-99"]
    raw = stored_bytes(db_url)
    for secret in secrets:
        assert secret.encode() not in raw, secret
        assert secret.lower().encode() not in raw, secret
    log_text = log_path.read_text(encoding="utf-8") + caplog.text
    for secret in secrets:
        assert secret not in log_text, secret

    # The capture folder holds the mail and nothing else: each secret only in the message
    # that delivered it.
    holding = {secret: [i for i, mail in enumerate(mails) if secret in mail]
               for secret in (TYPED, token, minted_pin)}
    assert all(len(found) == 1 for found in holding.values()), holding
    for secret in (CHOSEN, RESET, temporary, "a-wrong-guess-99"):
        assert not any(secret in mail for mail in mails), secret
