"""What a security reviewer looks for in front of every page: headers, the session cookie's
flags, and a per-address limit on the forms that check or send credentials."""

import math
import time

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

# No script at all, styles only from our own stylesheet, and no framing by other sites.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if not request.path.startswith("/static/"):
        # Pages show names and carry form tokens: no shared or back-button cache keeps them.
        response.headers["Cache-Control"] = "no-store"
    return response


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked `Secure` whenever the request came over TLS (directly or
    through a trusted proxy), so one configuration serves both a test on loopback and a
    site behind HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class AddressThrottle:
    """At most `limit` credential requests (sign-in, forgot, reset, sign-up, change) per
    client address: it stops a guesser long before the account lockout would lock a
    household out, and stops one address from mass-mailing forgot-password links."""

    def __init__(self, limit: str) -> None:
        self.item: RateLimitItem = parse(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, address: str) -> bool:
        return self.limiter.hit(self.item, "credentials", address)

    def retry_after(self, address: str) -> int:
        """Whole seconds until this address may try again."""
        reset_at = self.limiter.get_window_stats(self.item, "credentials", address).reset_time
        return max(1, math.ceil(reset_at - time.time()))
