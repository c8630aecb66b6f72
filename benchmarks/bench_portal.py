"""Benchmark: the reference self-service portal over HTTP on loopback (issue 9, Benchmarks).

Setup (untimed): a private temporary folder (benchkit.use_private_folders: data folder,
keyring and settings there, nothing configured elsewhere is touched) holds a new SQLite
database with --households (default 30) households of 1–3 members and one web account
each, with a known password the household chose (must-change off), hashed at bcrypt cost
12 — the product's default: CLERKDESK_BCRYPT_COST is removed from the environment, so the
cost comes from the `security.bcrypt_cost` setting exactly as in production (checked, and
every stored hash is checked to need no rehash). The portal is then served by the real
command line, `clerkdesk --database sqlite:///… portal serve --port P --limit "1000000 per
minute"`, with the portal's own default thread count (--server-threads to try others), in a
process of its own, so the load generator here does not share its GIL. All traffic is
loopback only; every client holds one keep-alive connection (http.client).

1. Sign-ins per second: --clients (default 8) concurrent clients, each in a loop as a new
   browser (no cookie): GET /sign-in, read the CSRF token and the session cookie, POST user
   name, password and token with the cookie; a sign-in counts when it answers 302 to /.
   The clients run --warmup s (default 3, not counted), then sign-ins completed during the
   next --duration s (default 25) are counted: sign-ins/s = that count ÷ --duration.
   In the same run, the bcrypt limit of this machine: `passwords.verify_secret` checks per
   second at cost 12 with one thread per core (benchkit.verify_rate, --limit-seconds each,
   while the server is idle), measured before and after the load; the limit is their mean.
   Aim: sign-ins/s ≥ 85 % of the limit. Every answer that is not the expected one (any
   non-302 POST, a GET /sign-in that is not 200 or has no token, a dropped connection) is a
   failure; aim: 0. Also printed: CPU seconds of the server process (/proc/PID/stat), of the
   load generator and of other processes during the window, and the server's CPU per sign-in
   next to the CPU of one bcrypt check (time.thread_time, median of 3). When other processes
   took more than 10 % of the CPU during a measurement the figures are flagged as unfair:
   the server's hashing threads then win more of the CPU than the limit's 2 threads do.
2. Non-hashing pages: --page-clients (default 4) clients on the same server, each signed in
   once (untimed) and with an anonymous cookie of its own, request in turn GET /sign-in,
   GET /forgot-password, GET /sign-up (anonymous) and GET / (signed in: household name and
   members), --page-requests in all (default 4,000), after one untimed request of each page
   per client. Every answer must be 200. p50/p95/p99 per page and overall; aim: p95 ≤ 20 ms
   for every page (and overall). Also: the server's CPU per request, and, with one client
   alone, --page-cost-requests (default 200) requests a page: median latency and the
   server's CPU per request of each page (where the p95 goes).

Core count, load average (as in `uptime`), the commit and the durations are printed with the
figures. The temporary folder is removed at the end (--keep keeps it).

Run: .venv/bin/python benchmarks/bench_portal.py [--duration 25] [--clients 8]
     [--page-requests 4000] [--page-clients 4] [--households 40]
"""

# ruff: noqa: E402 -- the environment must be set before clerkdesk is imported.
import os
import tempfile
from pathlib import Path

PRIVATE = Path(tempfile.mkdtemp(prefix="clerkdesk-bench-portal-"))
from benchkit import use_private_folders

use_private_folders(PRIVATE)
os.environ.pop("CLERKDESK_BCRYPT_COST", None)  # cost 12 from the setting, as in production

import argparse
import http.client
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import code_version, machine_busy_seconds, machine_line, verdict, verify_rate

from clerkdesk.models import Household, Member, WebAccount
from clerkdesk.portal.server import DEFAULT_THREADS
from clerkdesk.services import passwords, staff, web_accounts
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.household_passwords import recipe
from clerkdesk.services.settings import bcrypt_cost, password_policy

