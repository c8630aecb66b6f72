"""Benchmark: household search-as-you-type at 1,000,000 households, against a plain LIKE scan.

Measures, on one demo database (SQLite by default, PostgreSQL with --postgresql):

1. `household_search.search(clerk, q)` — the first page (50 rows, as the desk shows it) — for
   about 200 queries drawn from the data with a fixed seed: last-name and first-name
   fragments (their first 2–5 letters), two-word "first last" fragments, phone digits (last
   4, last 7, all 10, and formatted like "(303) 555-0147"), client IDs (exact and prefixes)
   and web user names (exact and prefixes). One untimed warm-up round, then --rounds timed
   rounds; each query's time is the median of its rounds. p50, p95 and max per category and
   overall, in ms, and how often the household the query was drawn from is on the first page
   (for the exact kinds).
2. `household_search.count_matches(clerk, q)` the same way (p50, p95, max), with the median
   count and how many counts stopped early ("N+").
3. A plain scan baseline on a stratified subset (--scan-per-category queries of each kind):
   household JOIN member, every word of the query (the same words `search_terms` makes) must
   match one of name, first and last name, client ID, phone digits, email or a web user name
   as `lower(column) LIKE '%word%'`, SELECT DISTINCT … LIMIT 50. One untimed full scan first,
   so both sides run with the tables in the page cache. p50/p95 of the scan and of search on
   the same queries, and the speed-up ratios.

Aims: search p95 ≤ 5 ms overall, and search ≥ 100× faster than the scan (p50 and p95).

Also printed: os.cpu_count(), the load average, the commit measured, and for each timed part
how many CPUs other processes kept busy meanwhile (/proc/stat; on PostgreSQL that includes
the server) — on a 2-core machine another busy process visibly slows every figure.

The database is built once through the real services — `open_database`, the demo job
(`start_demo(None, N, seed=1)`, which also writes the search index) and 300 web accounts via
`web_accounts.create_account` (user names like "jsmith42") — and reused on reruns: SQLite in
/tmp/clerkdesk-bench-search/households-N.sqlite3, PostgreSQL in the schema "bench_search" of
postgresql://postgres@127.0.0.1:5432/test (kept; --drop removes it after the run; VACUUM ANALYZE
runs before every measurement, as autovacuum would on a live server). A cached database is
rebuilt when its index no longer equals what today's `search_index.household_tokens` derives
for a sample of households. A 1M build takes
about 2 minutes on SQLite and about 15 on PostgreSQL (peewee's multi-row INSERT); --households
picks a smaller size, --rebuild forces a new build.

CLERKDESK_BCRYPT_COST=4, CLERKDESK_DATA_DIR, XDG_DATA_HOME and a plaintext keyring are set
before clerkdesk is imported.

Run: .venv/bin/python benchmarks/bench_search.py [--households N] [--postgresql] [--rebuild]
     [--drop] [--rounds 3] [--scan-per-category 2]
"""

# ruff: noqa: E402 -- the environment must be set before clerkdesk is imported.
import os
from pathlib import Path

CACHE = Path("/tmp/clerkdesk-bench-search")
from benchkit import use_private_folders

use_private_folders(CACHE)

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2
from anyascii import anyascii
from benchkit import machine_busy_seconds
from peewee import PostgresqlDatabase

from clerkdesk.models import Household, Member, SearchToken, WebAccount, database
from clerkdesk.services import demo, household_search, search_index, staff, web_accounts
from clerkdesk.services.database import close_database, open_database
from clerkdesk.services.jobs import CancelToken

