"""What a supervisor writes for a mailing, checked before anything is queued, and the merge
fields filled for one recipient. A preview never mints a PIN: `<WebPin>` shows a placeholder."""

from dataclasses import dataclass, field

from .email_delivery import MAX_ATTACHMENT_BYTES, Attachment
from .email_templates import MERGE_FIELDS, TemplateView, render, unknown_fields
from .errors import ValidationError
from .mailing_targets import Recipient
from .outbox import WEB_PIN
from .settings import get_setting
from .validation import clean_text, normalise_email

CREDENTIAL_FIELDS = ("<WebID>", "<WebPin>")
PIN_PLACEHOLDER = "[PIN: minted when the message is sent]"
OWNER_PASSWORD_TEXT = "(the password you chose yourself; it is unchanged)"
CHANNEL_LABELS = {"email": "Email only", "text": "Texts only", "both": "Email and text"}
MAX_BODY = 100_000
TEXT_LIMIT = 1_600  # ten text-message segments; gateways cut or refuse longer ones


@dataclass(frozen=True)
class MessageDraft:
    subject: str = ""
    body: str = ""
    cc: tuple[str, ...] = ()
    channels: str = "email"
    skip_text_if_email: bool = True
    text_body: str = ""  # empty: the text uses the email body
    attachments: tuple[Attachment, ...] = field(default=(), repr=False)

    @property
    def sends_email(self) -> bool:
        return self.channels in ("email", "both")

    @property
    def sends_text(self) -> bool:
        return self.channels in ("text", "both")

    @property
    def text(self) -> str:
        return self.text_body or self.body

    @property
    def carries_pin(self) -> bool:
        return WEB_PIN in self.body or (self.sends_text and WEB_PIN in self.text)

    @property
    def needs_login(self) -> bool:
        texts = [self.subject, self.body, self.text if self.sends_text else ""]
        return any(name in text for name in CREDENTIAL_FIELDS for text in texts)

    @property
    def uses_portal_link(self) -> bool:
        return "<PortalLink>" in self.subject + self.body + self.text


def checked(draft: MessageDraft) -> MessageDraft:
    """The draft with clean fields, or a ValidationError naming what to fix."""
    if draft.channels not in CHANNEL_LABELS:
        raise ValidationError("process option", "Send email, texts, or both.")
    cc = tuple(normalise_email("CC", address) for address in draft.cc if address.strip())
    subject = clean_text("subject", draft.subject, max_length=300,
                         required=draft.sends_email)
    for label, text in (("email body", draft.body), ("text body", draft.text_body)):
        if not isinstance(text, str) or len(text) > MAX_BODY:
            raise ValidationError(label, f"The {label} is longer than {MAX_BODY:,} characters.")
    if draft.sends_email and not draft.body.strip():
        raise ValidationError("email body", "Write the email body.")
    if draft.sends_text and not draft.text.strip():
        raise ValidationError("text body", "Write the text, or send email only.")
    if draft.sends_text and len(draft.text) > TEXT_LIMIT:
        raise ValidationError("text body", f"A text holds at most {TEXT_LIMIT:,} characters; "
                              f"this one has {len(draft.text):,}. Write a shorter text body.")
    _known_fields(subject, draft.body, draft.text if draft.sends_text else "")
    _one_pin(draft)
    _attachments_fit(draft.attachments)
    return MessageDraft(subject, draft.body, cc, draft.channels, draft.skip_text_if_email,
                        draft.text_body, draft.attachments)


def _known_fields(*texts: str) -> None:
    for text in texts:
        unknown = unknown_fields(text)
        if unknown:
            raise ValidationError("merge field", f"Unknown merge field {unknown[0][:40]}. "
                                  f"Merge fields: {', '.join(f'<{f}>' for f in MAILING_FIELDS)}.")
        if "<ResetLink>" in text:
            raise ValidationError("merge field", "<ResetLink> works only in the "
                                  "forgot-password email; a mailing cannot fill it.")


def _one_pin(draft: MessageDraft) -> None:
    """Each <WebPin> sent mints a new one and the older stops working: one per recipient."""
    if WEB_PIN in draft.subject:
        raise ValidationError("subject", "<WebPin> cannot go in the subject: it would show in "
                              "every inbox list. Put it in the body.")
    if draft.channels == "both" and not draft.skip_text_if_email \
            and WEB_PIN in draft.body and WEB_PIN in draft.text:
        raise ValidationError("text body", "With email and text both, a PIN can go in only one "
                              "of them (each would mint its own, and the first would stop "
                              "working). Tick “Skip text if email address available”, or take "
                              "<WebPin> out of the text body.")


def _attachments_fit(attachments: tuple[Attachment, ...]) -> None:
    total = sum(len(a.content) for a in attachments)
    if total > MAX_ATTACHMENT_BYTES:
        raise ValidationError("attachments", f"The attachments come to {total / 2**20:.1f} MB; "
                              f"at most {MAX_ATTACHMENT_BYTES // 2**20} MB may go with a "
                              "mailing. Put a link to large files in the body instead.")
    for attachment in attachments:
        clean_text("attachment name", attachment.file_name, max_length=255, required=True)


MAILING_FIELDS = tuple(name for name in MERGE_FIELDS if name != "ResetLink")


def merge_values(recipient: Recipient, pin: str = WEB_PIN, portal: str | None = None
                 ) -> dict[str, str]:
    """Every merge field for this recipient; `<WebPin>` stays as given (the sender fills it).
    A bulk caller passes `portal` read once: a setting read per message was half the time
    of queueing a large mailing."""
    return {
        "WebID": recipient.web_id,
        "WebPin": pin,
        "FirstName": recipient.first or recipient.household_name,
        "LastName": recipient.last or recipient.household_name,
        "HouseholdName": recipient.household_name,
        "PortalLink": str(get_setting("portal.url")) if portal is None else portal,
    }


def fill(subject: str, body: str, recipient: Recipient, pin: str = WEB_PIN,
         portal: str | None = None) -> tuple[str, str]:
    """Subject and body for one recipient; an unfillable field raises ValidationError."""
    return render(TemplateView("mailing", subject, body), merge_values(recipient, pin, portal))


def preview(draft: MessageDraft, recipient: Recipient, reissue_owner_passwords: bool = False
            ) -> tuple[str, str, str]:
    """(subject, email body, text) as this recipient would get them, with a placeholder
    where the PIN goes: a preview mints nothing."""
    draft = checked(draft)
    keeps_own = recipient.owner_password and not reissue_owner_passwords
    pin = OWNER_PASSWORD_TEXT if keeps_own else PIN_PLACEHOLDER
    subject, body = fill(draft.subject or "-", draft.body or "-", recipient, pin)
    _, text = fill("-", draft.text or "-", recipient, pin)
    return subject, body, text
