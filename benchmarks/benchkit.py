"""What every benchmark prints beside its figures: the code measured, the machine, and how busy
it was. On a shared 2-core machine another process visibly slows every figure, so the
benchmarks also print how much CPU others used while they measured."""

import os
import shutil
import subprocess
import time
from pathlib import Path

SQLITE_SIDE_FILES = ("-wal", "-shm")


def use_private_folders(folder: Path, offscreen: bool = False) -> None:
    """Point ClerkDesk's data, settings and keyring at `folder`, at a low bcrypt cost, away
    from any configured database. Call it before clerkdesk (or Qt) is imported."""
    os.environ.update({"CLERKDESK_BCRYPT_COST": "4", "CLERKDESK_DATA_DIR": str(folder / "data"),
                       "XDG_DATA_HOME": str(folder / "xdg"),
                       "XDG_CONFIG_HOME": str(folder / "config"),
                       "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"})
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.pop("CLERKDESK_DATABASE_URL", None)


def time_hashes(samples: int, recipe) -> list[float]:
    """Seconds for each of `samples` single hashes with clerkdesk's `hash_secret`: the
    bcrypt limit a bulk benchmark compares its throughput with."""
    from clerkdesk.services import passwords  # after the benchmark has set its environment

    times = []
    for number in range(samples):
        started = time.perf_counter()
        passwords.hash_secret(f"{number:04d}-sample", recipe)
        times.append(time.perf_counter() - started)
    return times


def verdict(met: bool) -> str:
    return "aim met" if met else "AIM MISSED"


def machine_line() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"os.cpu_count(): {os.cpu_count()};  load average {load}"


def code_version() -> str:
    """The commit measured, and whether clerkdesk/ had uncommitted changes."""
    def git(*arguments: str) -> str:
        done = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), *arguments],
                              capture_output=True, text=True, check=False)
        return done.stdout

    head = git("log", "-1", "--format=%h %s (%ad)", "--date=iso").strip() or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "../clerkdesk")
             .splitlines() if line.strip()]
    return head + ("\n  with uncommitted changes in clerkdesk/: " + ", ".join(dirty)
                   if dirty else "")


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (Linux /proc/stat), else None.
    Steal time counts as busy: the hypervisor gave that CPU to someone else."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# --- cached SQLite databases: built aside once, then copied for every measurement ----------------
def remove_sqlite(path: Path) -> None:
    """The database file and its WAL and shared-memory files, if any."""
    for suffix in ("", *SQLITE_SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def publish_build(partial: Path, path: Path) -> None:
    """Rename a finished, closed build into place. Closing folds the WAL into the file; a WAL
    still there means a connection was left open and the copy would lack data."""
    for suffix in SQLITE_SIDE_FILES:
        if Path(f"{partial}{suffix}").exists():
            raise SystemExit(f"{partial}{suffix} is still there after closing")
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # an older build's
    partial.rename(path)


def fresh_copy(source: Path, target: Path) -> Path:
    """A fresh copy of a pristine database, so every measurement starts from the same state.
    The copy is flushed to disk before it is used: otherwise the first fsync of the measured
    work (SQLite's checkpoint) also waits for the copy's hundreds of megabytes to be written."""
    remove_sqlite(target)
    shutil.copyfile(source, target)
    with open(target, "rb+") as copy:
        os.fsync(copy.fileno())
    return target


def verify_rate(recipe, seconds: float, threads: int | None = None) -> float:
    """Checks per second of clerkdesk's `verify_secret` at `recipe`'s cost, with `threads`
    threads (default: one per core) checking for about `seconds`: the bcrypt limit of this
    machine for sign-ins (bcrypt releases the GIL, so the threads use every core)."""
    import threading

    from clerkdesk.services import passwords  # after the benchmark has set its environment

    stored = passwords.hash_secret("verify-rate-sample", recipe)
    counts: list[int] = []
    started = time.perf_counter()

    def check() -> None:
        done = 0
        while time.perf_counter() - started < seconds:
            passwords.verify_secret("verify-rate-sample", stored)
            done += 1
        counts.append(done)

    workers = [threading.Thread(target=check) for _ in range(threads or os.cpu_count() or 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)
