"""Delivering email: SMTP through yagmail, or capture mode (each message an .eml file).

yagmail opens, secures and signs in the connection; the messages themselves are built with
the standard library as plain UTF-8 text, so a name with HTML in it stays text, and one
connection carries many messages.

A bulk sender builds its messages with `Mailer.prepare`: over SMTP that gives the bytes the
standard library would put on the wire (`PreparedEmail`), but written directly — a header that
is plain ASCII and short goes out as is, any other (accents, quotes, long lists) is folded by
the standard library's header registry, the body is encoded as `set_content` would (7bit,
8bit, quoted-printable or base64) — at a fraction of the cost of an `EmailMessage`.
"""

import base64
import binascii
import logging
import mimetypes
import re
import smtplib
import socket
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from functools import lru_cache
from pathlib import Path, PurePath
from types import TracebackType

import yagmail

from clerkdesk.models import data_dir, utcnow
from clerkdesk.models.secret_store import get_secret, set_secret

from . import audit
from .email_templates import TEST_EMAIL, get_template, render
from .errors import ClerkDeskError, ValidationError
from .permissions import Permission, require
from .session import StaffSession
from .settings import get_setting
from .validation import normalise_email

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 15
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # together; most mail servers refuse much more


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content: bytes
    content_type: str = ""

    @classmethod
    def from_file(cls, path: str) -> "Attachment":
        """Read at most one byte more than the limit: enough to refuse a huge file."""
        with open(path, "rb") as handle:
            content = handle.read(MAX_ATTACHMENT_BYTES + 1)
        return cls(PurePath(path).name, content)

    @property
    def mime_type(self) -> str:
        return self.content_type or mimetypes.guess_type(self.file_name)[0] \
            or "application/octet-stream"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class PreparedEmail:
    """A message ready for the wire: its envelope and its bytes (CRLF line ends), as
    `smtplib.send_message` would flatten the `EmailMessage` of `build_message`."""
    to: str
    sender: str  # the envelope's MAIL FROM
    recipients: tuple[str, ...]  # RCPT TO: the To address and every Cc
    data: bytes
    eight_bit: bool = False  # the body holds raw UTF-8 (8BITMIME)

    def __getitem__(self, name: str) -> str | None:
        """A header's value as written (folded lines unfolded), or None."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
        for line in re.split(r"\r\n(?![ \t])", head):
            field, _, value = line.partition(":")
            if field.lower() == name.lower():
                return re.sub(r"\r\n[ \t]", " ", value.strip())
        return None

    def as_bytes(self) -> bytes:
        return self.data


class DeliveryError(ClerkDeskError):
    """The message could not be handed to the mail server; `permanent` for a refused address."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(ABC):
    """Send messages over one connection: ``with mailer: mailer.send(a); mailer.send(b)``."""

    description = ""

    def __enter__(self) -> "Mailer":
        self.open()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:  # noqa: B027 - capture needs no connection
        pass

    def close(self) -> None:  # noqa: B027
        pass

    def prepare(self, outgoing: OutgoingEmail,
                from_header: str | None = None) -> "EmailMessage | PreparedEmail":
        """The message as this mailer's `send` takes it best."""
        return build_message(outgoing, from_header)

    @abstractmethod
    def send(self, message: "EmailMessage | PreparedEmail") -> None: ...


