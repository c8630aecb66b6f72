"""Forgot user name, forgot password, the reset link and the one-time sign-in link.

A link is used up only by the form's POST, never by a mail scanner that merely opens it.
"""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from clerkdesk.services import portal
from clerkdesk.services.errors import ClerkDeskError, ValidationError
from clerkdesk.services.tokens import InvalidToken
from clerkdesk.services.validation import normalise_email

from . import signed_in
from .background import run_later
from .forms import Problem, field, problem_from
from .links import Answer, arriving_link, dead_link

recovery = Blueprint("recovery", __name__)


@recovery.route("/forgot-user-name", methods=["GET", "POST"])
def forgot_username() -> str:
    if request.method == "GET":
        return render_template("forgot_username.html", email="")
    email = field("email")
    try:
        address = normalise_email("email", email)
    except ValidationError as error:
        return render_template("forgot_username.html", email=email,
                               problem=problem_from(error))
    run_later(lambda: portal.forgot_username(address))
    return render_template("sent.html", answer=portal.FORGOT_USERNAME_ANSWER)


@recovery.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> str:
    if request.method == "GET":
        return render_template("forgot_password.html", username="")
    username = field("username").strip()
    if not username:
        return render_template("forgot_password.html", username="",
                               problem=Problem("Enter your user name.", "username"))
    run_later(lambda: portal.forgot_password(username))
    return render_template("sent.html", answer=portal.FORGOT_PASSWORD_ANSWER)


@recovery.route("/reset", methods=["GET", "POST"])
def reset() -> str | Answer:
    token, answer = arriving_link("reset", portal.RESET)
    if answer is not None:
        return answer
    if request.method == "GET":
        return render_template("reset.html")
    try:
        result = portal.reset_password(token, field("password"), field("confirm"))
    except InvalidToken:
        return dead_link("reset")
    except ClerkDeskError as error:
        return render_template("reset.html", problem=problem_from(error))
    signed_in.end_everywhere(result.account_id)
    flash(result.message)
    return redirect(url_for("account.sign_in"))


@recovery.route("/link-sign-in", methods=["GET", "POST"])
def link_sign_in() -> str | Answer:
    token, answer = arriving_link("link_sign_in", portal.SIGN_IN)
    if answer is not None:
        return answer
    if request.method == "GET":
        return render_template("link_sign_in.html")
    try:
        linked = portal.redeem_login_link(token)
    except InvalidToken:
        return dead_link("link_sign_in")
    except portal.LinkRefused as refusal:
        session.pop("link_sign_in", None)
        return render_template("message.html", title="Sign-in link", message=str(refusal)), 403
    signed_in.begin(linked.account_id)
    return signed_in.go_home()
