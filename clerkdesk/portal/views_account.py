"""Signing in and out, the landing page, and changing the sign-in details (seed 001)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from clerkdesk.services import portal
from clerkdesk.services.errors import ClerkDeskError

from . import signed_in
from .forms import Problem, field, problem_from

account = Blueprint("account", __name__)
CHANGED = "Your sign-in details were changed. Please sign in with them."


@account.get("/")
@signed_in.required
def home() -> str:
    return render_template("home.html", signed=signed_in.current(),
                           may_change=portal.self_change_allowed())


@account.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response:
    if signed_in.current() is not None:
        return signed_in.go_home()
    if not _posted():
        return render_template("sign_in.html", username="")
    username = field("username")
    result = portal.authenticate(username, field("password"))
    if not result.signed_in:
        return render_template("sign_in.html", username=username,
                               problem=Problem(result.message), outcome=result.outcome.value)
    signed_in.begin(result.account_id)
    if result.outcome is portal.Outcome.MUST_CHANGE:
        flash(result.message)
        return redirect(url_for("account.first_login"))
    return signed_in.go_home()


@account.post("/sign-out")
def sign_out() -> Response:
    signed_in.end()
    flash("You are signed out.")
    return redirect(url_for("account.sign_in"))


@account.route("/first-login", methods=["GET", "POST"])
@signed_in.required
def first_login() -> str | Response:
    """Choose a user name and password in place of the assigned ones; the same ones may be
    entered again (seed 001)."""
    signed = signed_in.current()
    if not signed.must_change:
        return signed_in.go_home()
    if not _posted():
        return render_template("first_login.html", username=signed.username)
    try:
        portal.first_login_change(signed.account_id, field("username"), field("password"),
                                  field("confirm"))
    except ClerkDeskError as error:
        return render_template("first_login.html", username=field("username"),
                               problem=problem_from(error))
    return _changed(signed.account_id)


@account.route("/change-sign-in", methods=["GET", "POST"])
@signed_in.required
def change_sign_in() -> str | Response:
    """Change the user name and password later, with the current password; not there at
    all when the site forbids it."""
    if not portal.self_change_allowed():
        abort(404)
    signed = signed_in.current()
    if not _posted():
        return render_template("change_sign_in.html", username=signed.username)
    try:
        portal.change_credentials(signed.username, field("current_password"), field("username"),
                                  field("password"), field("confirm"))
    except ClerkDeskError as error:
        if signed_in.refreshed() is None:  # the wrong current password just locked it
            signed_in.end()
            flash(str(error))
            return redirect(url_for("account.sign_in"))
        return render_template("change_sign_in.html", username=field("username"),
                               problem=problem_from(error))
    return _changed(signed.account_id)


def _changed(account_id: int) -> Response:
    signed_in.end_everywhere(account_id)
    flash(CHANGED)
    return redirect(url_for("account.sign_in"))


def _posted() -> bool:
    return request.method == "POST"