class CaptureMailer(Mailer):
    """Rehearsal: every message is written to a folder and nothing leaves the machine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"capture mode (folder {folder})"

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: "EmailMessage | PreparedEmail") -> None:
        self.open()
        stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", str(message["To"]))[:80]
        (self.folder / f"{stamp}-{safe_to}.eml").write_bytes(message.as_bytes())


class SmtpMailer(Mailer):
    def __init__(self, host: str, port: int, security: str, user: str, password: str | None,
                 verify_certificate: bool = True) -> None:
        self.host, self.port, self.security, self.user = host, port, security, user
        self.password = password
        self.verify_certificate = verify_certificate
        self.client: yagmail.SMTP | None = None
        self.description = f"SMTP server {host}:{port}"

    def open(self) -> None:
        if self.client is not None:
            return
        # Left to itself, smtplib encrypts without checking whom it talks to: anyone in between
        # could read the SMTP password and every mailed PIN. Check the certificate and name.
        context = ssl.create_default_context()
        if not self.verify_certificate:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        ssl_only = {"context": context} if self.security == "ssl" else {}
        client = yagmail.SMTP(
            user=self.user or None, password=self.password or "", host=self.host,
            port=self.port, smtp_ssl=self.security == "ssl",
            smtp_starttls={"context": context} if self.security == "starttls" else False,
            smtp_skip_login=not self.user, soft_email_validation=False,
            timeout=SMTP_TIMEOUT_SECONDS, **ssl_only)
        # yagmail assumes Gmail and appends "@gmail.com" to a bare user name; sign in as given.
        client.user = self.user
        try:
            client.login()
        except (OSError, smtplib.SMTPException) as error:
            client.close()
            raise DeliveryError(_explain_connection(self, error)) from None
        self.client = client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def prepare(self, outgoing: OutgoingEmail,
                from_header: str | None = None) -> "EmailMessage | PreparedEmail":
        return prepare_message(outgoing, from_header)

    def send(self, message: "EmailMessage | PreparedEmail") -> None:
        if self.client is not None and getattr(self.client.smtp, "sock", None) is None:
            self.close()  # smtplib hung up (a 421 from the server): start a new connection
        self.open()
        try:
            if isinstance(message, PreparedEmail):
                smtp = self.client.smtp
                options = ["BODY=8BITMIME"] if message.eight_bit and smtp.has_extn(
                    "8bitmime") else []
                refused = smtp.sendmail(message.sender, list(message.recipients),
                                        message.data, options)
            else:
                refused = self.client.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            reasons = "; ".join(f"{a}: {c} {m.decode(errors='replace')}"
                                for a, (c, m) in error.recipients.items())
            raise DeliveryError(f"The mail server refused the address ({reasons}).",
                                permanent=all(c >= 500 for c, _ in error.recipients.values())
                                ) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise DeliveryError(f"The mail server answered {error.smtp_code}: "
                                f"{error.smtp_error.decode(errors='replace')}",
                                permanent=error.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise DeliveryError(f"The connection to the mail server was lost ({error}). "
                                "Nothing more was sent; try again.") from None
        if refused:
            raise DeliveryError(f"The mail server refused {', '.join(refused)}.", permanent=True)


def mailer_from_settings() -> Mailer:
    if get_setting("email.mode") == "capture":
        return CaptureMailer(capture_folder())
    host = str(get_setting("email.smtp_host"))
    if not host:
        raise DeliveryError("Email is not set up: enter the SMTP server in Settings → Email, "
                            "or choose capture mode.")
    user = str(get_setting("email.smtp_user"))
    password = get_secret(smtp_keyring_name(user, host)) if user else None
    if user and not password:
        raise DeliveryError(f"No SMTP password is stored for {user} at {host}. Store it with "
                            "`clerkdesk email password` (it is kept in the OS keyring).")
    return SmtpMailer(host, int(get_setting("email.smtp_port")),
                      str(get_setting("email.smtp_security")), user, password,
                      bool(get_setting("email.smtp_verify_certificate")))


def capture_folder() -> Path:
    configured = str(get_setting("email.capture_folder"))
    return Path(configured) if configured else data_dir() / "captured-mail"


def sender_header() -> str:
    """The From header from the settings; a bulk sender reads it once, not per message."""
    sender = str(get_setting("email.from_address"))
    if not sender:
        raise DeliveryError("Enter the From address in Settings → Email before sending.")
    return formataddr((str(get_setting("email.from_name")), sender))


def build_message(outgoing: OutgoingEmail, from_header: str | None = None) -> EmailMessage:
    from_header = from_header or sender_header()
    message = EmailMessage()
    message["From"] = from_header
    message["To"] = outgoing.to
    if outgoing.cc:
        message["Cc"] = ", ".join(outgoing.cc)
    message["Subject"] = outgoing.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=from_header.rsplit("@", 1)[-1].rstrip(">"))
    message.set_content(outgoing.body)
    for attachment in outgoing.attachments:
        main, _, sub = attachment.mime_type.partition("/")
        message.add_attachment(attachment.content, maintype=main, subtype=sub or "octet-stream",
                               filename=attachment.file_name)
    return message


# --- building the bytes directly (PreparedEmail) -------------------------------------------

MAX_LINE = SMTP_POLICY.max_line_length  # 78, as EmailMessage folds and encodes
_ATEXT = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"  # RFC 5322 atext but "=" and "?" (encoded words)
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# Printable ASCII words, one space apart, no encoded word: what the registry writes unchanged.
_PLAIN_TEXT = re.compile(r"(?!.*=\?)[!-~]+(?: [!-~]+)*")


def _registry_header(name: str, value: str) -> str:
    """The header as `EmailMessage` stores and `send_message` writes it (same checks)."""
    return SMTP_POLICY.header_store_parse(name, value)[1].fold(policy=SMTP_POLICY)


def _text_header(name: str, value: str) -> str:
    if len(name) + 2 + len(value) <= MAX_LINE and _PLAIN_TEXT.fullmatch(value):
        return f"{name}: {value}\r\n"
    return _registry_header(name, value)


@lru_cache(maxsize=32)
def _sender_parts(from_header: str) -> tuple[str, str, str] | None:
    """(the From header as written, the envelope sender, the Message-ID domain); None when
    the sender needs SMTPUTF8 (then send_message decides). Once per From, not per message."""
    header = SMTP_POLICY.header_store_parse("From", from_header)[1]
    sender = getaddresses([str(header)])[0][1]
    if not sender.isascii():
        return None
    return header.fold(policy=SMTP_POLICY), sender, from_header.rsplit("@", 1)[-1].rstrip(">")


def _text_body(body: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, the encoded body with CRLF line ends), chosen as
    `EmailMessage.set_content(body)` chooses: 7bit or 8bit when every line fits in 78
    bytes, else the shorter of quoted-printable and base64 on the first ten lines."""
    lines = body.encode("utf-8").splitlines()
    text = b"\r\n".join(lines) + b"\r\n"
    if max(map(len, lines), default=0) <= MAX_LINE:
        return ("7bit" if text.isascii() else "8bit"), text
    sniff = b"\n".join(lines[:10]) + b"\n"
    if len(binascii.b2a_qp(sniff)) > len(binascii.b2a_base64(sniff)):
        # As the standard library: base64 of the text with LF line ends, 76 characters a line.
        encoded = base64.encodebytes(b"\n".join(lines) + b"\n")
        return "base64", encoded.replace(b"\n", b"\r\n")
    return "quoted-printable", binascii.b2a_qp(text)


