"""Single-use, expiring link tokens: 256 random bits, stored only as their SHA-256."""

import hashlib
import secrets
from datetime import datetime, timedelta

from clerkdesk.models import Token, utcnow

from .errors import ClerkDeskError

MIN_SECRET, MAX_SECRET = 10, 200  # real secrets are 43 characters


class InvalidToken(ClerkDeskError):
    def __init__(self) -> None:
        super().__init__("This link is not valid any more: it was used already, has expired, "
                         "or was mistyped. Ask for a new one.")


def issue(kind: str, lifetime: timedelta, *, account_id: int | None = None,
          household_id: int | None = None) -> str:
    """Store a new token's hash and return the secret, which exists only in the link."""
    secret = secrets.token_urlsafe(32)
    Token.create(kind=kind, token_hash=digest(secret), web_account=account_id,
                 household=household_id, expires_at=utcnow() + lifetime)
    return secret


def find_valid(kind: str, secret: str) -> Token:
    """The unused, unexpired token for `secret`; InvalidToken otherwise (tampered included)."""
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise InvalidToken()
    token = Token.get_or_none((Token.token_hash == digest(secret)) & (Token.kind == kind))
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise InvalidToken()
    return token


def use(token: Token) -> None:
    """Mark used exactly once, even when two requests race for it."""
    claimed = Token.update(used_at=utcnow()).where(
        (Token.id == token.id) & Token.used_at.is_null()).execute()
    if claimed != 1:
        raise InvalidToken()


def void_for_account(account_id: int, kind: str) -> None:
    Token.update(used_at=utcnow()).where(
        (Token.web_account == account_id) & (Token.kind == kind) & Token.used_at.is_null()
    ).execute()


def issued_since(kind: str, account_id: int, since: datetime) -> int:
    return Token.select().where((Token.web_account == account_id) & (Token.kind == kind)
                                & (Token.created_at >= since)).count()


def digest(secret: str) -> str:
    """The form a secret is stored and looked up in."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
