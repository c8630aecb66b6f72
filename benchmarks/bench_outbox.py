"""Benchmark: the outbox sender (clerkdesk.services.outbox) against a real SMTP server over TLS.

The mail server is aiosmtpd in ANOTHER PROCESS (this script with a hidden --smtp-server flag,
started with subprocess and stopped at exit — also when this process is killed, because it
ends when its stdin closes): on 127.0.0.1, a free port, STARTTLS required (require_starttls
=True, a self-signed RSA-2048 certificate made at start with the `openssl` command line, or
with `cryptography` when there is no openssl). It accepts every message and counts them,
their connections, how many came over TLS and when each arrived (time.monotonic, the same
clock in both processes on Linux). ClerkDesk talks to it through the settings (email.mode
smtp, email.smtp_security starttls, no SMTP user, so no login) and `mailer_from_settings()`:
SmtpMailer → yagmail → smtplib, one connection for the whole run. ClerkDesk checks the
server's certificate unless email.smtp_verify_certificate is off; the benchmark turns it off
for its self-signed certificate. The bare loops below call starttls() without a context,
which checks no certificate either, so all three do the same TLS work.

1. Throughput without <WebPin>, --rounds rounds (default 3; the medians count), each:
   (a) a bare smtplib loop over ONE STARTTLS connection sending --messages (default 2,000)
       messages like the outbox's (same From/To/Subject/Date/Message-ID headers and body,
       built with the standard library inside the loop, sent with send_message) — the
       client-side limit; for information also (a′) the same bytes pre-built, transport only;
   (b) one new STARTTLS connection per message (connect, EHLO, STARTTLS, EHLO, send, QUIT),
       --per-connection messages (default 300);
   (c) the outbox: --messages enqueued (untimed), then `OutboxSender(mailer_from_settings(),
       RateLimiter()).run(...)` timed, with a progress callback that does nothing.
   Messages per second of each, as seen by the client; the server's counts check that every
   message arrived, over TLS, and that the outbox used one connection. Aims: outbox ≥ 80 % of
   (a) and ≥ 3 × (b). When the first misses (or with --profile): 1,000 more messages are
   queued, what the sender does per message besides sending is timed call by call (the
   progress report's pending() count, leasing a batch, the bytes the sender prepares per
   message against build_message's EmailMessage and the bare loop's, the prepared UPDATE +
   commit that marks a message sent against peewee's), then the outbox sends them under
   cProfile and its top costs are printed.
2. With <WebPin>: --pin-messages (default 60) web accounts (households and primary members
   made with the peewee models, accounts with web_accounts.create_account, no password), one
   queued message each whose body holds <WebPin>; sent at bcrypt cost 12
   (CLERKDESK_BCRYPT_COST=12 from here on, checked through settings.bcrypt_cost, which reads
   the variable on every call). The sender is single-threaded and mints, hashes (one bcrypt
   at cost 12) and stores each PIN before its message goes, so its limit is 1 ÷ the time of
   one hash: the median of --hash-samples `passwords.hash_secret` calls at cost 12 before the
   run and as many after. Aim: throughput ≥ 90 % of that limit. Checked: every account's
   hash is at cost 12 and the PIN in the last message the server received matches it.
3. Rate limit: the sender with RateLimiter(per_minute=--rate) (default 600) for --rate-seconds
   of real time (default 60, --quick: 20), more messages queued than it may send, cancelled at
   the end. Achieved rate = messages the server received in those seconds ÷ the seconds;
   also from the intervals ((n − 1) ÷ first-to-last), the gaps between arrivals and the most
   in any one second (a burst). Aim: within ±5 % of the rate.
4. Memory of queueing --recipients (default 100,000) messages with `enqueue` in transactions
   of --transaction (default 1,000) into a fresh SQLite database, in a fresh subprocess (this
   script with a hidden --memory-child flag) started by a shell in the background (an exec'd
   child's ru_maxrss starts at its parent's peak), the peak reset (/proc/self/clear_refs)
   just before: ru_maxrss growth. Aim: ≤ 100 MB. Then, with those messages queued, the time
   of one outbox.pending() — the count the sender's progress report makes (once a second).

Around every timed part: the wall time, this process's CPU, the server's CPU and the CPU
other processes used meanwhile (/proc/stat, steal included; above 5 % of the machine a
figure is not fair). The machine is shared (2 cores), so every ratio is taken within one run.

Setup: a fresh SQLite database in a temporary folder (removed at the end); CLERKDESK_DATA_DIR,
XDG_DATA_HOME and XDG_CONFIG_HOME point into it, the keyring is keyrings.alt's plaintext file
and CLERKDESK_BCRYPT_COST=4 until part 2 — all set before clerkdesk is imported. The whole
benchmark takes about 2 minutes (1½ with --quick).

Run: .venv/bin/python benchmarks/bench_outbox.py [--quick] [--rounds 3] [--messages 2000]
     [--per-connection 300] [--pin-messages 60] [--hash-samples 5] [--rate 600]
     [--rate-seconds 60] [--recipients 100000] [--transaction 1000] [--profile]
     [--skip-throughput] [--skip-pins] [--skip-rate] [--skip-memory]
"""

