"""The reference self-service portal: a small Flask app over `clerkdesk.services.portal`.

It opens no database itself: the caller (`clerkdesk portal serve`, or a test) opens the
same database the desktop program uses, and the app talks to the service layer only.
"""

import logging
from datetime import timedelta

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from clerkdesk.services import portal_sessions

from . import signed_in
from .background import EXTENSION, Background
from .security import AddressThrottle, TlsAwareSessionInterface, add_security_headers
from .views_account import account
from .views_recovery import recovery
from .views_sign_up import sign_up

log = logging.getLogger(__name__)
DEFAULT_LIMIT = "10 per minute"
# Every form that checks a credential or sends an email counts against the address limit.
THROTTLED = frozenset({"account.sign_in", "account.first_login", "account.change_sign_in",
                       "recovery.forgot_username", "recovery.forgot_password",
                       "recovery.reset", "recovery.link_sign_in", "sign_up.sign_up_page"})
MAX_FORM_BYTES = 256 * 1024  # room for a long passphrase, not for a flood
THROTTLE = "clerkdesk_throttle"


def create_app(*, limit: str = DEFAULT_LIMIT, organisation: str = "",
               secret_key: str | None = None) -> Flask:
    """The portal app. `limit` is the per-address limit on credential forms, in the
    `limits` notation ("10 per minute"); `secret_key` is for tests (default: the keyring's)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or portal_sessions.signing_key(),
        SESSION_COOKIE_NAME="clerkdesk_portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Strict would drop the cookie on links from email
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=30),  # the idle timeout
        WTF_CSRF_TIME_LIMIT=None,  # a form token lives as long as its session
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        ORGANISATION=organisation or "Member portal",
    )
    app.session_interface = TlsAwareSessionInterface()
    CSRFProtect(app)
    app.extensions[EXTENSION] = Background()
    app.extensions[THROTTLE] = AddressThrottle(limit)
    for blueprint in (account, recovery, sign_up):
        app.register_blueprint(blueprint)
    app.before_request(_throttle)
    app.after_request(add_security_headers)
    _register_error_pages(app)
    app.context_processor(lambda: {"organisation": app.config["ORGANISATION"],
                                   "signed_in": signed_in.current() is not None})
    return app


def _throttle() -> tuple[str, int, dict[str, str]] | None:
    if request.method != "POST" or request.endpoint not in THROTTLED:
        return None
    throttle: AddressThrottle = current_app.extensions[THROTTLE]
    address = request.remote_addr or "unknown"
    if throttle.allow(address):
        return None
    wait = throttle.retry_after(address)
    log.warning("Portal rate limit reached for %s on %s", address, request.endpoint)
    page = render_template("message.html", title="Too many attempts",
                           message=f"Too many attempts from your network. Please wait "
                                   f"{_duration(wait)} and try again.")
    return page, 429, {"Retry-After": str(wait)}


def _register_error_pages(app: Flask) -> None:
    def page(title: str, message: str, status: int) -> tuple[str, int]:
        return render_template("message.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError) -> tuple[str, int]:
        return page("Please try again", "This form had expired or was opened in another "
                    "window. Nothing was changed; please fill it in again.", 400)

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return page("Page not found", "There is no page at this address.", 404)

    @app.errorhandler(405)
    def wrong_method(error: Exception) -> tuple[str, int]:
        return page("Page not found", "There is no page at this address.", 405)

    @app.errorhandler(413)
    def too_large(error: Exception) -> tuple[str, int]:
        return page("Too much text", "What you sent is far longer than any form here "
                    "accepts. Nothing was changed.", 413)

    @app.errorhandler(500)
    def failed(error: Exception) -> tuple[str, int]:
        return page("Something went wrong", "The portal could not finish this. Nothing "
                    "was changed; please try again in a moment.", 500)


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"
