"""Benchmark: queueing a bulk mailing — the warnings before processing, queueing, memory.

Measures, on demo databases (SQLite, `start_demo(None, N, seed=1)`) whose households were
given web logins by a bulk assign (WebReg user names, random PINs — minted at delivery, so
nothing is hashed; scope "without-account", only_with_email=False), as the supervisor demo
sign-in ("super"), for 10,000 and --households (default 100,000) households, the mailing the
Communications wizard and `clerkdesk mail create` queue:

    MailingDraft("Web user and password",
                 Targeting(pass_types=("CY-CHILD", "CY-MST", "CY-SAS")),
                 MessageDraft("Your portal login", "Dear <FirstName>, user name <WebID>, "
                              "PIN <WebPin>, sign in at <PortalLink>"),
                 category="WEB", rehearsal=True)

1. `mailings.readiness(actor, draft)` (the counts and problems shown before processing):
   seconds and recipients per second.
2. `mailings.QueueMailing(actor, draft).run(report, CancelToken())` (one transaction):
   seconds, recipients per second, messages queued (emails, texts) and the skipped recipients
   by reason. Then checked on the database: the outbox rows of the mailing (= emails + texts
   queued), its history rows and `Mailing.recipients`; that every body still carries
   `<WebPin>` (unexpanded: the sender mints each PIN as its message goes) and that none holds
   a digit-only PIN ("PIN 1234…"). The recipients are pass holders: about a quarter of the
   households. When queueing --households takes over 30 s (or with --profile), where the
   time goes: reading the recipients (`mailing_targets.batches`) and one
   `get_setting("portal.url")` per message (what `merge_values` does) timed on their own
   inside one transaction (as the queueing runs), the rest by difference; then the
   queueing again under cProfile on a fresh copy, its top costs by own and by cumulative
   time.
3. Peak memory of QueueMailing (constructing the job + run), each size in a fresh subprocess
   (this script with a hidden --memory-child flag): the growth of ru_maxrss from just before
   the job to after its run (MiB), with the current RSS before for reference. The
   high-water mark is reset (/proc/self/clear_refs) just before, so the setup's own peak
   (opening the database, signing in) cannot hide the run's, and the child is started by a
   shell in the background rather than exec'd from this process (an exec'd child's
   ru_maxrss starts at its parent's peak). Aim: queueing --households recipients grows the
   peak by ≤ 100 MB ("flat": recipients are read and queued a batch at a time). The
   connection's SQLite page cache (cache_size -32000, about 31 MiB) fills during the one
   big transaction and counts in the growth; with --tracemalloc, another subprocess per size
   reports the tracemalloc peak (Python's own allocations only, without that cache).

Databases: built once through the real services into /tmp/clerkdesk-bench-mailing/
households-N.sqlite3 (demo households, then the bulk assign as "super"; built aside and
renamed, closed so the WAL is folded in; rebuilt when a table lacks a column today's models
have, or holds a mailing) and never written after: each measurement works on a fresh copy
(work-N.sqlite3), because signing in and queueing write. --rebuild forces new builds.
Building 100,000 takes about 1½ minutes (the demo ~15 s, then the bulk assign ~75 s).
CLERKDESK_BCRYPT_COST=4 (the demo staff hashes); CLERKDESK_DATA_DIR, XDG_DATA_HOME and
XDG_CONFIG_HOME point into the cache folder and the keyring is keyrings.alt's plaintext file,
all set before clerkdesk is imported.

Printed first: the commit measured (git log -1), os.cpu_count() and the load average; the
machine is shared (2 cores), so run it when `uptime` shows a low load. Once the databases
exist the whole benchmark takes under a minute (--profile adds about one, --tracemalloc
another).

Run: .venv/bin/python benchmarks/bench_mailing_queue.py [--households 100000]
     [--skip-timing] [--skip-memory] [--profile] [--tracemalloc] [--rebuild]
"""

# ruff: noqa: E402 -- the environment must be set before clerkdesk is imported.
import os
from pathlib import Path

CACHE = Path("/tmp/clerkdesk-bench-mailing")
from benchkit import use_private_folders