COST = 12
AIM_SHARE, AIM_P95 = 0.85, 0.020
BUSY_SHARE = 0.10  # other processes' CPU share above which a figure is not fair
CORES = os.cpu_count() or 1
RATE_LIMIT = "1000000 per minute"  # the per-address limit must not be what is measured
COOKIE = "clerkdesk_portal"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ("/sign-in", "/forgot-password", "/sign-up", "/")
ADMIN_PASSWORD = "bench-admin-password-1"
SERVE = "import sys; from clerkdesk.cli import run; sys.exit(run(sys.argv[1:]))"
FIRST_NAMES = ("Alex", "Sam", "Robin")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8, help="concurrent sign-in clients")
    parser.add_argument("--server-threads", type=int, default=DEFAULT_THREADS,
                        help="waitress threads (default: the portal's own)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted")
    parser.add_argument("--duration", type=float, default=25.0, help="seconds counted")
    parser.add_argument("--limit-seconds", type=float, default=6.0,
                        help="seconds of each bcrypt-limit measurement")
    parser.add_argument("--page-clients", type=int, default=4)
    parser.add_argument("--page-requests", type=int, default=4000)
    parser.add_argument("--page-cost-requests", type=int, default=200,
                        help="requests a page with one client, for the server's CPU a page")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (inclusive method: values within the samples)."""
    if len(values) < 2:
        value = values[0] if values else float("nan")
        return value, value, value
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94], cuts[98]


# --- setup ----------------------------------------------------------------------------------

def create_accounts(households: int) -> list[tuple[str, str]]:
    """Households with 1–3 members and one web account each; (user name, password) pairs.
    One after another: SQLite refuses a second writer that read first (create_account)."""
    admin = staff.create_first_administrator("bench-admin", "Bench Admin", ADMIN_PASSWORD,
                                             ADMIN_PASSWORD)
    homes = []
    for number in range(1, households + 1):
        home = Household.create(client_id=f"P{number:04d}", name=f"Portal Bench {number}",
                                email=f"portal{number}@example.org")
        for place, first in enumerate(FIRST_NAMES[:1 + number % 3]):
            Member.create(household=home, first_name=first, last_name=f"Bench{number}",
                          is_primary=place == 0)
        homes.append(home.id)

    accounts = []
    for number, household_id in enumerate(homes, start=1):
        name, password = f"bench-user-{number:03d}", f"harbour-lantern-{number:03d}-pebble"
        web_accounts.create_account(admin, household_id, name, password, password,
                                    must_change=False)
        accounts.append((name, password))
    return accounts


def check_hashes(accounts: list[tuple[str, str]]) -> None:
    """Cost 12 from the setting, and no stored hash that a sign-in would rehash."""
    today = recipe(password_policy())
    stored = [a.password_hash for a in WebAccount.select(WebAccount.password_hash)]
    stale = sum(passwords.needs_rehash(hashed, today) for hashed in stored)
    if bcrypt_cost() != COST or today.cost != COST or stale or len(stored) != len(accounts):
        raise SystemExit(f"bcrypt cost {bcrypt_cost()} (want {COST}); {stale} of "
                         f"{len(stored)} stored hashes would be rehashed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, threads: int) -> tuple[subprocess.Popen, int]:
    """`clerkdesk portal serve` in a process of its own; returns once it accepts."""
    port, log = free_port(), PRIVATE / "server-output.txt"
    command = [sys.executable, "-c", SERVE, "--database", url, "portal", "serve",
               "--port", str(port), "--threads", str(threads), "--limit", RATE_LIMIT]
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the portal server stopped:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline:
                stop_server(process)
                raise SystemExit(f"the portal server did not start:\n{log.read_text()}") \
                    from None
            time.sleep(0.1)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the HTTP client ------------------------------------------------------------------------

class Browser:
    """One keep-alive connection and one session cookie, like a browser tab."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, str, str]:
        """(status, Location, body); a dropped connection raises and is reopened next time."""
        headers = {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.connect()
                self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        for value in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = value.partition("=")
            if name.strip() == COOKIE:
                self.cookie = rest.split(";", 1)[0]
        if response.will_close:
            self.close()
        return response.status, response.getheader("Location", ""), text

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def sign_in(browser: Browser, username: str, password: str) -> str | None:
    """One sign-in as a new visitor; None when it answered 302 to /, else what went wrong."""
    browser.cookie = ""
    try:
        status, _, page = browser.request("GET", "/sign-in")
        token = CSRF.search(page)
        if status != 200 or token is None:
            return f"GET /sign-in answered {status}" + ("" if token else " without a token")
        status, location, _ = browser.request(
            "POST", "/sign-in",
            {"username": username, "password": password, "csrf_token": token.group(1)})
    except (OSError, http.client.HTTPException) as error:
        return f"connection: {type(error).__name__}"
    if status != 302 or urlsplit(location).path != "/":
        return f"POST /sign-in answered {status} {location}".rstrip()
    return None


# --- 1. sign-ins per second -----------------------------------------------------------------

@dataclass
class SignInTally:
    finished: list[tuple[float, float]] = field(default_factory=list)  # (started, ended)
    failures: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class CpuWindow:
    seconds: float
    server: float
    generator: float
    others: float | None

    @property
    def share(self) -> float | None:
        """Other processes' share of the machine's CPU."""
        return None if self.others is None else self.others / (self.seconds * CORES)


def sign_in_client(port: int, accounts: list[tuple[str, str]], first: int, step: int,
                   stop_at: float, tally: SignInTally) -> None:
    browser, number = Browser(port), first
    try:
        while time.perf_counter() < stop_at:
            username, password = accounts[number % len(accounts)]
            number += step
            started = time.perf_counter()
            problem = sign_in(browser, username, password)
            ended = time.perf_counter()
            with tally.lock:
                if problem is None:
                    tally.finished.append((started, ended))
                else:
                    tally.failures[problem] += 1
    finally:
        browser.close()


def cpu_during(until: float, server_pid: int) -> Callable[[], CpuWindow]:
    """Start counting CPU now; the returned function waits until `until` and reports."""
    busy, own = machine_busy_seconds(), time.process_time()
    server, started = process_cpu(server_pid), time.perf_counter()

    def finish() -> CpuWindow:
        time.sleep(max(0.0, until - time.perf_counter()))
        seconds = time.perf_counter() - started
        served, generated = process_cpu(server_pid) - server, time.process_time() - own
        others = None if busy is None else machine_busy_seconds() - busy - served - generated
        return CpuWindow(seconds, served, generated, others)

    return finish


def measure_sign_ins(port: int, pid: int, accounts: list[tuple[str, str]],
                     options: argparse.Namespace) -> tuple[SignInTally, float, CpuWindow]:
    """Clients sign in for warmup + duration; returns the tally, the window start and CPU."""
    tally = SignInTally()
    begun = time.perf_counter()
    window_start = begun + options.warmup
    stop_at = window_start + options.duration
    clients = [threading.Thread(target=sign_in_client,
                                args=(port, accounts, n, options.clients, stop_at, tally))
               for n in range(options.clients)]
    for client in clients:
        client.start()
    time.sleep(max(0.0, window_start - time.perf_counter()))
    cpu = cpu_during(stop_at, pid)()
    for client in clients:
        client.join()
    return tally, window_start, cpu


@dataclass(frozen=True)
class Limit:
    rate: float  # checks per second, one thread per core
    others: float | None  # other processes' share of the CPU meanwhile


def measure_limit(today: passwords.HashRecipe, seconds: float, server_pid: int) -> Limit:
    """benchkit.verify_rate while the server idles, and how busy the rest of the machine was."""
    busy, own, server = machine_busy_seconds(), time.process_time(), process_cpu(server_pid)
    started = time.perf_counter()
    rate = verify_rate(today, seconds)
    elapsed = time.perf_counter() - started
    used = time.process_time() - own + process_cpu(server_pid) - server
    others = None if busy is None else machine_busy_seconds() - busy - used
    return Limit(rate, None if others is None else others / (elapsed * (os.cpu_count() or 1)))


def check_cpu(today: passwords.HashRecipe, samples: int = 3) -> float:
    """CPU seconds of one bcrypt check on one thread (thread_time: not slowed by others)."""
    stored = passwords.hash_secret("cpu-sample", today)
    times = []
    for _ in range(samples):
        started = time.thread_time()
        passwords.verify_secret("cpu-sample", stored)
        times.append(time.thread_time() - started)
    return statistics.median(times)


def part_sign_ins(port: int, pid: int, accounts: list[tuple[str, str]],
                  options: argparse.Namespace) -> tuple[bool, bool]:
    cores = os.cpu_count() or 1
    today = recipe(password_policy())
    print(f"\n1. Sign-ins per second: {options.clients} clients, {options.warmup:g} s warm-up "
          f"+ {options.duration:g} s counted; server {options.server_threads} threads; "
          f"bcrypt cost {today.cost}")
    before = measure_limit(today, options.limit_seconds, pid)
    print(f"   bcrypt limit before: {before.rate:.2f} checks/s ({cores} threads, "
          f"{options.limit_seconds:g} s; others {share(before.others)})   [{machine_line()}]",
          flush=True)
    tally, window_start, cpu = measure_sign_ins(port, pid, accounts, options)
    print(f"   load done   [{machine_line()}]", flush=True)
    after = measure_limit(today, options.limit_seconds, pid)
    print(f"   bcrypt limit after:  {after.rate:.2f} checks/s (others {share(after.others)})   "
          f"[{machine_line()}]")
    limit = (before.rate + after.rate) / 2
    window_end = window_start + options.duration
    counted = [(s, e) for s, e in tally.finished if window_start <= e <= window_end]
    rate = len(counted) / options.duration
    failures = sum(tally.failures.values())
    p50, p95, _ = percentiles([e - s for s, e in counted])
    print(f"   signed in: {len(tally.finished):,} in all, {len(counted):,} in the counted "
          f"{options.duration:g} s; per sign-in (GET + POST) median {ms(p50)}, p95 {ms(p95)}")
    print(f"   failures: {failures}" + "".join(f"\n     {count} × {problem}"
                                               for problem, count in tally.failures.items()))
    print(f"   sign-ins/s {rate:.2f}; bcrypt limit (mean) {limit:.2f} checks/s; share "
          f"{rate / limit:.1%}  (aim ≥ {AIM_SHARE:.0%}: {verdict(rate / limit >= AIM_SHARE)})")
    print(f"   failures {failures}  (aim 0: {verdict(failures == 0)})")
    print_cpu(cpu, len(counted), check_cpu(today), cores)
    shares = [x for x in (before.others, after.others, cpu.share) if x is not None]
    if shares and max(shares) > BUSY_SHARE:
        print(f"   NOTE: other processes used up to {max(shares):.0%} of the CPU during these "
              f"measurements (more than {BUSY_SHARE:.0%}): the share above is not a fair "
              "figure; run again on a quiet machine")
    return rate / limit >= AIM_SHARE, failures == 0


def share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%} of the CPU"


