"""Sign-up: fresh, with the service's duplicate detection (seed 000), or through the
invitation link a clerk sent from Portal Accounts (seed 002)."""

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from clerkdesk.services import portal
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.sign_up import SignUpOutcome
from clerkdesk.services.tokens import InvalidToken

from . import signed_in
from .forms import field, problem_from
from .links import Answer, arriving_link, dead_link

sign_up = Blueprint("sign_up", __name__)
PAGE = "sign_up"  # also the session key of an invitation's secret
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "postal_code", "birth_date")


@sign_up.route("/sign-up", methods=["GET", "POST"])
def sign_up_page() -> str | Answer:
    # No account exists yet, so a dead invitation offers no "forgot password".
    invitation, answer = arriving_link(PAGE, portal.SIGN_UP, optional=True, offer_forgot=False)
    if answer is not None:
        return answer
    if request.method == "GET":
        return _form(invitation, {})
    if invitation is not None:
        return _accept_invitation(invitation)
    return _fresh_sign_up()


def _fresh_sign_up() -> str | Response:
    values = {name: field(name) for name in PERSON_FIELDS}
    try:
        result = portal.sign_up(**values, username=field("username"),
                                password=field("password"), confirm=field("confirm"))
    except ClerkDeskError as error:
        return _form(None, values, problem_from(error))
    if result.outcome is SignUpOutcome.CREATED:
        signed_in.begin(result.account_id)
        return signed_in.go_home()
    status = "exists" if result.outcome is SignUpOutcome.EXISTS else "review"
    return render_template("message.html", title="Sign up", message=result.message,
                           status=status, show_forgot=result.outcome is SignUpOutcome.EXISTS)


def _accept_invitation(invitation: str) -> str | Response | tuple[str, int]:
    try:
        linked = portal.redeem_sign_up_link(invitation, field("username"), field("password"),
                                            field("confirm"))
    except InvalidToken:
        return dead_link(PAGE, offer_forgot=False)
    except ClerkDeskError as error:
        return _form(invitation, {}, problem_from(error))
    signed_in.begin(linked.account_id)
    return signed_in.go_home()


def _form(invitation: str | None, values: dict[str, str], problem: object = None) -> str:
    return render_template("sign_up.html", invited=invitation is not None, values=values,
                           username=field("username") if request.method == "POST" else "",
                           problem=problem)