use_private_folders(CACHE, offscreen=True)

import argparse
import cProfile
import gc
import io
import json
import pstats
import re
import resource
import sqlite3
import subprocess
import sys
import time
import tracemalloc

from benchkit import code_version, fresh_copy, machine_line, publish_build, remove_sqlite, verdict

from clerkdesk.models import (
    CommunicationHistory,
    Household,
    Mailing,
    OutboxMessage,
    WebAccount,
    database,
)
from clerkdesk.models.schema import ALL_MODELS
from clerkdesk.services import bulk_assign, demo, mailing_targets, mailings, staff
from clerkdesk.services.bulk_assign import AssignOptions
from clerkdesk.services.bulk_targets import Scope
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.jobs import CancelToken, Progress
from clerkdesk.services.mailing_drafts import MessageDraft
from clerkdesk.services.mailing_targets import Targeting
from clerkdesk.services.mailings import MailingDraft, QueueMailing
from clerkdesk.services.outbox import WEB_PIN
from clerkdesk.services.settings import get_setting

DEFAULT_HOUSEHOLDS = 100_000
SMALL_HOUSEHOLDS = 10_000
SUPERVISOR = demo.DEMO_STAFF[1][:2]  # ("super", "super-demo-pass")
AIM_MEMORY_MB = 100.0
SLOW_QUEUE_S = 30.0  # queueing the larger size slower than this: say where the time goes
RESULT_MARK = "BENCH-RESULT "
MIB = 2**20
DIGIT_PIN = re.compile(r"\bPIN\s+\d+\b")  # what a body would hold had a PIN been expanded
DRAFT = MailingDraft(
    description="Web user and password",
    targeting=Targeting(pass_types=("CY-CHILD", "CY-MST", "CY-SAS")),
    message=MessageDraft("Your portal login", "Dear <FirstName>, user name <WebID>, PIN "
                         "<WebPin>, sign in at <PortalLink>"),
    category="WEB", rehearsal=True)
ASSIGN = AssignOptions(scope=Scope("without-account"), only_with_email=False,
                       usernames="webreg", pins="random")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS,
                        help=f"the larger size (default {DEFAULT_HOUSEHOLDS:,}); the smaller "
                             f"is {SMALL_HOUSEHOLDS:,}")
    parser.add_argument("--skip-timing", action="store_true", help="skip parts 1 and 2")
    parser.add_argument("--skip-memory", action="store_true", help="skip part 3")
    parser.add_argument("--profile", action="store_true",
                        help="profile the larger queueing even when it takes under 30 s")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="part 3 also reports the tracemalloc peaks (slower)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--memory-child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the databases --------------------------------------------------------------------------

def pristine_path(households: int) -> Path:
    return CACHE / f"households-{households}.sqlite3"


def missing_columns(connection: sqlite3.Connection, model) -> list[str]:
    table = model._meta.table_name
    present = {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}
    return [f.column_name for f in model._meta.sorted_fields if f.column_name not in present]


def is_pristine(path: Path, households: int) -> bool:
    """The cached file holds the demo households with web logins, no mailing or queued
    message, and every column today's models have."""
    if not path.exists():
        return False
    tables = [model._meta.table_name for model in (Household, WebAccount, Mailing,
                                                   OutboxMessage)]
    try:
        # immutable: no -wal or -shm file is made next to it (it has no WAL content anyway)
        connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            counts = [connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                      for table in tables]
            missing = [f"{model._meta.table_name}.{column}" for model in ALL_MODELS
                       for column in missing_columns(connection, model)]
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    if missing:
        print(f"{path} lacks {', '.join(missing)} (the models changed): rebuilding",
              flush=True)
    households_there, accounts, mailings_there, messages = counts
    return (households_there == households and accounts > 0 and mailings_there == 0
            and messages == 0 and not missing)


