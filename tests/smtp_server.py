"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the email tests."""

import email
import socket
import threading
from email.message import Message

from aiosmtpd.controller import Controller


class Recorder:
    """aiosmtpd handler: rejects the addresses in `reject` with 550, keeps everything else."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []
        self.peers: list[object] = []  # the connection each message came over
        self.reject: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
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
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body_of(message: Message) -> str:
    part = message.get_payload(decode=True)
    return part.decode(message.get_content_charset() or "utf-8")
