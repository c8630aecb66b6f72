"""Editable email templates and their merge fields (<WebID>, <WebPin>, …)."""

import re
from dataclasses import dataclass
from pathlib import Path

from clerkdesk.models import EmailTemplate, utcnow

from . import audit
from .errors import NotFound, ValidationError
from .permissions import Permission, require
from .session import StaffSession
from .unit_of_work import transactional
from .validation import clean_text

MERGE_FIELDS = ("WebID", "WebPin", "FirstName", "LastName", "HouseholdName", "PortalLink",
                "ResetLink")
USER_NAME_EMAIL = "Forgotten PIN Email 1"
PASSWORD_EMAIL = "Forgotten PIN Email 2"
FORGOT_USER_NAME = "Forgot User Name"
PASSWORD_RESET = "Password Reset"
CHANGE_NOTICE = "Credentials Changed Notice"
TEST_EMAIL = "Test Email"
WELCOME = "Welcome"
SIGN_IN_LINK = "Sign-in Link"
SIGN_UP_LINK = "Sign-up Link"
CUSTOMER_CREDENTIALS = "Customer Portal Credentials"
_DEFAULT_FILES = {
    USER_NAME_EMAIL: "forgotten-pin-email-1.txt",
    PASSWORD_EMAIL: "forgotten-pin-email-2.txt",
    FORGOT_USER_NAME: "forgot-user-name.txt",
    PASSWORD_RESET: "password-reset.txt",
    CHANGE_NOTICE: "credentials-changed-notice.txt",
    TEST_EMAIL: "test-email.txt",
    WELCOME: "welcome.txt",
    SIGN_IN_LINK: "sign-in-link.txt",
    SIGN_UP_LINK: "sign-up-link.txt",
    CUSTOMER_CREDENTIALS: "customer-portal-credentials.txt",
}
TEMPLATE_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "email_templates"
_FIELD = re.compile(r"<([A-Za-z][A-Za-z0-9]*)>")


@dataclass(frozen=True)
class TemplateView:
    name: str
    subject: str
    body: str


def ensure_default_templates() -> None:
    """Add the shipped templates that are missing; edited ones are kept."""
    for name, file_name in _DEFAULT_FILES.items():
        if EmailTemplate.select().where(EmailTemplate.name == name).exists():
            continue
        subject, body = _read_default(file_name)
        EmailTemplate.create(name=name, subject=subject, body=body)


def get_template(name: str) -> TemplateView:
    row = EmailTemplate.get_or_none(EmailTemplate.name == name)
    if row is None:
        raise NotFound(f"There is no email template called “{name}”.")
    return TemplateView(row.name, row.subject, row.body)


def template_names() -> list[str]:
    return [row.name for row in EmailTemplate.select(EmailTemplate.name)
            .order_by(EmailTemplate.name)]


@transactional
def save_template(actor: StaffSession, name: str, subject: str, body: str) -> TemplateView:
    require(actor, Permission.SETTINGS_EDIT)
    name = clean_text("template name", name, max_length=100, required=True)
    subject = clean_text("subject", subject, max_length=300, required=True)
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("body", "The email body is empty.")
    for text, field in ((subject, "subject"), (body, "body")):
        unknown = unknown_fields(text)
        if unknown:
            raise ValidationError(field, f"Unknown merge field {unknown[0]} in the {field}. "
                                  f"Merge fields: {', '.join(f'<{f}>' for f in MERGE_FIELDS)}.")
    EmailTemplate.insert(name=name, subject=subject, body=body, changed_at=utcnow(),
                         changed_by=actor.username).on_conflict(
        conflict_target=[EmailTemplate.name],
        preserve=[EmailTemplate.subject, EmailTemplate.body, EmailTemplate.changed_at,
                  EmailTemplate.changed_by]).execute()
    audit.record(actor, "template.save", "email_template", name)
    return TemplateView(name, subject, body)


def unknown_fields(text: str) -> list[str]:
    return [f"<{name}>" for name in _FIELD.findall(text) if name not in MERGE_FIELDS]


def render(template: TemplateView, values: dict[str, str]) -> tuple[str, str]:
    """Subject and body with every merge field filled; an unknown or unfillable one is an
    error before anything is sent."""
    return _fill(template.subject, values, template.name), _fill(template.body, values,
                                                                 template.name)


def _fill(text: str, values: dict[str, str], template_name: str) -> str:
    def replace(match: re.Match) -> str:
        field = match.group(1)
        if field not in MERGE_FIELDS:
            raise ValidationError("template", f"The template “{template_name}” uses an unknown "
                                  f"merge field <{field}>. Correct it in Settings → Email "
                                  "templates.")
        value = values.get(field)
        if not value:
            raise ValidationError("template", _missing_value_message(field, template_name))
        return value

    return _FIELD.sub(replace, text)


def _missing_value_message(field: str, template_name: str) -> str:
    if field == "PortalLink":
        return "Set the portal address (Settings → Portal) before sending this email."
    return f"The template “{template_name}” uses <{field}>, which this email cannot fill."


def _read_default(file_name: str) -> tuple[str, str]:
    text = (TEMPLATE_FOLDER / file_name).read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    return first.removeprefix("Subject:").strip(), body.strip() + "\n"
