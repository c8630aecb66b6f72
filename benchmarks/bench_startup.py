"""Benchmark: start-up to a shown main window, 1,000,000-household SQLite database vs. empty.

Each measurement runs in a fresh subprocess (QT_QPA_PLATFORM=offscreen, CLERKDESK_BCRYPT_COST=4),
so interpreter start, imports and Qt initialisation are counted every time. The child stamps
time.perf_counter() on its very first line, imports clerkdesk.ui.app, calls make_application(),
constructs Desk(url, False), calls desk.open(), signs in a benchmark staff member with
clerkdesk.services.staff.sign_in (a human step: its duration is measured and SUBTRACTED from
the totals), constructs MainWindow(session, desk.database_label), shows it and processes events
until it is visible and one paint event happened. The parent also passes its own launch stamp
(perf_counter is CLOCK_MONOTONIC, shared by processes on Linux) so the interpreter's own start
is reported too. Runs alternate empty/big; the median of each is reported with the ratio.

Aims: start-up ≤ 1 s with the big database, big/empty ≤ 1.5, and desk.open() must not scale
with the number of households (its time is reported separately for both databases).

The big database is built once with the demo service (seed 1) and cached under
/tmp/clerkdesk-bench/ (a 1M build takes minutes); --households picks a smaller size for a quick
run. The empty database (no households, one staff member) is recreated on every invocation.

Run: .venv/bin/python benchmarks/bench_startup.py [--households N] [--runs 5]
"""

# ruff: noqa: E402 -- the child's clock must start before any other import.
import time

STARTED = time.perf_counter()

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CACHE = Path("/tmp/clerkdesk-bench")
DEFAULT_HOUSEHOLDS = 1_000_000
BENCH_USER, BENCH_PASSWORD = "benchdesk", "bench-start-up-pass"
AIM_SECONDS, AIM_RATIO = 1.0, 1.5
PAINT_TIMEOUT_SECONDS = 30.0
RESULT_MARK = "BENCH-RESULT "
ENVIRONMENT = {"QT_QPA_PLATFORM": "offscreen", "CLERKDESK_BCRYPT_COST": "4",
               "CLERKDESK_DATA_DIR": str(CACHE / "data"),
               "XDG_CONFIG_HOME": str(CACHE / "config")}  # QSettings: no user geometry


# --- the child: one start-up, timed -------------------------------------------------------
def child(url: str, launched: float) -> int:
    from clerkdesk.ui.app import Desk, make_application
    imported = time.perf_counter()
    app = make_application()
    desk = Desk(url, False)
    before_open = time.perf_counter()
    if not desk.open():
        raise SystemExit(f"desk.open() failed for {url}")
    opened = time.perf_counter()
    session, sign_in_seconds = timed_sign_in()
    shown = show_main_window(app, session, desk.database_label)
    result = {"total": shown - STARTED - sign_in_seconds,
              "from_launch": shown - launched - sign_in_seconds,
              "interpreter": STARTED - launched, "import": imported - STARTED,
              "open": opened - before_open, "sign_in": sign_in_seconds}
    print(RESULT_MARK + json.dumps(result), flush=True)
    from clerkdesk.services.database import close_database
    close_database()
    return 0


def timed_sign_in():
    from clerkdesk.services.staff import sign_in
    started = time.perf_counter()
    session = sign_in(BENCH_USER, BENCH_PASSWORD)
    return session, time.perf_counter() - started


def show_main_window(app, session, database_label: str) -> float:
    """Show the main window; the perf_counter once it is visible and one paint happened."""
    from PySide6.QtCore import QEvent, QObject

    from clerkdesk.ui.main_window import MainWindow

    class PaintSpy(QObject):
        painted = False

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    spy = PaintSpy()
    app.installEventFilter(spy)
    window = MainWindow(session, database_label)
    window.show()
    deadline = time.perf_counter() + PAINT_TIMEOUT_SECONDS
    while not (window.isVisible() and spy.painted):
        if time.perf_counter() > deadline:
            raise SystemExit("the main window was not shown and painted in time")
        app.processEvents()
    return time.perf_counter()


# --- the parent: databases, runs, report ----------------------------------------------------
def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS,
                        help=f"households in the big database (default {DEFAULT_HOUSEHOLDS:,})")
    parser.add_argument("--runs", type=int, default=5, help="runs of each database (default 5)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached big database")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    return parser.parse_args()


def use_bench_environment() -> None:
    os.environ.update(ENVIRONMENT)
    for folder in ("data", "config"):
        (CACHE / folder).mkdir(parents=True, exist_ok=True)


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build_empty(path: Path) -> None:
    """A fresh database with no households and one staff member (the first administrator)."""
    from clerkdesk.services import database, staff
    remove_database(path)
    database.open_database(f"sqlite:///{path}")
    staff.create_first_administrator(BENCH_USER, "Bench Desk", BENCH_PASSWORD, BENCH_PASSWORD)
    database.close_database()


