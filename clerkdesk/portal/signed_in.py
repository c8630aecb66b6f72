"""Who is signed in: the browser's signed cookie carries only a session secret, and the
server (services.portal_sessions) decides on every request whether it still counts."""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import g, redirect, session, url_for
from werkzeug.wrappers import Response

from clerkdesk.services import portal_sessions
from clerkdesk.services.portal_sessions import PortalSession

View = TypeVar("View", bound=Callable[..., object])
SESSION_KEY = "sid"


def current() -> PortalSession | None:
    """The live session of this request, looked up once."""
    if "portal_session" not in g:
        g.portal_session = portal_sessions.current(session.get(SESSION_KEY))
    return g.portal_session


def refreshed() -> PortalSession | None:
    """The session looked up again, after something in this request may have ended it."""
    g.pop("portal_session", None)
    return current()


def begin(account_id: int) -> None:
    """Sign in: a brand-new cookie (new form token too), so nothing from before the sign-in,
    such as a session id planted by someone else, carries over."""
    end()
    session[SESSION_KEY] = portal_sessions.start(account_id)
    session.permanent = True  # the idle timeout of the app's session lifetime applies
    g.pop("portal_session", None)


def end() -> None:
    """Sign out this browser: its session secret stops working on the server too."""
    portal_sessions.end(session.get(SESSION_KEY))
    session.clear()
    g.pop("portal_session", None)


def end_everywhere(account_id: int) -> None:
    """After a credential change: every browser signed in to this account is signed out."""
    portal_sessions.end_all(account_id)
    end()


def required(view: View) -> View:
    """The page needs a signed-in household; one that must change its assigned credentials
    is sent to that page first (seed 001)."""

    @wraps(view)
    def guarded(*args: object, **kwargs: object) -> object:
        signed_in = current()
        if signed_in is None:
            return redirect(url_for("account.sign_in"))
        if signed_in.must_change and view.__name__ != "first_login":
            return redirect(url_for("account.first_login"))
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def go_home() -> Response:
    return redirect(url_for("account.home"))
