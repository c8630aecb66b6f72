"""Single-use links from emails (reset, sign-in, sign-up).

Their secret arrives in the address bar once: the first visit moves it into the signed
session cookie and redirects to the same page without it, so it never lingers in the
browser's history, a server log or a Referer.
"""

from flask import redirect, render_template, request, session
from werkzeug.wrappers import Response

from clerkdesk.services import portal
from clerkdesk.services.tokens import MAX_SECRET, InvalidToken

Answer = Response | tuple[str, int]


def arriving_link(page: str, kind: str, *, optional: bool = False,
                  offer_forgot: bool = True) -> tuple[str | None, Answer | None]:
    """(the link's secret, None) for a page opened through a usable link of `kind`; (None, the
    answer to send instead) on the first visit (the redirect) or for a dead link. With
    `optional`, a page opened without any link gets (None, None)."""
    if (moved := move_secret_out_of_url(page)) is not None:
        return None, moved
    secret = session.get(page)
    if secret is None and optional:
        return None, None
    if not portal.link_is_usable(kind, secret):
        return None, dead_link(page, offer_forgot=offer_forgot)
    return secret, None


def move_secret_out_of_url(page: str) -> Response | None:
    """On the first visit, keep the link's secret under `page` in the session and redirect
    to the clean address; None when there is nothing to move."""
    secret = request.args.get("token")
    if request.method != "GET" or secret is None:
        return None
    session[page] = secret[:MAX_SECRET]
    return redirect(request.path)


def dead_link(page: str, *, offer_forgot: bool = True) -> tuple[str, int]:
    """The page for a link that was used, expired or mistyped (410 Gone); "Forgot your
    password?" is offered only where the household has an account to recover."""
    session.pop(page, None)
    return render_template("message.html", title="This link cannot be used",
                           message=InvalidToken().args[0], show_forgot=offer_forgot), 410