def print_cpu(cpu: CpuWindow, signed: int, one_check: float, cores: int) -> None:
    available = cpu.seconds * cores
    print(f"   CPU in the counted window ({available:.1f} CPU-seconds): server {cpu.server:.1f} s,"
          f" load generator {cpu.generator:.1f} s"
          + ("" if cpu.others is None else f", other processes and steal {cpu.others:.1f} s "
                                           f"({cpu.share:.0%})"))
    if signed:
        print(f"   server CPU per sign-in {ms(cpu.server / signed)}; CPU of one bcrypt check "
              f"{ms(one_check)}; the rest, {ms(cpu.server / signed - one_check)} per sign-in, "
              f"is the server's own work (GET + POST)")


# --- 2. non-hashing pages -------------------------------------------------------------------

@dataclass
class PageTally:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    failures: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def page_client(port: int, account: tuple[str, str], offset: int, requests: int,
                gate: threading.Barrier, tally: PageTally) -> None:
    anonymous, member = Browser(port), Browser(port)
    try:
        try:
            problem = sign_in(member, *account)
            for page in PAGES:  # warm-up, untimed; the anonymous browser gets its cookie
                (member if page == "/" else anonymous).request("GET", page)
        except (OSError, http.client.HTTPException) as error:
            problem = type(error).__name__
        if problem is not None:
            gate.abort()
            raise SystemExit(f"page client could not get ready: {problem}")
        gate.wait()
        for number in range(requests):
            page = PAGES[(number + offset) % len(PAGES)]
            browser = member if page == "/" else anonymous
            started = time.perf_counter()
            try:
                status, location, _ = browser.request("GET", page)
            except (OSError, http.client.HTTPException) as error:
                status, location = 0, type(error).__name__
            elapsed = time.perf_counter() - started
            with tally.lock:
                if status == 200:
                    tally.times[page].append(elapsed)
                else:
                    tally.failures[f"GET {page} answered {status} {location}".rstrip()] += 1
    finally:
        anonymous.close()
        member.close()


