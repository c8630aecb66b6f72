"""Making sure one process at a time carries out a resumable run (or holds a message).

A run records who carries it out ("host:pid") and when it last committed a batch. Another
desk may take it over once it was cancelled, once its process is known to be gone (same
host, no such pid), or once it has made no progress for STALE_AFTER.
"""

import os
import socket
from datetime import timedelta

from clerkdesk.models import BulkAssignRun, utcnow

STALE_AFTER = timedelta(minutes=3)


def this_runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(run: BulkAssignRun) -> bool:
    """Take the run over for this process, atomically; False when someone else has it."""
    if run.state == "running" and not _abandoned(run):
        return False
    taken = (BulkAssignRun.update(runner=this_runner(), heartbeat_at=utcnow(), state="running")
             .where((BulkAssignRun.id == run.id) & (BulkAssignRun.runner == run.runner)
                    & (BulkAssignRun.heartbeat_at == run.heartbeat_at))
             .execute())
    if taken:
        run.runner, run.state = this_runner(), "running"
    return bool(taken)


def _abandoned(run: BulkAssignRun) -> bool:
    if run.runner == this_runner() or process_gone(run.runner):
        return True
    return utcnow() - run.heartbeat_at > STALE_AFTER


def process_gone(runner: str) -> bool:
    """Whether "host:pid" names a process on this machine that no longer exists."""
    host, _, pid = runner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