DEFAULT_HOUSEHOLDS = 1_000_000
WEB_ACCOUNTS = 300
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_SCHEMA = "bench_search"
ACCOUNT_SEED, QUERY_SEED = 7, 2024
AIM_P95_MS, AIM_SPEEDUP = 5.0, 100.0
SCAN_LIMIT = 50
STALE_SAMPLE = 200  # households whose index is re-derived to tell a stale cache
# Queries of each kind, in the order they are reported.
CATEGORIES = {"last name 2-5": 30, "first name 2-5": 25, "first last": 25, "phone last 4": 15,
              "phone last 7": 15, "phone 10": 15, "phone formatted": 15, "client exact": 15,
              "client prefix": 15, "user exact": 15, "user prefix": 15}
SERVER_NOTE = ", the PostgreSQL server included"
EXACT_KINDS = ("phone 10", "phone formatted", "client exact", "user exact")
_NOT_PLAIN = re.compile(r"[^a-z]+")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS,
                        help=f"demo households (default {DEFAULT_HOUSEHOLDS:,})")
    parser.add_argument("--postgresql", action="store_true",
                        help=f"schema {POSTGRES_SCHEMA} of {POSTGRES_SERVER} instead of SQLite")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--drop", action="store_true",
                        help="drop the PostgreSQL schema after the run")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of every query")
    parser.add_argument("--scan-per-category", type=int, default=2,
                        help="queries of each kind in the scan baseline (default 2)")
    return parser.parse_args()


# --- statistics and printing ----------------------------------------------------------------

def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(seconds: list[float]) -> str:
    return (f"p50 {statistics.median(seconds) * 1000:8.2f}  p95 {p95(seconds) * 1000:8.2f}  "
            f"max {max(seconds) * 1000:8.2f}")


def verdict(met: bool) -> str:
    return "meets" if met else "MISSES"


# --- building the database ------------------------------------------------------------------

def progress_printer(started: float):
    step = [0.0]

    def report(progress) -> None:
        if progress.fraction >= step[0] + 0.1 or progress.done == progress.total:
            step[0] = progress.fraction
            print(f"  … {progress.message} ({time.perf_counter() - started:.0f} s in)",
                  flush=True)

    return report


def populate(households: int) -> None:
    """Demo households (seed 1, with their search index), then the web accounts."""
    started = time.perf_counter()
    print(f"Building {households:,} demo households (cached for reruns)…", flush=True)
    demo.start_demo(None, households, seed=1).run(progress_printer(started), CancelToken())
    admin = staff.sign_in(*demo.DEMO_STAFF[0][:2])
    add_web_accounts(admin)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def add_web_accounts(admin) -> None:
    """WEB_ACCOUNTS accounts on random households: first initial, last name, digits."""
    rng = random.Random(ACCOUNT_SEED)
    low, high = id_range()
    taken: set[str] = set()
    for household_id in rng.sample(range(low, high + 1), WEB_ACCOUNTS):
        primary = (Member.select().where(Member.household == household_id)
                   .order_by(Member.is_primary.desc(), Member.id).first())
        username = invent_username(rng, primary.first_name, primary.last_name, taken)
        web_accounts.create_account(admin, household_id, username)


