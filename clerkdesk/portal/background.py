"""Work the page must not wait for: the forgot flows send email only when an account exists,
so answering before the email goes keeps the response time the same either way."""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import current_app

log = logging.getLogger(__name__)
EXTENSION = "clerkdesk_background"


class Background:
    def __init__(self, workers: int = 2) -> None:
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="portal-mail")
        self.pending: set[Future] = set()

    def submit(self, work: Callable[[], object]) -> None:
        future = self.executor.submit(_logged, work)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    def drain(self, timeout: float | None = None) -> None:
        """Wait for what was submitted (tests and shutdown)."""
        wait(list(self.pending), timeout)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)


def run_later(work: Callable[[], object]) -> None:
    current_app.extensions[EXTENSION].submit(work)


def _logged(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # a failed send must not vanish silently; the household saw its answer
        log.exception("Background portal work failed")