def prepare_message(outgoing: OutgoingEmail,
                    from_header: str | None = None) -> EmailMessage | PreparedEmail:
    """What `build_message` builds, flattened as `send_message` would, without building an
    `EmailMessage` when nothing calls for one; with attachments, or an address that is not a
    plain ASCII one (a display name, SMTPUTF8), the `EmailMessage` itself."""
    from_header = from_header or sender_header()
    parts = _sender_parts(from_header)
    recipients = (outgoing.to, *outgoing.cc)
    if outgoing.attachments or parts is None or not all(
            _PLAIN_ADDRESS.fullmatch(address) for address in recipients):
        return build_message(outgoing, from_header)
    from_block, sender, domain = parts
    encoding, body = _text_body(outgoing.body)
    message_id = make_msgid(domain=domain)
    head = "".join((
        from_block,
        _text_header("To", outgoing.to),
        _text_header("Cc", ", ".join(outgoing.cc)) if outgoing.cc else "",
        _text_header("Subject", outgoing.subject),
        f"Date: {formatdate(localtime=True)}\r\n",
        _text_header("Message-ID", message_id) if _PLAIN_DOMAIN.fullmatch(domain)
        else _registry_header("Message-ID", message_id),
        'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n"
        "MIME-Version: 1.0\r\n\r\n"))
    return PreparedEmail(outgoing.to, sender, recipients, head.encode("ascii") + body,
                         encoding == "8bit")


def deliver(messages: list[OutgoingEmail]) -> None:
    """Send all of them over one connection; the first failure raises DeliveryError."""
    built = [build_message(m) for m in messages]
    with mailer_from_settings() as mailer:
        for message in built:
            mailer.send(message)


def send_test_email(actor: StaffSession, to: str) -> str:
    """Send the Test Email template to `to`; returns how it went out (SMTP or capture)."""
    require(actor, Permission.SETTINGS_EDIT)
    address = normalise_email("to", to)
    subject, body = render(get_template(TEST_EMAIL), {})
    mailer = mailer_from_settings()
    with mailer:
        mailer.send(build_message(OutgoingEmail(address, subject, body)))
    audit.record(actor, "email.test", "email", "", to=address)
    return mailer.description


def smtp_keyring_name(user: str, host: str) -> str:
    return f"smtp:{user}@{host}"


def store_smtp_password(actor: StaffSession, password: str) -> str:
    """Keep the SMTP password in the OS keyring; returns the entry's name."""
    require(actor, Permission.SETTINGS_EDIT)
    user, host = str(get_setting("email.smtp_user")), str(get_setting("email.smtp_host"))
    if not user or not host:
        raise ValidationError("email.smtp_user", "Set the SMTP server and user first.")
    if not password:
        raise ValidationError("password", "Enter the password to store.")
    name = smtp_keyring_name(user, host)
    set_secret(name, password)
    return name


def _explain_connection(mailer: SmtpMailer, error: Exception) -> str:
    where = f"{mailer.host}:{mailer.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"The mail server {where} did not prove who it is ({error.verify_message}). "
                "Check the server name in Settings → Email. Only if your own server uses a "
                "self-signed certificate, turn off “Check the mail server's certificate”.")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (f"The mail server {where} refused the sign-in of “{mailer.user}”. Check the "
                "SMTP user and the password stored with `clerkdesk email password`.")
    if isinstance(error, socket.timeout | TimeoutError):
        return f"The mail server {where} did not answer in {SMTP_TIMEOUT_SECONDS} seconds."
    if isinstance(error, ConnectionRefusedError):
        return f"The mail server {where} refused the connection: is it running on that port?"
    if isinstance(error, socket.gaierror):
        return f"The mail server name “{mailer.host}” cannot be found. Check Settings → Email."
    return f"Cannot reach the mail server {where}: {error}. Check Settings → Email."