def invent_username(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    plain_first = _NOT_PLAIN.sub("", anyascii(first).lower()) or "x"
    plain_last = _NOT_PLAIN.sub("", anyascii(last).lower()) or "family"
    while True:
        name = f"{plain_first[0]}{plain_last}{rng.randint(1, 999)}"
        if name not in taken:
            taken.add(name)
            return name


def sqlite_database(households: int, rebuild: bool) -> str:
    path = CACHE / f"households-{households}.sqlite3"
    if path.exists() and not rebuild:
        open_database(f"sqlite:///{path}")
        if index_is_current():
            print(f"Reusing the cached {path}", flush=True)
            return f"SQLite {path} ({path.stat().st_size / 2**20:,.0f} MiB)"
        close_database()
    build_sqlite(path, households)
    open_database(f"sqlite:///{path}")
    return f"SQLite {path} ({path.stat().st_size / 2**20:,.0f} MiB)"


def build_sqlite(path: Path, households: int) -> None:
    """Built aside and renamed, so an interrupted build is never reused."""
    partial = path.with_name(path.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    open_database(f"sqlite:///{partial}")
    populate(households)
    close_database()
    partial.rename(path)


def postgres_admin(statement: str) -> None:
    connection = psycopg2.connect(POSTGRES_SERVER, connect_timeout=5)
    with connection, connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def postgresql_database(households: int, rebuild: bool) -> str:
    url = f"{POSTGRES_SERVER}?options=-csearch_path%3D{POSTGRES_SCHEMA}"
    if rebuild:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{POSTGRES_SCHEMA}" CASCADE')
    postgres_admin(f'CREATE SCHEMA IF NOT EXISTS "{POSTGRES_SCHEMA}"')
    open_database(url)
    if is_built(households) and index_is_current():
        print(f"Reusing the schema {POSTGRES_SCHEMA} ({households:,} households)", flush=True)
    else:
        if Household.select().exists():  # another size, or a build that did not finish
            close_database()
            postgres_admin(f'DROP SCHEMA "{POSTGRES_SCHEMA}" CASCADE')
            postgres_admin(f'CREATE SCHEMA "{POSTGRES_SCHEMA}"')
            open_database(url)
        populate(households)
    vacuum_analyze()
    return f"PostgreSQL {url}"


def vacuum_analyze() -> None:
    """What autovacuum does on a live server: fresh statistics, and the visibility map that
    lets index-only scans skip the table (right after a bulk load every row is a heap fetch)."""
    connection = psycopg2.connect(POSTGRES_SERVER, connect_timeout=5)
    connection.autocommit = True  # VACUUM cannot run in a transaction
    with connection.cursor() as cursor:
        for table in ("household", "member", "web_account", "search_token"):
            cursor.execute(f'VACUUM ANALYZE "{POSTGRES_SCHEMA}"."{table}"')
    connection.close()


def is_built(households: int) -> bool:
    return (Household.select().count() == households
            and WebAccount.select().count() == WEB_ACCOUNTS)


def id_range() -> tuple[int, int]:
    low = Household.select(Household.id).order_by(Household.id).limit(1).scalar()
    high = Household.select(Household.id).order_by(Household.id.desc()).limit(1).scalar()
    return low, high


def index_is_current() -> bool:
    """Whether the cached index still holds what today's search_index code derives, for a
    sample of households (all with web accounts among them); if not, the cache is rebuilt."""
    low, high = id_range()
    ids = random.Random(ACCOUNT_SEED + 1).sample(range(low, high + 1),
                                                 min(STALE_SAMPLE, high - low + 1))
    ids += [home for (home,) in WebAccount.select(WebAccount.household).tuples()]
    for home in Household.select().where(Household.id.in_(ids)):
        members = list(Member.select().where(Member.household == home.id))
        accounts = WebAccount.select(WebAccount.username, WebAccount.email) \
            .where(WebAccount.household == home.id)
        stored = set(SearchToken.select(SearchToken.kind, SearchToken.token)
                     .where(SearchToken.household == home.id).tuples())
        if stored != search_index.household_tokens(home, members, accounts):
            print(f"The cached index is stale (household {home.id} is indexed differently by "
                  "the current code): rebuilding", flush=True)
            return False
    return True


# --- the queries ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    category: str
    text: str
    household_id: int  # the household it was drawn from


def sample_households(rng: random.Random, count: int) -> list[tuple[Household, list[Member]]]:
    low, high = id_range()
    ids = rng.sample(range(low, high + 1), count)
    homes = {h.id: h for h in Household.select().where(Household.id.in_(ids))}
    members: dict[int, list[Member]] = {}
    for member in Member.select().where(Member.household.in_(ids)).order_by(Member.id):
        members.setdefault(member.household_id, []).append(member)
    return [(homes[i], members.get(i, [])) for i in ids if i in homes]


def fragment(rng: random.Random, text: str) -> str:
    """The first 2-5 characters, as a clerk types them."""
    return text[:rng.randint(2, 5)]


def name_queries(rng: random.Random, sample: list) -> list[Query]:
    queries = []
    for category in ("last name 2-5", "first name 2-5", "first last"):
        for home, members in rng.sample(sample, CATEGORIES[category]):
            person = rng.choice(members)
            text = {"last name 2-5": fragment(rng, person.last_name),
                    "first name 2-5": fragment(rng, person.first_name),
                    "first last": f"{fragment(rng, person.first_name)} "
                                  f"{fragment(rng, person.last_name)}"}[category]
            queries.append(Query(category, text, home.id))
    return queries


def phone_queries(rng: random.Random, sample: list) -> list[Query]:
    with_phone = [home for home, _ in sample if len(home.phone_digits) == 10]
    queries = []
    for category in ("phone last 4", "phone last 7", "phone 10", "phone formatted"):
        for home in rng.sample(with_phone, CATEGORIES[category]):
            d = home.phone_digits
            text = {"phone last 4": d[-4:], "phone last 7": d[-7:], "phone 10": d,
                    "phone formatted": f"({d[:3]}) {d[3:6]}-{d[6:]}"}[category]
            queries.append(Query(category, text, home.id))
    return queries


def client_queries(rng: random.Random, sample: list) -> list[Query]:
    queries = [Query("client exact", home.client_id, home.id)
               for home, _ in rng.sample(sample, CATEGORIES["client exact"])]
    for home, _ in rng.sample(sample, CATEGORIES["client prefix"]):
        client = home.client_id
        queries.append(Query("client prefix", client[:rng.randint(2, max(2, len(client) - 1))],
                             home.id))
    return queries


def user_queries(rng: random.Random) -> list[Query]:
    accounts = list(WebAccount.select(WebAccount.household, WebAccount.username)
                    .order_by(WebAccount.id).tuples())
    queries = [Query("user exact", name, home)
               for home, name in rng.sample(accounts, CATEGORIES["user exact"])]
    queries += [Query("user prefix", name[:rng.randint(3, 6)], home)
                for home, name in rng.sample(accounts, CATEGORIES["user prefix"])]
    return queries


def build_queries() -> list[Query]:
    rng = random.Random(QUERY_SEED)
    sample = sample_households(rng, 150)
    return (name_queries(rng, sample) + phone_queries(rng, sample) + client_queries(rng, sample)
            + user_queries(rng))


# --- timing ---------------------------------------------------------------------------------

def time_calls(queries: list[Query], call: Callable[[str], object], rounds: int
               ) -> tuple[list[float], list[object], float]:
    """One untimed warm-up round, then `rounds` rounds; per query the median and last result,
    and how many CPUs other processes kept busy meanwhile (on average)."""
    results = [call(q.text) for q in queries]
    samples: list[list[float]] = [[] for _ in queries]
    wall, busy, own = time.perf_counter(), (machine_busy_seconds() or 0.0), time.process_time()
    for _ in range(rounds):
        for index, query in enumerate(queries):
            started = time.perf_counter()
            results[index] = call(query.text)
            samples[index].append(time.perf_counter() - started)
    others = ((machine_busy_seconds() or 0.0) - busy - (time.process_time() - own)) \
        / (time.perf_counter() - wall)
    return [statistics.median(s) for s in samples], results, others


def is_postgresql() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def report_by_category(title: str, queries: list[Query], seconds: list[float], others: float,
                       notes: Callable[[str, list[int]], str]) -> None:
    print(f"\n{title}  (ms; per query the median of its timed rounds; other processes kept "
          f"{others:.2f} CPUs busy meanwhile{SERVER_NOTE if is_postgresql() else ''})")
    for category in CATEGORIES:
        picked = [i for i, q in enumerate(queries) if q.category == category]
        if picked:
            print(f"  {category:16} n={len(picked):3}  {summary([seconds[i] for i in picked])}"
                  f"  {notes(category, picked)}")
    print(f"  {'overall':16} n={len(queries):3}  {summary(seconds)}")


def print_slowest(queries: list[Query], seconds: list[float], count: int = 5) -> None:
    slowest = sorted(range(len(queries)), key=lambda i: seconds[i], reverse=True)[:count]
    print("  slowest: " + ", ".join(f"{queries[i].text!r} ({queries[i].category}) "
                                    f"{seconds[i] * 1000:.1f}" for i in slowest))


def measure_search(clerk, queries: list[Query], rounds: int) -> list[float]:
    seconds, pages, others = time_calls(
        queries, lambda text: household_search.search(clerk, text), rounds)

    def notes(category: str, picked: list[int]) -> str:
        found = sum(1 for i in picked if pages[i].rows)
        text = f"found {found}/{len(picked)}"
        if category in EXACT_KINDS:
            hit = sum(1 for i in picked
                      if queries[i].household_id in {row.id for row in pages[i].rows})
            text += f", drawn-from household on page 1: {hit}/{len(picked)}"
        return text

    report_by_category("household_search.search — first page", queries, seconds, others, notes)
    print_slowest(queries, seconds)
    return seconds


def measure_count(clerk, queries: list[Query], rounds: int) -> list[float]:
    seconds, counts, others = time_calls(
        queries, lambda text: household_search.count_matches(clerk, text), rounds)

    def notes(category: str, picked: list[int]) -> str:
        values = [counts[i].households for i in picked]
        capped = sum(1 for i in picked if not counts[i].exact)
        return f"median count {statistics.median(values):,.0f}, stopped early (N+) {capped}"

    report_by_category("household_search.count_matches", queries, seconds, others, notes)
    print_slowest(queries, seconds)
    return seconds


# --- the plain scan baseline ----------------------------------------------------------------

SCAN_COLUMNS = ("lower(h.name)", "lower(m.first_name)", "lower(m.last_name)",
                "lower(h.client_id)", "h.phone_digits", "m.phone_digits", "lower(h.email)",
                "lower(m.email)")


def scan_sql(words: int) -> str:
    """Every word must match some field of the household, a member or a web user name."""
    mark = database.obj.param
    each = " OR ".join(f"{column} LIKE {mark}" for column in SCAN_COLUMNS)
    each += (f" OR EXISTS (SELECT 1 FROM web_account w WHERE w.household_id = h.id"
             f" AND lower(w.username) LIKE {mark})")
    where = " AND ".join(f"({each})" for _ in range(words))
    return (f"SELECT DISTINCT h.id FROM household h JOIN member m ON m.household_id = h.id "
            f"WHERE {where} LIMIT {SCAN_LIMIT}")


def scan(text: str) -> list[int]:
    terms = household_search.search_terms(text) or [""]
    params = [f"%{term}%" for term in terms for _ in range(len(SCAN_COLUMNS) + 1)]
    return [row[0] for row in database.execute_sql(scan_sql(len(terms)), params).fetchall()]


def scan_subset(queries: list[Query], per_category: int) -> list[int]:
    rng = random.Random(QUERY_SEED + 1)
    picked = []
    for category in CATEGORIES:
        indexes = [i for i, q in enumerate(queries) if q.category == category]
        picked += sorted(rng.sample(indexes, min(per_category, len(indexes))))
    return picked


def measure_scan(queries: list[Query], search_seconds: list[float], per_category: int) -> dict:
    picked = scan_subset(queries, per_category)
    print(f"\nPlain scan baseline: {len(picked)} queries, household JOIN member, "
          f"lower(column) LIKE '%word%', DISTINCT, LIMIT {SCAN_LIMIT}  (ms, one run each)")
    started = time.perf_counter()
    scan("qqqqzzzzxq")  # untimed: reads every row, so the tables are in the page cache
    print(f"  untimed warm-up full scan: {(time.perf_counter() - started) * 1000:,.0f} ms")
    scanned = []
    for i in picked:
        started = time.perf_counter()
        rows = scan(queries[i].text)
        scanned.append(time.perf_counter() - started)
        print(f"  {queries[i].category:16} {queries[i].text!r:18} scan {scanned[-1] * 1000:9.1f}"
              f"  search {search_seconds[i] * 1000:6.2f}  ×{scanned[-1] / search_seconds[i]:8.0f}"
              f"  ({len(rows)} rows)", flush=True)
    searched = [search_seconds[i] for i in picked]
    return {"scan": scanned, "search": searched}


def report_scan(result: dict) -> tuple[float, float]:
    scanned, searched = result["scan"], result["search"]
    ratio_p50 = statistics.median(scanned) / statistics.median(searched)
    ratio_p95 = p95(scanned) / p95(searched)
    per_query = statistics.median(s / q for s, q in zip(scanned, searched, strict=True))
    print(f"  scan   {summary(scanned)}")
    print(f"  search {summary(searched)}  (same queries)")
    print(f"  speed-up search vs scan: p50/p50 ×{ratio_p50:,.0f}, p95/p95 ×{ratio_p95:,.0f}, "
          f"median of per-query ratios ×{per_query:,.0f}")
    return ratio_p50, ratio_p95


# --- main -----------------------------------------------------------------------------------

def code_version() -> str:
    """The commit measured, and whether clerkdesk/ had uncommitted changes."""
    def git(*arguments: str) -> str:
        done = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), *arguments],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("log", "-1", "--format=%h (%ad)", "--date=iso") or "unknown"
    dirty = git("status", "--porcelain", "--", "../clerkdesk")
    return head + (", with uncommitted changes in clerkdesk/" if dirty else "")


