"""Long work as one abstraction: batches, progress, cancellation. The UI and the CLI run it."""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ClerkDeskError


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


class Cancelled(ClerkDeskError):
    def __init__(self, message: str = "Cancelled; the work done so far is kept.") -> None:
        super().__init__(message)


class CancelToken:
    """Set from any thread; the job checks it between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class Job(ABC):
    """A unit of long work. `run` reports progress after each batch and stops when cancelled."""

    title: str = "Working"

    @abstractmethod
    def run(self, report: ProgressCallback, cancel: CancelToken) -> Any: ...