def build_big(path: Path, households: int) -> None:
    """Demo households (seed 1) plus the benchmark administrator; built aside, then renamed."""
    from clerkdesk.services import database, demo, staff
    from clerkdesk.services.jobs import CancelToken
    partial = path.with_name(path.name + ".partial")
    remove_database(partial)
    print(f"Building {households:,} demo households into {path} (cached for reruns)…",
          flush=True)
    started = time.perf_counter()
    database.open_database(f"sqlite:///{partial}")
    demo.start_demo(None, households, seed=1).run(build_progress(), CancelToken())
    admin = staff.sign_in(*demo.DEMO_STAFF[0][:2])
    staff.add_staff(admin, BENCH_USER, "Bench Desk", BENCH_PASSWORD, "Administrator")
    database.close_database()
    partial.rename(path)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def build_progress():
    step = [0.0]

    def report(progress) -> None:
        if progress.fraction >= step[0] + 0.1 or progress.done == progress.total:
            step[0] = progress.fraction
            print(f"  … {progress.message} ({time.perf_counter() - STARTED:.0f} s in)", flush=True)

    return report


def run_child(path: Path) -> dict:
    launched = time.perf_counter()
    command = [sys.executable, __file__, "--child", f"sqlite:///{path}",
               "--launched", repr(launched)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def measure(paths: dict[str, Path], runs: int) -> dict[str, list[dict]]:
    samples: dict[str, list[dict]] = {name: [] for name in paths}
    for run in range(1, runs + 1):
        for name, path in paths.items():  # alternating empty, big, empty, big, …
            sample = run_child(path)
            samples[name].append(sample)
            print(f"  run {run} {name:5}: total {sample['total']:.3f} s, "
                  f"desk.open() {sample['open'] * 1000:.1f} ms, "
                  f"sign-in (subtracted) {sample['sign_in'] * 1000:.1f} ms", flush=True)
    return samples


def median(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def print_report(samples: dict[str, list[dict]], paths: dict[str, Path], households: int) -> None:
    empty, big = samples["empty"], samples["big"]
    ratio = median(big, "total") / median(empty, "total")
    print(f"\nStart-up to a shown, painted main window (median of {len(big)} runs each)")
    print(f"  os.cpu_count(): {os.cpu_count()};  QT_QPA_PLATFORM=offscreen, "
          "CLERKDESK_BCRYPT_COST=4;  sign-in time measured in the child and subtracted")
    print(f"  {'database':24} {'file MiB':>9} {'first line':>11} {'launch':>8} "
          f"{'import ui':>10} {'desk.open()':>12} {'sign-in':>9}")
    for name, label in (("empty", "empty (0 households)"), ("big", f"big ({households:,})")):
        row = samples[name]
        print(f"  {label:24} {paths[name].stat().st_size / 2**20:9.1f} "
              f"{median(row, 'total'):10.3f}s {median(row, 'from_launch'):7.3f}s "
              f"{median(row, 'import'):9.3f}s {median(row, 'open') * 1000:9.1f} ms "
              f"{median(row, 'sign_in') * 1000:6.1f} ms")
    print("  (first line: from the child's first statement; launch: from just before the "
          "parent spawned it; both to the first paint, sign-in subtracted)")
    big_total = median(big, "total")
    print(f"  big start-up: {big_total:.3f} s (aim ≤ {AIM_SECONDS} s: "
          f"{'meets' if big_total <= AIM_SECONDS else 'MISSES'})")
    print(f"  ratio big/empty (from first line): {ratio:.2f} (aim ≤ {AIM_RATIO}: "
          f"{'meets' if ratio <= AIM_RATIO else 'MISSES'})")
    print(f"  ratio big/empty desk.open(): {median(big, 'open') / median(empty, 'open'):.2f}")


def parent(options: argparse.Namespace) -> int:
    use_bench_environment()
    paths = {"empty": CACHE / "empty.sqlite3",
             "big": CACHE / f"households-{options.households}.sqlite3"}
    build_empty(paths["empty"])
    if options.rebuild or not paths["big"].exists():
        build_big(paths["big"], options.households)
    else:
        print(f"Reusing the cached {paths['big']}", flush=True)
    print(f"Measuring {options.runs} start-ups of each, alternating empty/big…", flush=True)
    print_report(measure(paths, options.runs), paths, options.households)
    return 0


def main() -> int:
    options = parse_arguments()
    if options.child:
        return child(options.child, options.launched)
    return parent(options)


if __name__ == "__main__":
    sys.exit(main())
