"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the email tests."""

import email
import socket
import ssl
import subprocess
import threading
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller


class Recorder:
    """aiosmtpd handler: rejects the addresses in `reject` with 550, keeps everything else."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []
        self.peers: list[object] = []  # the connection each message came over
        self.reject: set[str] = set()
        self.busy: set[str] = set()  # answered 421 (try later) once, then accepted
        self.drop: set[str] = set()  # the connection is cut when their message arrives, once
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        if address.lower() in self.busy:
            self.busy.discard(address.lower())
            return "421 4.7.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        cut = [r for r in envelope.rcpt_tos if r.lower() in self.drop]
        if cut:
            self.drop.difference_update(r.lower() for r in cut)
            server.transport.close()  # as a server that crashes or times the client out
            return "421 4.3.0 Connection dropped"
        with self.lock:
            self.received.append((list(envelope.rcpt_tos),
                                  email.message_from_bytes(envelope.content)))
            self.peers.append(session.peer)
        return "250 Message accepted"

    def messages_to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for rcpts, m in self.received if address.lower() in
                    (r.lower() for r in rcpts)]


class SmtpServer:
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        """With `tls_context`, the server requires STARTTLS with that certificate."""
        self.recorder = Recorder()
        self.port = free_port()
        tls = {"tls_context": tls_context, "require_starttls": True} if tls_context else {}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **tls)

    def start(self) -> "SmtpServer":
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    @property
    def received(self) -> list[tuple[list[str], Message]]:
        return self.recorder.received


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body_of(message: Message) -> str:
    part = message.get_payload(decode=True)
    return part.decode(message.get_content_charset() or "utf-8")