# ruff: noqa: E402 -- the environment must be set before clerkdesk is imported.
import os
import tempfile
from pathlib import Path

PRIVATE = Path(tempfile.mkdtemp(prefix="clerkdesk-bench-outbox-"))
from benchkit import use_private_folders

use_private_folders(PRIVATE)

import argparse
import atexit
import cProfile
import email
import gc
import io
import json
import math
import pstats
import re
import resource
import shutil
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from itertools import pairwise

from benchkit import code_version, machine_busy_seconds, machine_line, time_hashes, verdict

from clerkdesk.models import Household, Member, OutboxMessage, WebAccount, database, utcnow
from clerkdesk.services import outbox, passwords, staff, web_accounts
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.email_delivery import (
    OutgoingEmail,
    build_message,
    mailer_from_settings,
    prepare_message,
)
from clerkdesk.services.household_passwords import recipe
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.rate_limit import RateLimiter
from clerkdesk.services.settings import bcrypt_cost, password_policy, set_settings

HOST = "127.0.0.1"
FROM_ADDRESS, FROM_NAME = "desk@example.org", "Front Desk"
ADMIN_PASSWORD = "bench-admin-password-1"
HASH_COST = 12
AIM_BARE, AIM_PER_CONNECTION, AIM_PINS, AIM_RATE, AIM_MEMORY_MB = 0.80, 3.0, 0.90, 0.05, 100.0
PROFILE_MESSAGES = 1_000
BUSY_SHARE = 0.05  # other processes' CPU share above which a figure is not fair
RESULT_MARK = "BENCH-RESULT "
MIB = 2**20
BODY = ("Dear {name},\n\n"
        "Your next food bank appointment is on Tuesday at 10:30. Please bring a bag or a box,\n"
        "and a proof of address if it changed since your last visit. If you cannot come,\n"
        "call the front desk at 555-0100 so that someone else can have your slot.\n\n"
        "You can see and change your appointments on the portal:\n"
        "https://portal.example.org\n\n"
        "Kind regards,\nThe Front Desk\n")
