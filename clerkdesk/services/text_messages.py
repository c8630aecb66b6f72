"""Text messages go through a provider: the capture provider (a file per text, nothing
leaves) or an email-to-SMS gateway (a carrier or service that turns mail sent to
NUMBER@gateway into a text). Providers send over the sender's open mail connection."""

import re
from abc import ABC, abstractmethod
from email.message import EmailMessage
from pathlib import Path

from clerkdesk.models import utcnow

from .email_delivery import DeliveryError, Mailer

PROVIDERS = ("capture", "email-gateway")


class TextProvider(ABC):
    description = ""

    @abstractmethod
    def send(self, number: str, body: str, from_header: str) -> None:
        """Send `body` to `number` (E.164); DeliveryError when it cannot go."""


class CaptureTexts(TextProvider):
    """Each text becomes a .txt file in the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"texts captured in {folder}"

    def send(self, number: str, body: str, from_header: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
        safe = re.sub(r"[^0-9+]", "_", number)[:20]
        (self.folder / f"{stamp}-{safe}.txt").write_text(f"To: {number}\n\n{body}\n",
                                                         encoding="utf-8")


class EmailToSmsGateway(TextProvider):
    """Mail to <digits>@<domain>; the gateway turns it into a text."""

    def __init__(self, mailer: Mailer, domain: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,63}", domain or ""):
            raise DeliveryError("Texts are set to go through an email-to-SMS gateway, but its "
                                "domain is not set: enter it in Settings → Text messages.")
        self.mailer, self.domain = mailer, domain
        self.description = f"texts through the gateway {domain}"

    def send(self, number: str, body: str, from_header: str) -> None:
        message = EmailMessage()
        message["From"] = from_header
        message["To"] = f"{number.lstrip('+')}@{self.domain}"
        message.set_content(body)
        self.mailer.send(message)