def pristine(households: int, rebuild: bool) -> Path:
    """The cached database of `households`: demo households given web logins by a bulk
    assign, built once through the real services."""
    path = pristine_path(households)
    if not rebuild and is_pristine(path, households):
        return path
    partial = path.with_name(path.name + ".partial")
    remove_sqlite(partial)
    print(f"Building {households:,} demo households with web logins into {path} (cached for "
          "reruns)…", flush=True)
    started = time.perf_counter()
    open_database(f"sqlite:///{partial}")
    try:
        demo.start_demo(None, households, seed=1).run(lambda progress: None, CancelToken())
        built = time.perf_counter()
        session = staff.sign_in(*SUPERVISOR)
        run = bulk_assign.start_run(session, ASSIGN).run(lambda progress: None, CancelToken())
        accounts = WebAccount.select().count()
    finally:
        close_database()  # the last connection: SQLite folds the WAL into the file
    publish_build(partial, path)
    print(f"  demo in {built - started:.1f} s; bulk assign run {run.id} {run.state} in "
          f"{time.perf_counter() - built:.1f} s: {run.assigned:,} assigned, "
          f"{run.exceptions:,} exceptions; {accounts:,} web accounts "
          f"({path.stat().st_size / MIB:.0f} MiB)", flush=True)
    return path


def working_copy(households: int) -> Path:
    """A fresh copy of the pristine file, so every measurement starts from the same state."""
    return fresh_copy(pristine_path(households), CACHE / f"work-{households}.sqlite3")


def open_copy(households: int):
    """Open a working copy and sign in as the supervisor (untimed)."""
    open_database(f"sqlite:///{working_copy(households)}")
    return staff.sign_in(*SUPERVISOR)


# --- 1 and 2. readiness and queueing --------------------------------------------------------

class Reports:
    """The progress callback: counts the reports, keeps the last."""

    def __init__(self) -> None:
        self.count, self.last = 0, None

    def __call__(self, progress: Progress) -> None:
        self.count += 1
        self.last = progress


def check_outbox(mailing_id: int) -> dict[str, int]:
    """What the queueing left in the database, and bodies that break DESIGN decision 2."""
    rows = without_pin = digit_pins = 0
    for (body,) in (OutboxMessage.select(OutboxMessage.body)
                    .where(OutboxMessage.mailing_id == mailing_id).tuples().iterator()):
        rows += 1
        without_pin += WEB_PIN not in body
        digit_pins += DIGIT_PIN.search(body) is not None
    history = (CommunicationHistory.select()
               .where(CommunicationHistory.mailing == mailing_id).count())
    mailing = Mailing.get_by_id(mailing_id)
    return {"rows": rows, "without_pin": without_pin, "digit_pins": digit_pins,
            "history": history, "recipients": mailing.recipients}


def report_timing(households: int) -> tuple[float, int, bool]:
    """Parts 1 and 2 for one size: the queueing seconds, the messages queued and whether
    the outbox is right."""
    print(f"\n{households:,} households", flush=True)
    session = open_copy(households)
    try:
        reports = Reports()
        started = time.perf_counter()
        ready = mailings.readiness(session, DRAFT, reports, CancelToken())
        seconds = time.perf_counter() - started
        print(f"  1. readiness: {seconds:.2f} s, {ready.recipients / seconds:,.0f} "
              f"recipients/s  ({ready.recipients:,} recipients: {ready.emails:,} emails, "
              f"{ready.texts:,} texts, {ready.without_login:,} without a login, "
              f"{ready.unreachable:,} unreachable; {reports.count} progress reports; "
              f"problems: {'; '.join(ready.problems) or 'none'})", flush=True)
        reports = Reports()
        started = time.perf_counter()
        job = QueueMailing(session, DRAFT)
        result = job.run(reports, CancelToken())
        queue_seconds = time.perf_counter() - started
        recipients = reports.last.done if reports.last else 0
        queued = result.emails + result.texts
        print(f"  2. QueueMailing: {queue_seconds:.2f} s, {recipients / queue_seconds:,.0f} "
              f"recipients/s  (mailing {result.mailing_id}: {recipients:,} recipients, "
              f"{queued:,} messages queued = {result.emails:,} emails + {result.texts:,} "
              f"texts; skipped: " + ("; ".join(f"{reason} {n:,}" for reason, n in
                                               result.skipped.items()) or "none")
              + f"; {reports.count} progress reports)", flush=True)
        found = check_outbox(result.mailing_id)
        sound = (found["rows"] == queued and found["without_pin"] == 0
                 and found["digit_pins"] == 0 and found["recipients"] == recipients
                 and found["history"] == queued)
        print(f"     outbox: {found['rows']:,} rows of the mailing (queued {queued:,}); bodies "
              f"without <WebPin> {found['without_pin']:,}, with a digit-only PIN "
              f"{found['digit_pins']:,}; history rows {found['history']:,}; "
              f"Mailing.recipients {found['recipients']:,}; readiness said "
              f"{ready.messages:,} messages  → {'OK' if sound else 'MISMATCH'}", flush=True)
        print(f"     {machine_line()}", flush=True)
    finally:
        close_database()
    return queue_seconds, queued, sound


