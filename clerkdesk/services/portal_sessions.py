"""Signed-in sessions of the web portal, kept on the server so that signing out, changing
credentials or a clerk's disable really ends them.

A session is a single-use-style token (services.tokens, kind "session"): the browser holds
the secret inside its signed cookie, the database holds only its SHA-256. The portal asks
`current` on every request; a session ends when it expires, when the household signs out,
and when the account's credentials change (`end_all`).
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from clerkdesk.models import Token, WebAccount, database, utcnow
from clerkdesk.models.secret_store import get_secret, set_secret

from . import fast_sql, tokens

SESSION = "session"  # token kind
LIFETIME = timedelta(hours=12)  # absolute; the portal's cookie adds an idle timeout
SIGNING_KEY_NAME = "portal-cookie-signing-key"
# Asked on every signed-in page, so written out once (see fast_sql), and in one query with
# the household and its members: each database call lets other threads take the
# interpreter lock, and getting it back is what made busy pages slow.
_ACCOUNT = ('SELECT a.id, a.must_change, a.household_id, a.username, h.name, m.first_name, '
            'm.last_name FROM web_account a JOIN household h ON h.id = a.household_id ')
_MEMBERS = 'LEFT JOIN member m ON m.household_id = h.id '
_PRIMARY_FIRST = ' ORDER BY m.is_primary DESC, m.last_name, m.first_name, m.id'
LIVE_SESSION = (
    _ACCOUNT + 'JOIN token t ON t.web_account_id = a.id ' + _MEMBERS
    + 'WHERE t.token_hash = {p} AND t.kind = {p} AND t.used_at IS NULL AND t.expires_at > {p} '
    'AND a.status = {p} AND a.locked = {p}' + _PRIMARY_FIRST)
BY_ACCOUNT = _ACCOUNT + _MEMBERS + 'WHERE a.id = {p}' + _PRIMARY_FIRST


@dataclass(frozen=True)
class PortalSession:
    """Who is signed in, with what every signed-in page shows of the household."""
    account_id: int
    must_change: bool
    household_id: int
    username: str
    household_name: str
    members: tuple[str, ...]  # primary member first


def start(account_id: int) -> str:
    """A new session for the account; its secret goes into the browser's cookie only."""
    with database.atomic():
        return tokens.issue(SESSION, LIFETIME, account_id=account_id)


def current(secret: object) -> PortalSession | None:
    """The live session for `secret`, or None (ended, expired, unknown, or the account was
    disabled or locked by the front desk since)."""
    if not isinstance(secret, str) or not tokens.MIN_SECRET <= len(secret) <= tokens.MAX_SECRET:
        return None
    return _view(fast_sql.rows(LIVE_SESSION, (
        tokens.digest(secret), SESSION, Token.expires_at.db_value(utcnow()), "active",
        WebAccount.locked.db_value(False))))


def account_view(account_id: int) -> PortalSession | None:
    """The same view of an account, found by its id whatever its state (for a site that
    keeps its own sessions and calls `portal.home`)."""
    return _view(fast_sql.rows(BY_ACCOUNT, (account_id,)))


def _view(rows: list[tuple]) -> PortalSession | None:
    """One row per member; a household without members has one row of NULLs for them."""
    if not rows:
        return None
    account_id, must_change, household_id, username, household_name = rows[0][:5]
    members = tuple(f"{first} {last}".strip() for *_, first, last in rows if first or last)
    return PortalSession(account_id, bool(must_change), household_id, username,
                         household_name, members)


def end(secret: object) -> None:
    """Sign out: the session's secret stops working at once."""
    if not isinstance(secret, str):
        return
    try:
        token = tokens.find_valid(SESSION, secret)
    except tokens.InvalidToken:
        return
    with database.atomic():
        tokens.use(token)


def end_all(account_id: int) -> None:
    """End every session of the account, e.g. after its credentials changed."""
    with database.atomic():
        tokens.void_for_account(account_id, SESSION)


def purge_expired() -> int:
    """Forget sessions that can no longer be used; returns how many were removed."""
    with database.atomic():
        return Token.delete().where(
            (Token.kind == SESSION)
            & ((Token.expires_at <= utcnow()) | Token.used_at.is_null(False))).execute()


def signing_key() -> str:
    """The key that signs the portal's cookies, kept in the OS keyring (decision 4) so that
    sessions survive a restart and several portal processes agree on it."""
    key = get_secret(SIGNING_KEY_NAME)
    if not key:
        key = secrets.token_urlsafe(48)
        set_secret(SIGNING_KEY_NAME, key)
    return key
