"""Composing a mailing: the templates supervisors keep for mailings, a sample recipient to
preview with, and one test message sent now.

A test message is rendered with the PIN placeholder: it never mints a PIN and never changes
an account, so "Send a test to me" can be pressed as often as needed.
"""

from dataclasses import dataclass

from clerkdesk.models import EmailTemplate, database, utcnow

from . import audit, mailing_targets
from .email_delivery import OutgoingEmail, build_message, mailer_from_settings
from .email_templates import (
    CHANGE_NOTICE,
    FORGOT_USER_NAME,
    PASSWORD_EMAIL,
    PASSWORD_RESET,
    TEST_EMAIL,
    USER_NAME_EMAIL,
    TemplateView,
    get_template,
    template_names,
)
from .errors import NotFound, ValidationError
from .mailing_drafts import MessageDraft, checked, preview
from .mailing_targets import Recipient, Targeting
from .permissions import Permission, require
from .session import StaffSession
from .unit_of_work import transactional
from .validation import clean_text, fold_key, normalise_email

# The program's own emails (forgot password, test email…): a mailing must not overwrite them.
SYSTEM_TEMPLATES = (USER_NAME_EMAIL, PASSWORD_EMAIL, FORGOT_USER_NAME, PASSWORD_RESET,
                    CHANGE_NOTICE, TEST_EMAIL)
TEST_PREFIX = "[TEST] "
# Used when the database has no household yet, so a test can still show the merge fields.
SAMPLE = Recipient(0, None, "00000", "Sample Household", "Sam", "Sample", "", "", "",
                   "", False, "", None, "sample.user", False, False, False)


@dataclass(frozen=True)
class TestSent:
    to: str
    via: str  # the mailer's description: an SMTP server, or the capture folder
    sample: str  # whose merge fields filled it

    @property
    def summary(self) -> str:
        return f"A test went to {self.to} through the {self.via}, filled in for {self.sample}."


def _is_system_name(name: str) -> bool:
    return fold_key(name) in {fold_key(system) for system in SYSTEM_TEMPLATES}


def mailing_template_names() -> list[str]:
    """The templates a mailing can start from (the program's own emails are left out)."""
    return [name for name in template_names() if not _is_system_name(name)]


def load_template(name: str) -> TemplateView:
    """A saved mailing template; NotFound when there is none of that name."""
    if not isinstance(name, str) or _is_system_name(name):
        raise NotFound(f"There is no mailing template called “{str(name)[:100]}”.")
    return get_template(name)


@transactional
def save_mailing_template(actor: StaffSession, name: str, subject: str,
                          body: str) -> TemplateView:
    """Keep subject and body under `name` for later mailings (replacing one of that name)."""
    require(actor, Permission.BULK_EMAIL)
    name = clean_text("template name", name, max_length=100, required=True)
    if _is_system_name(name):
        raise ValidationError("template name", f"“{name}” is one of the program's own emails; "
                              "choose another name for a mailing template.")
    if not isinstance(subject, str) or not subject.strip():
        raise ValidationError("subject", "Enter the subject before saving a template.")
    # The same checks a mailing gets: known merge fields, no PIN in the subject, length.
    draft = checked(MessageDraft(subject, body))
    EmailTemplate.insert(name=name, subject=draft.subject, body=draft.body,
                         changed_at=utcnow(), changed_by=actor.username).on_conflict(
        conflict_target=[EmailTemplate.name],
        preserve=[EmailTemplate.subject, EmailTemplate.body, EmailTemplate.changed_at,
                  EmailTemplate.changed_by]).execute()
    audit.record(actor, "mailing_template.save", "email_template", name)
    return TemplateView(name, draft.subject, draft.body)


def sample_recipient(targeting: Targeting) -> Recipient | None:
    """The first recipient the targeting reaches, or None when it reaches nobody."""
    targeting.check()
    found = mailing_targets.page(targeting, 0, 1)
    return found[0] if found else None


def _recipient_for(household_id: int | None) -> Recipient:
    if household_id is None:  # the first with a login shows <WebID> filled in
        return sample_recipient(Targeting(account_state="has-account")) \
            or sample_recipient(Targeting()) or SAMPLE
    if not isinstance(household_id, int) or isinstance(household_id, bool):
        raise ValidationError("household", "Choose a household from the list.")
    found = sample_recipient(Targeting(household_ids=(household_id,)))
    if found is None:
        raise NotFound(f"There is no active household {household_id}.")
    return found


def send_test(actor: StaffSession, message: MessageDraft, to: str,
              household_id: int | None = None) -> TestSent:
    """Send one test of `message` to `to` now, filled in for that household (or the first),
    with the PIN placeholder; returns how it went out."""
    require(actor, Permission.BULK_EMAIL)
    address = normalise_email("test address", to)
    draft = checked(message)
    recipient = _recipient_for(household_id)
    if draft.needs_login and recipient.account_id is None and recipient is not SAMPLE:
        raise ValidationError("household", f"{recipient.person} has no web login yet, so the "
                              "mailing would skip this household. Choose another household, "
                              "or run Bulk Web ID/PIN Assign first.")
    subject, body, text = preview(draft, recipient)
    if not draft.sends_email:  # texts only: show the text as it would read
        subject, body = "Text message", text
    outgoing = OutgoingEmail(address, (TEST_PREFIX + subject)[:300], body,
                             attachments=draft.attachments if draft.sends_email else ())
    mailer = mailer_from_settings()
    built = build_message(outgoing)
    with mailer:  # outside any transaction: a slow mail server holds no database lock
        mailer.send(built)
    with database.atomic():
        audit.record(actor, "mailing.test", "email", "", household_id=recipient.household_id,
                     to=address)
    return TestSent(address, mailer.description, recipient.person)