def where_time_goes(households: int, queue_seconds: float, messages: int) -> None:
    """Parts of the queueing timed on their own (no profiler) on a fresh copy, inside one
    transaction as QueueMailing reads them (outside one, every SELECT would begin its own read
    transaction, which costs more), then the queueing under cProfile on another copy."""
    session = open_copy(households)
    try:
        with database.atomic():
            started = time.perf_counter()
            read = sum(len(batch) for batch in mailing_targets.batches(
                DRAFT.targeting, mailings.BATCH_HOUSEHOLDS))
            reading = time.perf_counter() - started
            # merge_values reads the portal address once per merged message
            started = time.perf_counter()
            for _ in range(messages):
                get_setting("portal.url")
            lookups = time.perf_counter() - started
    finally:
        close_database()
    rest = queue_seconds - reading - lookups
    print(f"\n   where the time goes ({households:,} households; each part timed on its own in "
          "one transaction, no profiler):")
    for label, seconds, note in (
            ("QueueMailing.run (part 2)", queue_seconds, ""),
            ("reading the recipients (mailing_targets.batches)", reading,
             f"{read:,} recipients, {mailings.BATCH_HOUSEHOLDS} households a batch"),
            (f"get_setting('portal.url') × {messages:,}", lookups,
             "merge_values reads it once per message"),
            ("the rest (plan, fill, inserts) by difference", rest, "")):
        print(f"     {label:<52}{seconds:6.2f} s" + (f"  ({note})" if note else ""))
    sys.stdout.flush()
    session = open_copy(households)
    try:
        profiler = cProfile.Profile()
        job = QueueMailing(session, DRAFT)
        started = time.perf_counter()
        profiler.runcall(job.run, lambda progress: None, CancelToken())
        seconds = time.perf_counter() - started
    finally:
        close_database()
    print(f"   cProfile of QueueMailing.run ({seconds:.1f} s under the profiler)")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(18)
        lines = text.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"\n   by {order}:")
        for line in lines[start:]:
            if line.strip():
                print("   " + line.replace(str(Path.cwd()) + "/", ""))


# --- 3. peak memory -------------------------------------------------------------------------

def proc_status(key: str) -> float:
    """A figure of /proc/self/status (VmRSS: resident now, VmHWM: its peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss() -> float:
    """The peak resident set so far, in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Bring the peak resident set down to the current one (Linux ≥ 4.0: writing 5 to
    clear_refs resets the high-water mark), so only the queueing's own peak counts."""
    try:
        with open("/proc/self/clear_refs", "w") as control:
            control.write("5")
    except OSError:
        return False
    return True


def memory_child(path: str, trace: bool) -> int:
    """Queue the mailing over the database at `path`; print the memory figures as JSON."""
    open_database(f"sqlite:///{path}")
    session = staff.sign_in(*SUPERVISOR)
    gc.collect()
    setup_peak = peak_rss()
    was_reset = reset_peak()
    rss_before, peak_before = proc_status("VmRSS"), peak_rss()
    reports = Reports()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = QueueMailing(session, DRAFT).run(reports, CancelToken())
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] / MIB if trace else None
    figures = {"recipients": reports.last.done if reports.last else 0,
               "queued": result.emails + result.texts, "seconds": seconds,
               "setup_peak": setup_peak, "reset": was_reset, "rss_before": rss_before,
               "peak_before": peak_before, "peak_after": peak_rss(),
               "hwm_after": proc_status("VmHWM"), "traced_peak": traced}
    close_database()
    print(RESULT_MARK + json.dumps(figures), flush=True)
    return 0


