"""Terminal helpers: secrets from stdin or a prompt, and a progress bar for jobs."""

import getpass
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import CancelToken, Progress

STAFF_PASSWORD_VARIABLE = "CLERKDESK_STAFF_PASSWORD"


def read_new_secret(what: str) -> tuple[str, str]:
    """A new password and its confirmation: typed twice on a terminal, one line from a pipe."""
    if sys.stdin.isatty():
        return getpass.getpass(f"{what}: "), getpass.getpass(f"{what} again: ")
    line = sys.stdin.readline().rstrip("\r\n")
    return line, line


def read_sign_in_password(username: str) -> str:
    from_environment = os.environ.get(STAFF_PASSWORD_VARIABLE)
    if from_environment is not None:
        return from_environment
    if not sys.stdin.isatty():
        raise ClerkDeskError(
            f"No password for {username}: set {STAFF_PASSWORD_VARIABLE} or run on a terminal."
        )
    return getpass.getpass(f"Password for {username}: ")


class ProgressBar:
    """Draws on stderr when it is a terminal, otherwise prints a line every few seconds."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.started = time.monotonic()
        self.last_line = 0.0
        self.interactive = sys.stderr.isatty()

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if not self.interactive and now - self.last_line < 5 and progress.done < progress.total:
            return
        self.last_line = now
        width = 30
        filled = int(width * progress.fraction)
        eta = self._eta(progress, now)
        line = (f"{self.title}: [{'#' * filled}{'.' * (width - filled)}] "
                f"{progress.done:,}/{progress.total:,}{eta}")
        end = "\r" if self.interactive and progress.done < progress.total else "\n"
        print(line, end=end, file=sys.stderr, flush=True)

    def _eta(self, progress: Progress, now: float) -> str:
        if not progress.done or progress.done >= progress.total:
            return ""
        remaining = (now - self.started) / progress.done * (progress.total - progress.done)
        return f"  about {int(remaining) // 60}:{int(remaining) % 60:02d} left"


@contextmanager
def interrupt_cancels(token: CancelToken, unit: str) -> Iterator[None]:
    """Ctrl-C asks the job to stop after `unit` (the current batch, the message in flight),
    which leaves it at a clean point to carry on from. A second Ctrl-C stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; Ctrl-C then interrupts as usual
        return

    def on_interrupt(signum, frame) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print(f"\nStopping after {unit} (Ctrl-C again to stop at once)…",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
