"""Running service calls off the GUI thread, so bcrypt and long jobs never freeze a window.

The work function never touches a widget; its result or error comes back to the GUI thread
through queued signals.
"""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from clerkdesk.services.jobs import CancelToken, Progress


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object)


class _Task(QRunnable):
    def __init__(self, work: Callable[[Callable[[Progress], None], CancelToken], Any],
                 relay: _Relay, cancel: CancelToken) -> None:
        super().__init__()
        self.work, self.relay, self.cancel = work, relay, cancel

    def run(self) -> None:
        try:
            result = self.work(self.relay.progress.emit, self.cancel)
        except Exception as error:  # handed to the GUI thread, which shows or re-raises it
            self.relay.failed.emit(error)
        else:
            self.relay.done.emit(result)


_running: set[_Relay] = set()  # keeps each relay alive until its task has reported


def run_in_background(
    work: Callable[[Callable[[Progress], None], CancelToken], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    on_progress: Callable[[Progress], None] | None = None,
) -> CancelToken:
    """Start `work(report, cancel)` on the thread pool; callbacks run on the GUI thread."""
    relay, cancel = _Relay(), CancelToken()
    _running.add(relay)

    def finish(callback: Callable[[Any], None], value: Any) -> None:
        _running.discard(relay)
        callback(value)

    relay.done.connect(lambda result: finish(on_done, result))
    relay.failed.connect(lambda error: finish(on_error, error))
    if on_progress is not None:
        relay.progress.connect(on_progress)
    QThreadPool.globalInstance().start(_Task(work, relay, cancel))
    return cancel


def call_in_background(
    call: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
) -> None:
    """A single service call with no progress to report."""
    run_in_background(lambda report, cancel: call(), on_done, on_error)