def part_pages(port: int, pid: int, accounts: list[tuple[str, str]],
               options: argparse.Namespace) -> bool:
    clients, per_client = options.page_clients, options.page_requests // options.page_clients
    print(f"\n2. Non-hashing pages: {clients} clients × {per_client:,} requests "
          f"(GET {', '.join(PAGES)} in turn; / signed in)")
    tally, gate = PageTally(), threading.Barrier(clients + 1)
    threads = [threading.Thread(target=page_client,
                                args=(port, accounts[n], n, per_client, gate, tally))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    busy, own, server = machine_busy_seconds(), time.process_time(), process_cpu(pid)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    served, generated = process_cpu(pid) - server, time.process_time() - own
    others = None if busy is None else machine_busy_seconds() - busy - served - generated
    everything = [t for times in tally.times.values() for t in times]
    met = bool(everything)
    print(f"   {'page':<18}{'requests':>9}{'p50':>10}{'p95':>10}{'p99':>10}")
    for page, times in (*tally.times.items(), ("all pages", everything)):
        p50, p95, p99 = percentiles(times)
        met = met and p95 <= AIM_P95
        print(f"   {page:<18}{len(times):>9,}{ms(p50):>10}{ms(p95):>10}{ms(p99):>10}"
              f"   {verdict(p95 <= AIM_P95)}")
    failures = sum(tally.failures.values())
    print(f"   failures: {failures}" + "".join(f"\n     {count} × {problem}"
                                               for problem, count in tally.failures.items()))
    print(f"   {len(everything):,} requests in {seconds:.1f} s = {len(everything) / seconds:.0f}/s;"
          f" server CPU {served:.1f} s = {ms(served / max(1, len(everything)))} per request; "
          f"load generator {generated:.1f} s"
          + ("" if others is None else f"; other processes and steal {others:.1f} s"))
    print(f"   p95 ≤ {ms(AIM_P95)} on every page and overall: {verdict(met and not failures)}"
          f"   [{machine_line()}]")
    if others is not None and others / (seconds * CORES) > BUSY_SHARE:
        print(f"   NOTE: other processes used {others / (seconds * CORES):.0%} of the CPU "
              f"meanwhile (more than {BUSY_SHARE:.0%}): run again on a quiet machine")
    page_costs(port, pid, accounts[-1], options.page_cost_requests)
    return met and not failures


def page_costs(port: int, pid: int, account: tuple[str, str], requests: int) -> None:
    """What one request of each page costs the server, one client alone: where a p95 goes."""
    print(f"   one client alone, {requests} requests a page: median latency and the server's "
          f"CPU per request")
    anonymous, member = Browser(port), Browser(port)
    try:
        if (problem := sign_in(member, *account)) is not None:
            raise SystemExit(f"could not sign in: {problem}")
        for page in PAGES:
            browser = member if page == "/" else anonymous
            for _ in range(5):
                browser.request("GET", page)
            times, server = [], process_cpu(pid)
            for _ in range(requests):
                started = time.perf_counter()
                status, _, _ = browser.request("GET", page)
                times.append(time.perf_counter() - started)
                if status != 200:
                    raise SystemExit(f"GET {page} answered {status}")
            cpu = (process_cpu(pid) - server) / requests
            print(f"     {page:<18} median {ms(statistics.median(times)):>8}   server CPU "
                  f"{ms(cpu):>8}")
    finally:
        anonymous.close()
        member.close()


# --- main -----------------------------------------------------------------------------------

def main() -> int:
    options = parse_arguments()
    started = time.perf_counter()
    print(f"Code: {code_version()}\n{machine_line()}\nPrivate folder: {PRIVATE}")
    url = f"sqlite:///{PRIVATE / 'portal.sqlite3'}"
    server = None
    try:
        open_database(url)
        try:
            accounts = create_accounts(options.households)
            check_hashes(accounts)
        finally:
            close_database()
        print(f"Setup: {options.households} households and web accounts at bcrypt cost {COST} "
              f"in {time.perf_counter() - started:.1f} s")
        server, port = start_server(url, options.server_threads)
        print(f"Server: clerkdesk portal serve, pid {server.pid}, http://127.0.0.1:{port}, "
              f"--threads {options.server_threads} --limit '{RATE_LIMIT}'")
        share_met, no_failures = part_sign_ins(port, server.pid, accounts, options)
        pages_met = part_pages(port, server.pid, accounts, options)
    finally:
        if server is not None:
            stop_server(server)
        if not options.keep:
            shutil.rmtree(PRIVATE, ignore_errors=True)
    print(f"\nSummary: sign-ins/s ≥ {AIM_SHARE:.0%} of the bcrypt limit: {verdict(share_met)};"
          f" no failed sign-ins: {verdict(no_failures)}; pages p95 ≤ {ms(AIM_P95)}: "
          f"{verdict(pages_met)}")
    print(f"Total {time.perf_counter() - started:.0f} s   [{machine_line()}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
