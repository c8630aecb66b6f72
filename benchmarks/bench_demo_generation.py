"""Benchmark: demo-household generation into a fresh SQLite file, through the real service.

Measures `clerkdesk.services.demo.start_demo(None, N, seed=1).run(...)` on a database just
opened with `clerkdesk.services.database.open_database` in a temporary folder, and prints
households, members and passes written per second, the total seconds and the core count.

Aim: at least 10,000 households per second for N = 100,000 (the default; see --households).

CLERKDESK_BCRYPT_COST is set to 4 before clerkdesk is imported, so the three demo staff
password hashes (bcrypt) take milliseconds and do not dominate the figure.

Run: .venv/bin/python benchmarks/bench_demo_generation.py [--households N]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["CLERKDESK_BCRYPT_COST"] = "4"  # before clerkdesk reads it

AIM_HOUSEHOLDS_PER_SECOND = 10_000
DEFAULT_HOUSEHOLDS = 100_000


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS,
                        help=f"demo households to generate (default {DEFAULT_HOUSEHOLDS:,})")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args()


def progress_printer(quiet: bool):
    """A progress callback printing about every tenth of the run (to stdout)."""
    last = [0.0]

    def report(progress) -> None:
        if quiet or (progress.fraction - last[0] < 0.1 and progress.done != progress.total):
            return
        last[0] = progress.fraction
        print(f"  … {progress.message}", flush=True)

    return report


def generate(path: Path, households: int, quiet: bool) -> tuple[object, float, float]:
    """Open a fresh database at `path` and run the demo job; returns (result, open s, run s)."""
    from clerkdesk.services.database import close_database, open_database
    from clerkdesk.services.demo import start_demo
    from clerkdesk.services.jobs import CancelToken

    started = time.perf_counter()
    open_database(f"sqlite:///{path}")
    opened = time.perf_counter()
    result = start_demo(None, households, seed=1).run(progress_printer(quiet), CancelToken())
    finished = time.perf_counter()
    close_database()
    return result, opened - started, finished - opened


def print_report(result, households: int, open_seconds: float, run_seconds: float) -> None:
    rate = result.households / run_seconds
    verdict = "meets" if rate >= AIM_HOUSEHOLDS_PER_SECOND else "MISSES"
    print("Demo-household generation (SQLite, fresh file, seed=1)")
    print("  CLERKDESK_BCRYPT_COST=4 (set by this benchmark: the 3 demo staff hashes are cheap)")
    print(f"  os.cpu_count():        {os.cpu_count()}")
    print(f"  households requested:  {households:,}")
    print(f"  households written:    {result.households:,}")
    print(f"  members written:       {result.members:,}")
    print(f"  passes written:        {result.passes:,}")
    print(f"  open_database seconds: {open_seconds:.3f} (schema creation, not in the rates)")
    print(f"  job seconds (total):   {run_seconds:.2f}")
    print(f"  households/second:     {rate:,.0f}  (aim ≥ {AIM_HOUSEHOLDS_PER_SECOND:,}: {verdict})")
    print(f"  members/second:        {result.members / run_seconds:,.0f}")
    print(f"  passes/second:         {result.passes / run_seconds:,.0f}")


def main() -> int:
    options = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="clerkdesk-bench-demo-") as folder:
        os.environ.setdefault("CLERKDESK_DATA_DIR", folder)
        path = Path(folder) / "demo.sqlite3"
        result, open_seconds, run_seconds = generate(path, options.households, options.quiet)
        print_report(result, options.households, open_seconds, run_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