PIN_BODY = ("Dear {name},\n\nYour web account is ready. Sign in at https://portal.example.org"
            "\n\nUser name: {username}\nPIN: <WebPin>\n\nYou will be asked to choose a "
            "password of your own the first time.\n\nKind regards,\nThe Front Desk\n")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="rate-limit part: 20 s, not 60")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of part 1 (medians)")
    parser.add_argument("--messages", type=int, default=2_000,
                        help="messages of the outbox and of the one-connection loop")
    parser.add_argument("--per-connection", type=int, default=300,
                        help="messages of the connection-per-message loop")
    parser.add_argument("--pin-messages", type=int, default=60)
    parser.add_argument("--hash-samples", type=int, default=5,
                        help="single cost-12 hashes timed before the <WebPin> run, and after")
    parser.add_argument("--rate", type=int, default=600, help="RateLimiter(per_minute=…)")
    parser.add_argument("--rate-seconds", type=float, default=None,
                        help="seconds of the rate-limited run (default 60; 20 with --quick)")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--transaction", type=int, default=1_000,
                        help="messages per transaction while queueing (part 4)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the outbox even when it meets its aim")
    for part in ("throughput", "pins", "rate", "memory"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    parser.add_argument("--smtp-server", nargs=2, metavar=("CERT", "KEY"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", metavar="PATH", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.rate_seconds is None:
        options.rate_seconds = 20.0 if options.quick else 60.0
    return options


# --- printing -------------------------------------------------------------------------------

# --- the SMTP server (another process) ------------------------------------------------------

class Counter:
    """aiosmtpd handler: accepts everything, counts messages and connections, keeps the
    arrival times and the last message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = self.connections = self.over_tls = 0
        self.times: list[float] = []
        self.last: bytes = b""

    async def handle_DATA(self, server, session, envelope) -> str:
        now = time.monotonic()
        with self.lock:
            self.messages += 1
            self.times.append(now)
            if not getattr(session, "bench_counted", False):
                session.bench_counted = True  # the first message of this connection
                self.connections += 1
            self.over_tls += session.ssl is not None
            self.last = envelope.original_content or envelope.content
        return "250 Message accepted"

    def stats(self) -> dict:
        with self.lock:
            return {"messages": self.messages, "connections": self.connections,
                    "over_tls": self.over_tls, "cpu": time.process_time()}


def serve(cert: str, key: str) -> int:
    """The server process: answers STATS, TIMES <from>, LAST on stdin, one JSON line each;
    stops when stdin closes (also when the benchmark dies) and prints its final counts."""
    from aiosmtpd.controller import Controller

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    counter = Counter()
    for attempt in range(5):
        port = free_port()
        controller = Controller(counter, hostname=HOST, port=port, tls_context=context,
                                require_starttls=True)
        try:
            controller.start()
            break
        except Exception:  # the port was taken meanwhile
            if attempt == 4:
                raise
    print(f"READY {port}", flush=True)
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "STATS":
                answer: object = counter.stats()
            elif command == "TIMES":
                with counter.lock:
                    answer = counter.times[int(argument or 0):]
            elif command == "LAST":
                with counter.lock:
                    answer = counter.last.decode("utf-8", errors="replace")
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        controller.stop()
        print("FINAL " + json.dumps(counter.stats()), flush=True)
    return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1; returns the files and how it was made."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if shutil.which("openssl"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}",
                        "-addext", f"subjectAltName=IP:{HOST}"],
                       check=True, capture_output=True)
        return cert, key, "openssl req -x509 -newkey rsa:2048"
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
                   .sign(private, hashes.SHA256()))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key, "cryptography, RSA 2048"


class ServerProcess:
    """The aiosmtpd server in a child process, spoken to over its stdin and stdout."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.log = open(PRIVATE / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--smtp-server", str(cert), str(key)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            bufsize=1)
        atexit.register(self.stop)
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit(f"the SMTP server did not start: {line!r}\n"
                             + (PRIVATE / "server.log").read_text())
        self.port = int(line.split()[1])
        self.final: dict | None = None

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stats(self) -> dict:
        return self.ask("STATS")

    def stop(self) -> None:
        """Close its stdin (it stops and prints its final counts); kill it if it lingers."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                rest = self.process.stdout.read()
                finals = [line for line in rest.splitlines() if line.startswith("FINAL ")]
                if finals:
                    self.final = json.loads(finals[-1][len("FINAL "):])
                self.process.wait(timeout=10)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()


# --- measuring ------------------------------------------------------------------------------

@dataclass
class Meter:
    """Wall time and CPU (this process, the server, everyone else) of one timed part."""
    seconds: float = 0.0
    own: float = 0.0
    server: float = 0.0
    others: float | None = None

    def line(self) -> str:
        available = self.seconds * (os.cpu_count() or 1)
        text = (f"CPU: this process {self.own:.2f} s, server {self.server:.2f} s of "
                f"{available:.1f} CPU-seconds")
        if self.others is not None:
            text += (f"; other processes and steal {self.others:.2f} s "
                     f"({self.others / available:.0%})"
                     + (" — machine busy, rerun when idle"
                        if self.others > BUSY_SHARE * available else ""))
        return text


@contextmanager
def metered(server: ServerProcess):
    meter = Meter()
    server_cpu = server.stats()["cpu"]
    busy, own = machine_busy_seconds(), time.process_time()
    started = time.perf_counter()
    yield meter
    meter.seconds = time.perf_counter() - started
    meter.own = time.process_time() - own
    after = machine_busy_seconds()
    meter.server = server.stats()["cpu"] - server_cpu
    if busy is not None and after is not None:
        meter.others = max(0.0, after - busy - meter.own - meter.server)


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    body: str


def letters(count: int, first: int = 0) -> list[Letter]:
    return [Letter(f"h{n}@example.org", f"Your appointment ({n})",
                   BODY.format(name=f"Household {n}")) for n in range(first, first + count)]


def stdlib_message(letter: Letter) -> EmailMessage:
    """The message the outbox builds (email_delivery.build_message), without the settings."""
    message = EmailMessage()
    message["From"] = formataddr((FROM_NAME, FROM_ADDRESS))
    message["To"] = letter.to
    message["Subject"] = letter.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=FROM_ADDRESS.rsplit("@", 1)[-1])
    message.set_content(letter.body)
    return message


def connect(port: int) -> smtplib.SMTP:
    """As the outbox does it: connect, EHLO, STARTTLS (here without a certificate check, as
    the outbox with email.smtp_verify_certificate off), EHLO."""
    client = smtplib.SMTP(HOST, port, timeout=15)
    client.ehlo()
    client.starttls()
    client.ehlo()
    return client


def bare_loop(port: int, batch: list[Letter]) -> None:
    client = connect(port)
    for letter in batch:
        client.send_message(stdlib_message(letter))
    client.quit()


def transport_loop(port: int, batch: list[tuple[str, bytes]]) -> None:
    client = connect(port)
    for to, data in batch:
        client.sendmail(FROM_ADDRESS, [to], data)
    client.quit()


def per_connection_loop(port: int, batch: list[Letter]) -> None:
    for letter in batch:
        client = connect(port)
        client.send_message(stdlib_message(letter))
        client.quit()


def queue(batch: list[Letter]) -> None:
    with database.atomic():
        for letter in batch:
            outbox.enqueue(letter.to, letter.subject, letter.body)


def run_sender(limiter: RateLimiter | None = None, cancel: CancelToken | None = None,
               report: Callable = lambda progress: None) -> outbox.SendSummary:
    sender = outbox.OutboxSender(mailer_from_settings(), limiter or RateLimiter())
    return sender.run(report, cancel or CancelToken())


# --- setup ----------------------------------------------------------------------------------

def set_up_database(port: int):
    open_database(f"sqlite:///{PRIVATE / 'bench.sqlite3'}")
    admin = staff.create_first_administrator("bench-admin", "Bench Admin", ADMIN_PASSWORD,
                                             ADMIN_PASSWORD)
    set_settings(admin, {"email.mode": "smtp", "email.smtp_host": HOST, "email.smtp_port": port,
                         "email.smtp_security": "starttls", "email.smtp_user": "",
                         # The benchmark's own server has a self-signed certificate.
                         "email.smtp_verify_certificate": False,
                         "email.from_address": FROM_ADDRESS, "email.from_name": FROM_NAME,
                         "portal.url": "https://portal.example.org"})
    return admin


# --- 1. throughput --------------------------------------------------------------------------

@dataclass
class Round:
    bare: float = 0.0
    transport: float = 0.0
    per_connection: float = 0.0
    outbox: float = 0.0


def check_delivery(server: ServerProcess, before: dict, expected: int, connections: int | None,
                   what: str) -> str:
    after = server.stats()
    got = after["messages"] - before["messages"]
    tls = after["over_tls"] - before["over_tls"]
    used = after["connections"] - before["connections"]
    if got != expected or tls != expected or (connections is not None and used != connections):
        raise SystemExit(f"{what}: the server received {got} (over TLS {tls}) over {used} "
                         f"connections; expected {expected} over {connections}")
    return f"server: {got:,} received, all over TLS, {used:,} connection(s)"


def one_round(number: int, server: ServerProcess, options: argparse.Namespace) -> Round:
    result = Round()
    count, port = options.messages, server.port
    print(f"   round {number}:", flush=True)

    batch = letters(count)
    before = server.stats()
    with metered(server) as meter:
        bare_loop(port, batch)
    result.bare = count / meter.seconds
    print(f"     (a) bare smtplib, one connection: {count:,} in {meter.seconds:.2f} s = "
          f"{result.bare:,.0f} msg/s; {meter.own / count * 1e3:.2f} ms CPU/msg here; "
          f"{check_delivery(server, before, count, 1, '(a)')}")
    print(f"         {meter.line()}")

    prebuilt = [(letter.to, stdlib_message(letter).as_bytes()) for letter in batch]
    before = server.stats()
    with metered(server) as meter:
        transport_loop(port, prebuilt)
    result.transport = count / meter.seconds
    print(f"     (a′) pre-built bytes, one connection (information): {meter.seconds:.2f} s = "
          f"{result.transport:,.0f} msg/s; {meter.own / count * 1e3:.2f} ms CPU/msg here")
    check_delivery(server, before, count, 1, "(a′)")

    queue(letters(count, first=number * 1_000_000))
    before = server.stats()
    with metered(server) as meter:
        summary = run_sender()
    if summary.sent != count or summary.failed or summary.retrying:
        raise SystemExit(f"outbox: {summary}")
    result.outbox = count / meter.seconds
    print(f"     (c) outbox sender: {count:,} in {meter.seconds:.2f} s = {result.outbox:,.0f} "
          f"msg/s; {meter.own / count * 1e3:.2f} ms CPU/msg here; "
          f"{check_delivery(server, before, count, 1, 'outbox')}")
    print(f"         {meter.line()}")

    few = letters(options.per_connection)
    before = server.stats()
    with metered(server) as meter:
        per_connection_loop(port, few)
    result.per_connection = len(few) / meter.seconds
    print(f"     (b) new connection per message: {len(few):,} in {meter.seconds:.2f} s = "
          f"{result.per_connection:,.0f} msg/s; "
          f"{check_delivery(server, before, len(few), len(few), '(b)')}")
    print(f"         {meter.line()}", flush=True)
    return result


def report_throughput(server: ServerProcess, options: argparse.Namespace) -> tuple[bool, bool]:
    print(f"\n1. Throughput without <WebPin>: to aiosmtpd in another process over STARTTLS "
          f"(self-signed certificate; STARTTLS required), {options.rounds} round(s)", flush=True)
    rounds = [one_round(n, server, options) for n in range(1, options.rounds + 1)]
    bare = statistics.median(r.bare for r in rounds)
    transport = statistics.median(r.transport for r in rounds)
    per_connection = statistics.median(r.per_connection for r in rounds)
    sent = statistics.median(r.outbox for r in rounds)
    share, times = sent / bare, sent / per_connection
    print(f"   medians: outbox {sent:,.0f} msg/s; bare one-connection loop {bare:,.0f} msg/s "
          f"(pre-built bytes {transport:,.0f}); one connection per message "
          f"{per_connection:,.0f} msg/s")
    print(f"   outbox per message {1e3 / sent:.2f} ms vs bare {1e3 / bare:.2f} ms: the outbox's "
          f"own overhead ≈ {1e3 / sent - 1e3 / bare:.2f} ms per message")
    print(f"   outbox / bare loop = {share:.1%}  (aim ≥ {AIM_BARE:.0%}: "
          f"{verdict(share >= AIM_BARE)})")
    print(f"   outbox / per-connection = {times:.1f}×  (aim ≥ {AIM_PER_CONNECTION:.0f}×: "
          f"{verdict(times >= AIM_PER_CONNECTION)}); for comparison the bare loop / "
          f"per-connection = {bare / per_connection:.1f}× (on loopback a new connection costs "
          f"{1e3 / per_connection - 1e3 / bare:.1f} ms more per message: no network round trips)")
    print(f"   {machine_line()}", flush=True)
    if share < AIM_BARE or options.profile:
        profile_outbox(server)
    return share >= AIM_BARE, times >= AIM_PER_CONNECTION


def per_call(call: Callable[[], object], repeat: int) -> float:
    """The median seconds of one call, over `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def breakdown(queued: int) -> None:
    """What the sender does per message besides sending, each timed on its own (no cProfile),
    with `queued` messages waiting: the progress report's pending() count (once a second),
    leasing a batch (four statements, once per batch), preparing the message's bytes (what
    SmtpMailer.prepare gives) against build_message's EmailMessage and the bare loop's, and
    the UPDATE with its own commit that marks a message sent, prepared and through peewee."""
    from email.generator import BytesGenerator

    letter = letters(1)[0]
    some = OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.state == "queued").first()
    outgoing = OutgoingEmail(letter.to, letter.subject, letter.body)
    from_header = formataddr((FROM_NAME, FROM_ADDRESS))

    def flattened() -> bytes:  # build_message, then flattened as send_message does
        out = io.BytesIO()
        BytesGenerator(out).flatten(build_message(outgoing, from_header), linesep="\r\n")
        return out.getvalue()

    def lease_and_give_back() -> None:
        taken = outbox._claim(outbox.MAX_BATCH)
        outbox._release(taken)

    costs = {
        f"pending() with {queued:,} queued (the progress text; once a second)":
            per_call(outbox.pending, 50),
        f"leasing a batch of {outbox.MAX_BATCH} and giving it back, per message":
            per_call(lease_and_give_back, 20) / outbox.MAX_BATCH,
        "prepare_message: the bytes the sender sends (SmtpMailer.prepare)":
            per_call(lambda: prepare_message(outgoing, from_header), 200),
        "build_message + flattening, as before (and as deliver() still does)":
            per_call(flattened, 200),
        "the bare loop's stdlib_message": per_call(lambda: stdlib_message(letter), 200),
        "the prepared UPDATE + commit that marks a message sent (outbox._mark_sent)":
            per_call(lambda: outbox._mark_sent(some.id), 200),
        "the same UPDATE + commit built by peewee each time":
            per_call(lambda: OutboxMessage.update(state="sent", lease_owner="", lease_until=None,
                                                  sent_at=utcnow())
                     .where(OutboxMessage.id == some.id).execute(), 200),
    }
    OutboxMessage.update(state="queued", sent_at=None).where(OutboxMessage.id == some.id) \
        .execute()
    print("   where the outbox's time goes, per message (medians, each timed alone):")
    for what, seconds in costs.items():
        print(f"     {seconds * 1e3:6.3f} ms  {what}")


def profile_outbox(server: ServerProcess) -> None:
    queue(letters(PROFILE_MESSAGES, first=9_000_000))
    breakdown(PROFILE_MESSAGES)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    summary = run_sender()
    profiler.disable()
    seconds = time.perf_counter() - started
    print(f"   profile: the outbox once more under cProfile, {summary.sent:,} messages in "
          f"{seconds:.2f} s (cProfile slows it)")
    for key, title, restriction in (("tottime", "own time", ()),
                                    ("cumulative", "cumulative time", ()),
                                    ("cumulative", "cumulative time, clerkdesk's functions only",
                                     ("clerkdesk/",))):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(*restriction, 15)
        rows = text.getvalue().splitlines()
        start = next(i for i, row in enumerate(rows) if row.lstrip().startswith("ncalls"))
        print(f"   top by {title}:")
        for row in rows[start:]:
            if row.strip():
                print("     " + row.replace(str(Path(sys.prefix)), "…").replace(
                    str(Path(__file__).resolve().parent.parent), "."))


# --- 2. <WebPin> at cost 12 -----------------------------------------------------------------

def make_accounts(admin, count: int) -> list[tuple[int, int, str]]:
    """(household id, account id, address) of `count` new households with a web account."""
    made = []
    for number in range(1, count + 1):
        address = f"pin{number}@example.org"
        home = Household.create(client_id=f"P{number:05d}", name=f"Pin {number}", email=address)
        Member.create(household=home, first_name="Pat", last_name=f"Pin {number}",
                      is_primary=True)
        account = web_accounts.create_account(admin, home.id, f"pin-user-{number}")
        made.append((home.id, account.id, address))
    return made


def check_pins(server: ServerProcess, accounts: list[tuple[int, int, str]]) -> str:
    hash_recipe = recipe(password_policy())
    stored = {a.id: a for a in WebAccount.select().where(
        WebAccount.id.in_([account for _, account, _ in accounts]))}
    wrong_cost = sum(1 for a in stored.values()
                     if not a.password_hash or passwords.needs_rehash(a.password_hash,
                                                                      hash_recipe))
    undelivered = sum(1 for a in stored.values() if a.credentials_delivered_at is None)
    last = email.message_from_string(server.ask("LAST"))
    body = last.get_payload(decode=True).decode(last.get_content_charset() or "utf-8")
    found = re.search(r"^PIN: (\S+)", body, re.MULTILINE)  # the lines end in CRLF
    account_id = next(account for _, account, address in accounts if address == last["To"])
    matches = bool(found) and passwords.verify_secret(found.group(1),
                                                      stored[account_id].password_hash)
    return (f"{len(stored)} accounts, {wrong_cost} without a hash at cost {hash_recipe.cost}, "
            f"{undelivered} not marked delivered; the PIN in the last message received "
            f"({last['To']}) matches its stored hash: {matches}")


def report_pins(admin, server: ServerProcess, options: argparse.Namespace) -> bool:
    count = options.pin_messages
    accounts = make_accounts(admin, count)  # no password: nothing hashed yet
    os.environ["CLERKDESK_BCRYPT_COST"] = str(HASH_COST)
    if bcrypt_cost() != HASH_COST:
        raise SystemExit(f"settings.bcrypt_cost() is {bcrypt_cost()}, not {HASH_COST}")
    print(f"\n2. <WebPin>: {count} messages to {count} web accounts, each PIN minted, hashed at "
          f"bcrypt cost {bcrypt_cost()} and stored just before its message goes", flush=True)
    with database.atomic():
        for number, (household, account, address) in enumerate(accounts, start=1):
            outbox.enqueue(address, "Your web account",
                           PIN_BODY.format(name=f"Household {household}",
                                           username=f"pin-user-{number}"),
                           household_id=household, account_id=account)
    before_times = time_hashes(options.hash_samples, recipe(password_policy()))
    before = server.stats()
    with metered(server) as meter:
        summary = run_sender()
    after_times = time_hashes(options.hash_samples, recipe(password_policy()))
    if summary.sent != count or summary.failed or summary.retrying:
        raise SystemExit(f"<WebPin> run: {summary}")
    delivered = check_delivery(server, before, count, 1, "<WebPin> run")
    one_hash = statistics.median(before_times + after_times)
    limit, rate = 1 / one_hash, count / meter.seconds
    print(f"   sent {summary.sent} in {meter.seconds:.2f} s = {rate:.2f} msg/s; {delivered}")
    print(f"   one hash_secret at cost {HASH_COST}: median {one_hash * 1e3:.0f} ms (before: "
          f"{', '.join(f'{t * 1e3:.0f}' for t in before_times)} ms; after: "
          f"{', '.join(f'{t * 1e3:.0f}' for t in after_times)} ms)")
    print(f"   bcrypt limit = 1 / {one_hash:.3f} s = {limit:.2f} msg/s (the sender is "
          f"single-threaded: one hash at a time, whatever os.cpu_count() says)")
    print(f"   per message {meter.seconds / count * 1e3:.0f} ms = hash {one_hash * 1e3:.0f} ms + "
          f"the rest {(meter.seconds / count - one_hash) * 1e3:.1f} ms")
    print(f"   throughput / limit = {rate / limit:.1%}  (aim ≥ {AIM_PINS:.0%}: "
          f"{verdict(rate / limit >= AIM_PINS)})")
    print(f"   {meter.line()}")
    print(f"   stored: {check_pins(server, accounts)}")
    print(f"   {machine_line()}", flush=True)
    os.environ["CLERKDESK_BCRYPT_COST"] = "4"
    return rate / limit >= AIM_PINS


# --- 3. rate limit --------------------------------------------------------------------------

def report_rate(server: ServerProcess, options: argparse.Namespace) -> bool:
    per_minute, seconds = options.rate, options.rate_seconds
    expected = per_minute * seconds / 60
    queued = math.ceil(expected * 1.2) + 10
    print(f"\n3. Rate limit: RateLimiter(per_minute={per_minute}) for {seconds:.0f} s of real "
          f"time ({queued:,} queued, the run cancelled at {seconds:.0f} s)", flush=True)
    queue(letters(queued, first=5_000_000))
    cancel = CancelToken()
    first = server.stats()["messages"]
    timer = threading.Timer(seconds, cancel.cancel)
    timer.daemon = True
    with metered(server) as meter:
        started = time.monotonic()
        timer.start()
        summary = run_sender(RateLimiter(per_minute=per_minute), cancel)
        timer.cancel()
    times = server.ask(f"TIMES {first}")
    left = (OutboxMessage.delete().where(OutboxMessage.state == "queued").execute())
    within = sum(1 for t in times if started <= t < started + seconds)
    achieved = within / seconds * 60
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    by_intervals = (len(times) - 1) / span * 60
    gaps = sorted(b - a for a, b in pairwise(times))
    busiest = max((bisect_left(times, start + 1.0) - i for i, start in enumerate(times)),
                  default=0)
    off = achieved / per_minute - 1
    print(f"   sent {summary.sent:,} (the rest, {left:,}, taken back out of the queue); the "
          f"run took {meter.seconds:.1f} s; the server received {within:,} within the "
          f"{seconds:.0f} s")
    print(f"   achieved rate = {within:,} / {seconds:.0f} s = {achieved:.1f}/min vs "
          f"{per_minute}/min: {off:+.1%}  (aim within ±{AIM_RATE:.0%}: "
          f"{verdict(abs(off) <= AIM_RATE)})")
    print(f"   from the intervals: ({len(times)} − 1) / {span:.2f} s = {by_intervals:.1f}/min "
          f"({by_intervals / per_minute - 1:+.1%})")
    if gaps:
        print(f"   gaps between arrivals: min {gaps[0] * 1e3:.1f} ms, median "
              f"{statistics.median(gaps) * 1e3:.1f} ms, max {gaps[-1] * 1e3:.1f} ms (even "
              f"spacing would be {60_000 / per_minute:.1f} ms); most in any 1 s: {busiest} "
              f"(even: {math.ceil(per_minute / 60)})")
    print(f"   {meter.line()}")
    print(f"   {machine_line()}", flush=True)
    return abs(off) <= AIM_RATE


# --- 4. memory of queueing ------------------------------------------------------------------

def max_rss() -> float:
    """The peak resident set so far, in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    """Set the peak resident set back to the current one (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_child(path: str, recipients: int, per_transaction: int) -> int:
    open_database(f"sqlite:///{path}")
    gc.collect()
    setup_peak = max_rss()
    reset = reset_peak()
    rss_before, peak_before = current_rss(), max_rss()
    started = time.perf_counter()
    for first in range(0, recipients, per_transaction):
        queue(letters(min(per_transaction, recipients - first), first=first))
    seconds = time.perf_counter() - started
    peak_after = max_rss()
    result = {"seconds": seconds, "rows": OutboxMessage.select().count(),
              "pending_ms": per_call(outbox.pending, 5) * 1e3,
              "setup_peak": setup_peak, "reset": reset, "rss_before": rss_before,
              "peak_before": peak_before, "peak_after": peak_after, "rss_after": current_rss()}
    close_database()
    result["file_mib"] = sum(p.stat().st_size for p in Path(path).parent.glob(
        Path(path).name + "*")) / MIB
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


def report_memory(options: argparse.Namespace) -> bool:
    recipients, per_transaction = options.recipients, options.transaction
    print(f"\n4. Memory: enqueue {recipients:,} recipients in transactions of "
          f"{per_transaction:,}, fresh subprocess, fresh SQLite database", flush=True)
    path = PRIVATE / "memory.sqlite3"
    command = ["/bin/sh", "-c", '"$@" & wait $!', "sh", sys.executable, __file__,
               "--memory-child", str(path), "--recipients", str(recipients),
               "--transaction", str(per_transaction)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    r = json.loads(lines[-1][len(RESULT_MARK):])
    growth = r["peak_after"] - r["peak_before"]
    megabytes = growth * MIB / 1e6
    print(f"   {r['rows']:,} rows queued in {r['seconds']:.1f} s "
          f"({r['rows'] / r['seconds']:,.0f}/s); database {r['file_mib']:.0f} MiB")
    print(f"   ru_maxrss {r['peak_before']:.1f} → {r['peak_after']:.1f} MiB: growth "
          f"{growth:.1f} MiB = {megabytes:.1f} MB  (aim ≤ {AIM_MEMORY_MB:.0f} MB: "
          f"{verdict(megabytes <= AIM_MEMORY_MB)})")
    print(f"   RSS before {r['rss_before']:.1f} MiB, after {r['rss_after']:.1f} MiB; setup "
          f"peak {r['setup_peak']:.1f} MiB, "
          + ("reset before queueing" if r["reset"] else "NOT reset: growth understated"))
    print(f"   pending() with {r['rows']:,} queued: {r['pending_ms']:.1f} ms (median of 5); "
          f"the sender's progress report counts at most once a second")
    print(f"   {machine_line()}", flush=True)
    return megabytes <= AIM_MEMORY_MB


# --- main -----------------------------------------------------------------------------------

def benchmark(options: argparse.Namespace) -> int:
    print(f"Code: {code_version()}")
    print(machine_line(), flush=True)
    aims: dict[str, bool] = {}
    needs_server = not (options.skip_throughput and options.skip_pins and options.skip_rate)
    if needs_server:
        cert, key, how = make_certificate(PRIVATE)
        server = ServerProcess(cert, key)
        print(f"SMTP server: aiosmtpd in process {server.process.pid}, {HOST}:{server.port}, "
              f"STARTTLS required, self-signed certificate ({how})")
        try:
            admin = set_up_database(server.port)
            if not options.skip_throughput:
                bare, per_connection = report_throughput(server, options)
                aims["outbox ≥ 80 % of the bare one-connection loop"] = bare
                aims["outbox ≥ 3 × one connection per message"] = per_connection
            if not options.skip_pins:
                aims["<WebPin> throughput ≥ 90 % of the bcrypt limit"] = report_pins(
                    admin, server, options)
            if not options.skip_rate:
                aims[f"rate within ±5 % of {options.rate}/min"] = report_rate(server, options)
        finally:
            close_database()
            server.stop()
        final = server.final or {}
        print(f"\nSMTP server stopped (exit {server.process.returncode}): received "
              f"{final.get('messages', '?'):,} messages in all, over "
              f"{final.get('connections', '?'):,} connections, {final.get('over_tls', '?'):,} "
              f"over TLS; its CPU {final.get('cpu', float('nan')):.1f} s")
    if not options.skip_memory:
        aims["queueing memory growth ≤ 100 MB"] = report_memory(options)
    print(f"\nAims  ({machine_line()})")
    for name, met in aims.items():
        print(f"  {name}: {verdict(met)}")
    return 0


def main() -> int:
    options = parse_arguments()
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        if options.smtp_server:
            return serve(*options.smtp_server)
        if options.memory_child:
            return memory_child(options.memory_child, options.recipients, options.transaction)
        return benchmark(options)
    finally:
        shutil.rmtree(PRIVATE, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