def run_memory_child(households: int, trace: bool) -> dict:
    """Started by a shell in the background, not exec'd from this process: an exec'd child's
    ru_maxrss starts at its parent's peak."""
    path = working_copy(households)
    command = ["/bin/sh", "-c", '"$@" & wait $!', "sh", sys.executable, __file__,
               "--memory-child", str(path)] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def report_memory(sizes: list[int], trace: bool) -> bool:
    print("\n3. Peak memory of QueueMailing (job + run), each size in a fresh subprocess; "
          "ru_maxrss from just before the job to after its run", flush=True)
    growth = {}
    for households in sizes:
        r = run_memory_child(households, trace=False)
        growth[households] = r["peak_after"] - r["peak_before"]
        print(f"   {households:>7,} households: {r['seconds']:.1f} s, {r['recipients']:,} "
              f"recipients, {r['queued']:,} messages queued", flush=True)
        print(f"     ru_maxrss {r['peak_before']:.1f} → {r['peak_after']:.1f} MiB: peak growth "
              f"{growth[households]:.1f} MiB = {growth[households] * MIB / 1e6:.1f} MB  (RSS "
              f"before {r['rss_before']:.1f} MiB; setup peak {r['setup_peak']:.1f} MiB, "
              + ("reset before the run" if r["reset"] else "NOT reset: growth understated")
              + f"; VmHWM after {r['hwm_after']:.1f} MiB)", flush=True)
    if trace:
        for households in sizes:
            r = run_memory_child(households, trace=True)
            print(f"   {households:>7,} households under tracemalloc: peak traced (Python's "
                  f"own allocations, not SQLite's page cache) {r['traced_peak']:.1f} MiB "
                  f"({r['seconds']:.1f} s)", flush=True)
    large = max(sizes)
    megabytes = growth[large] * MIB / 1e6
    print("   growth: " + ", ".join(f"{n:,}: {growth[n]:.1f} MiB" for n in sizes)
          + f"; at {large:,}: {megabytes:.1f} MB  (aim ≤ {AIM_MEMORY_MB:.0f} MB: "
          f"{verdict(megabytes <= AIM_MEMORY_MB)})")
    print(f"   {machine_line()}")
    return megabytes <= AIM_MEMORY_MB


# --- main -----------------------------------------------------------------------------------

def main() -> int:
    options = parse_arguments()
    if options.memory_child:
        return memory_child(options.memory_child, options.trace)
    for folder in ("data", "xdg", "config"):
        (CACHE / folder).mkdir(parents=True, exist_ok=True)
    print(f"Code: {code_version()}")
    print(machine_line(), flush=True)
    sizes = sorted({SMALL_HOUSEHOLDS, options.households})
    for households in sizes:
        path = pristine(households, options.rebuild)
        print(f"Database {households:,} households: {path} "
              f"({path.stat().st_size / MIB:.0f} MiB)", flush=True)
    aims = {}
    if not options.skip_timing:
        print("\n1. mailings.readiness and 2. QueueMailing.run, draft: "
              f"{DRAFT.targeting.pass_types}, category {DRAFT.category}, rehearsal")
        queueing = {}  # households → (seconds, messages queued)
        for households in sizes:
            queue_seconds, queued, sound = report_timing(households)
            queueing[households] = queue_seconds, queued
            aims[f"outbox sound at {households:,} (<WebPin> kept, rows counted)"] = sound
        large = max(sizes)
        if options.profile or queueing[large][0] > SLOW_QUEUE_S:
            where_time_goes(large, *queueing[large])
    if not options.skip_memory:
        aims[f"memory growth ≤ {AIM_MEMORY_MB:.0f} MB"] = report_memory(sizes, options.tracemalloc)
    print(f"\nAims  ({machine_line()})")
    for name, met in aims.items():
        print(f"  {name}: {verdict(met)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
