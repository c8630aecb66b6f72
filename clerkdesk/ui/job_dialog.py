"""Progress for any services Job, as a dialog or as a wizard's page: bar, ETA, Cancel, and
the GUI stays responsive."""

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QWidget,
    QWizardPage,
)

from clerkdesk.services.jobs import Cancelled, CancelToken, Job, Progress

from .background import run_in_background
from .messages import show_error


def time_left(started: float, progress: Progress, done_before: int = 0) -> str:
    """"About M:SS left" from the pace since `started`; `done_before` is what a resumed run
    had already done then, so the pace counts this session's work only."""
    done_now = progress.done - done_before
    if done_now <= 0 or progress.done >= progress.total:
        return ""
    left = int((time.monotonic() - started) / done_now * (progress.total - progress.done))
    return f"\nAbout {left // 60}:{left % 60:02d} left"


class JobDialog(QProgressDialog):
    """Run `job` while showing its progress; `exec()` returns once it has finished."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(job.title + "…", "Cancel", 0, 100, parent)
        self.setWindowTitle(job.title)
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setMinimumDuration(0)
        self.setMinimumWidth(420)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.job = job
        self.result_value: Any = None
        self.error: Exception | None = None
        self.started = time.monotonic()
        self.token = run_in_background(job.run, self._done, self._failed, self._progress)
        self.canceled.connect(self._cancel)

    def _progress(self, progress: Progress) -> None:
        self.setMaximum(max(progress.total, 1))
        self.setValue(progress.done)
        self.setLabelText(f"{self.job.title}: {progress.message}"
                          f"{time_left(self.started, progress)}")

    def _cancel(self) -> None:
        self.token.cancel()
        self.setLabelText("Cancelling after the current batch…")

    def _done(self, result: Any) -> None:
        self.result_value = result
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.error = error
        if not isinstance(error, Cancelled):
            show_error(self.parentWidget(), self.job.title, error)
        self.reject()


def run_job(job: Job, parent: QWidget | None = None) -> Any:
    """The job's result, or None when it was cancelled or failed (already reported)."""
    dialog = JobDialog(job, parent)
    dialog.exec()
    return dialog.result_value


class JobRunPage(QWizardPage):
    """A wizard page that runs a Job off the GUI thread: a progress bar, a status line with
    the time left, and a Cancel button. Subclasses lay the widgets out, `launch` their job
    and say what follows in `finished` and `failed`."""

    cancelling_text = "Cancelling after the current batch…"

    def __init__(self, title: str, subtitle: str, cancel_label: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton(cancel_label)
        self.cancel_button.clicked.connect(self.cancel)
        self.token: CancelToken | None = None
        self.started = 0.0
        self.done_before = 0  # what a resumed run had done before this session

    @property
    def running(self) -> bool:
        return self.token is not None

    def launch(self, job: Job) -> None:
        self.started = time.monotonic()
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting…")
        self.token = run_in_background(job.run, self._stopped(self.finished),
                                       self._stopped(self.failed), self.show_progress)

    def show_progress(self, progress: Progress) -> None:
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.status.setText(progress.message
                            + time_left(self.started, progress, self.done_before))

    def cancel(self) -> None:
        if self.token is not None:
            self.token.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText(self.cancelling_text)

    def finished(self, result: Any) -> None:
        raise NotImplementedError

    def failed(self, error: Exception) -> None:
        raise NotImplementedError

    def _stopped(self, then):
        def stop(value: Any) -> None:
            self.token = None
            then(value)
        return stop