def describe_database(label: str) -> None:
    print(f"\nDatabase: {label}")
    print(f"  households {Household.select().count():,}, members {Member.select().count():,}, "
          f"search tokens {SearchToken.select().count():,}, "
          f"web accounts {WebAccount.select().count():,}")
    print(f"  code: {code_version()}")
    print(f"  os.cpu_count(): {os.cpu_count()};  load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def print_aims(search_seconds: list[float], ratios: tuple[float, float]) -> None:
    worst = p95(search_seconds) * 1000
    print("\nAims")
    print(f"  search p95 {worst:.2f} ms (aim ≤ {AIM_P95_MS} ms: {verdict(worst <= AIM_P95_MS)})")
    print(f"  speed-up vs scan p50 ×{ratios[0]:,.0f}, p95 ×{ratios[1]:,.0f} "
          f"(aim ≥ ×{AIM_SPEEDUP:.0f}: {verdict(min(ratios) >= AIM_SPEEDUP)})")


def run(options: argparse.Namespace) -> None:
    for folder in ("data", "xdg"):
        (CACHE / folder).mkdir(parents=True, exist_ok=True)
    if options.postgresql:
        label = postgresql_database(options.households, options.rebuild)
    else:
        label = sqlite_database(options.households, options.rebuild)
    describe_database(label)
    clerk = staff.sign_in(*demo.DEMO_STAFF[2][:2])
    queries = build_queries()
    print(f"  {len(queries)} queries (seed {QUERY_SEED}), {options.rounds} timed rounds each")
    search_seconds = measure_search(clerk, queries, options.rounds)
    measure_count(clerk, queries, options.rounds)
    scanned = measure_scan(queries, search_seconds, options.scan_per_category)
    print_aims(search_seconds, report_scan(scanned))


def main() -> int:
    options = parse_arguments()
    try:
        run(options)
    finally:
        close_database()
        if options.postgresql and options.drop:
            postgres_admin(f'DROP SCHEMA IF EXISTS "{POSTGRES_SCHEMA}" CASCADE')
            print(f"Dropped the schema {POSTGRES_SCHEMA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
