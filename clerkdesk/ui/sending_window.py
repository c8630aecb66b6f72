"""Communications → Send queued messages: drain the outbox while the desk stays usable.

The sender runs on the thread pool; this window only shows how far it got. Pausing or stopping
asks the sender to stop after the message in flight, so nothing is lost: what was not sent stays
queued in the database, and starting again picks it up.
"""

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import mailings, outbox
from clerkdesk.services.email_delivery import CaptureMailer
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import CancelToken, Progress
from clerkdesk.services.outbox import OutboxSender, SendSummary
from clerkdesk.services.session import StaffSession

from .background import run_in_background
from .messages import error_text

IDLE, SENDING, PAUSING, STOPPING, PAUSED, DONE, FAILED = (
    "idle", "sending", "pausing", "stopping", "paused", "done", "failed")


def about(seconds: float | None) -> str:
    """A time left as a person says it: "about 4 min", "about 2 h 10 min"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def held_waiting(session: StaffSession) -> int:
    """Messages waiting in mailings the sender leaves alone (paused, or after another)."""
    return sum(view.waiting for view in mailings.list_mailings(session) if view.held)


class SendingWindow(QDialog):
    """Sends every due message; `changed` fires as messages go, so lists can refresh."""

    changed = Signal()
    finished_sending = Signal(object)  # the run's SendSummary

    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.state = IDLE
        self.sender: OutboxSender | None = None
        self.token: CancelToken | None = None
        self.cancel_mailings_after_stop = False
        self.leaving = False  # agreed to close while sending: do not ask again
        self.started = 0.0
        self.spacing = 0.0
        self.held = 0  # messages of paused (or not yet due) mailings: this run cannot send them
        self.done_before = 0  # by earlier runs of this window: the bar counts on from there
        self.totals = SendSummary()  # over every run since the window opened
        self.setWindowTitle("Send queued messages")
        self.setWindowFlag(Qt.WindowType.Window)  # a window of its own: the desk stays usable
        self.setMinimumWidth(560)
        self._build()
        self._enable()

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.target = QLabel()
        self.target.setWordWrap(True)
        self.target.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.target)
        self.bar = QProgressBar()
        self.bar.setFormat("%v of %m")
        layout.addWidget(self.bar)
        layout.addLayout(self._counts())
        self.status = QLabel("Starting…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 3)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.status)
        layout.addLayout(self._buttons())

    def _counts(self) -> QGridLayout:
        grid = QGridLayout()
        self.numbers: dict[str, QLabel] = {}
        for column, (key, title) in enumerate((("sent", "Sent"), ("failed", "Failed"),
                                               ("remaining", "Remaining"),
                                               ("eta", "Time left"))):
            heading = QLabel(title)
            heading.setObjectName("note")
            value = QLabel("—")
            value.setObjectName(f"count_{key}")
            font = value.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            font.setBold(True)
            value.setFont(font)
            grid.addWidget(heading, 0, column)
            grid.addWidget(value, 1, column)
            self.numbers[key] = value
        return grid

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setToolTip("Stop after the message in flight; the rest stay queued.")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("&Resume")
        self.resume_button.setToolTip("Start sending again what is still queued.")
        self.resume_button.clicked.connect(self.start)
        self.stop_button = QPushButton("&Stop sending…")
        self.stop_button.setToolTip("Stop now, and choose whether the mailings are cancelled.")
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QPushButton("&Close")
        self.close_button.clicked.connect(self.close)
        for button in (self.pause_button, self.resume_button, self.stop_button):
            row.addWidget(button)
        row.addStretch()
        row.addWidget(self.close_button)
        return row

    # --- running the sender ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state in (SENDING, PAUSING, STOPPING)

    def start(self) -> None:
        """Start (or resume) sending everything that is due."""
        if self.running:
            return
        try:
            self.sender = outbox.start_sender(self.session)
            waiting = outbox.state_counts(self.session)
            self.held = held_waiting(self.session)
        except ClerkDeskError as error:
            self._show_failure(error)
            return
        self.target.setText(self._target_text(self.sender))
        self.adjustSize()  # the delivery text may need more lines than the first layout gave
        remaining = max(waiting["queued"] + waiting["sending"] - self.held, 0)
        self._show_numbers(self.totals.sent, self.totals.failed, remaining,
                           mailings.sending_seconds(remaining))
        self.done_before = self.totals.sent + self.totals.failed + self.totals.retrying
        self.bar.setRange(0, self.done_before + max(remaining, 1))
        self.bar.setValue(self.done_before)
        self.spacing = mailings.sending_seconds(1) or 0.0  # the rate limit's gap per message
        self.state, self.started = SENDING, time.monotonic()
        self.cancel_mailings_after_stop = self.leaving = False
        self.status.setText("Sending… The desk stays usable meanwhile.")
        self.token = run_in_background(self.sender.run, self._finished, self._failed,
                                       self._progress)
        self._enable()

    def pause(self) -> None:
        if self.state == SENDING and self.token is not None:
            self.token.cancel()
            self.state = PAUSING
            self.status.setText("Pausing after the message in flight…")
            self._enable()

    def stop(self) -> None:
        """Stop now; the person chooses whether the mailings stop for good too."""
        if not self.running or self.token is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Stop sending",
                          "Stop sending after the message in flight?", parent=self)
        box.setInformativeText(
            "<b>Yes</b>: stop, and cancel the mailings that still have messages waiting; those "
            "messages are withdrawn and never sent.<br><b>No</b>: stop, and keep the messages "
            "queued, to send later.<br>What was sent stays sent either way.")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Cancel).setText("Keep sending")
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Cancel or not self.running:
            return
        self.cancel_mailings_after_stop = answer == QMessageBox.StandardButton.Yes
        self.token.cancel()
        self.state = STOPPING
        self.status.setText("Stopping after the message in flight…")
        self._enable()

    def _progress(self, progress: Progress) -> None:
        if self.sender is None:
            return
        summary = self.sender.summary  # plain counters the sender keeps; read, never written
        total = max(progress.total - self.held, progress.done)  # the sender counts held ones
        remaining = total - progress.done
        self.bar.setRange(0, self.done_before + max(total, 1))
        self.bar.setValue(self.done_before + progress.done)
        self._show_numbers(self.totals.sent + summary.sent,
                           self.totals.failed + summary.failed, remaining,
                           self._time_left(progress.done, remaining))
        self.changed.emit()

    def _time_left(self, done: int, remaining: int) -> float | None:
        """The pace so far, but never faster than the rate limit allows (the first message
        of a rate-limited run goes at once, which says nothing about the rest)."""
        if not done:
            return None
        pace = (time.monotonic() - self.started) / done * remaining
        return max(pace, self.spacing * remaining)

    def _finished(self, summary: SendSummary) -> None:
        ending = {PAUSING: "paused", STOPPING: "stopped"}.get(self.state, "finished")
        self._add_to_totals(summary)
        self.token = None
        withdrawn = self._cancel_waiting_mailings() \
            if ending == "stopped" and self.cancel_mailings_after_stop else None
        self.state = DONE if ending == "finished" else PAUSED
        if ending == "finished":
            done = self.totals.sent + self.totals.failed + self.totals.retrying
            self.bar.setRange(0, max(done, 1))
            self.bar.setValue(done)
        self.status.setText(self._closing_summary(self.totals, ending, withdrawn))
        self.numbers["eta"].setText("—")
        self._enable()
        self.changed.emit()
        self.finished_sending.emit(summary)

    def _failed(self, error: Exception) -> None:
        if self.sender is not None:
            self._add_to_totals(self.sender.summary)
        self.token = None
        self._show_failure(error)
        self.changed.emit()

    def _show_failure(self, error: Exception) -> None:
        """A dead server or missing setting: say so, and that the queue is untouched."""
        self.state = FAILED
        waiting = self._waiting_now()
        kept = f" Nothing was lost: {plural(waiting, 'message')} still queued." \
            if waiting is not None else ""
        self.status.setText(f"<b>Sending stopped.</b> {error_text(error)}{kept}<br>Fix the "
                            "problem (Settings → Email), then press Resume.")
        self._enable()

    def _add_to_totals(self, summary: SendSummary) -> None:
        self.totals.sent += summary.sent
        self.totals.failed += summary.failed
        self.totals.retrying += summary.retrying

    # --- what the window says ----------------------------------------------------------------
    def _show_numbers(self, sent: int, failed: int, remaining: int, eta: float | None) -> None:
        self.numbers["sent"].setText(f"{sent:,}")
        self.numbers["failed"].setText(f"{failed:,}")
        self.numbers["remaining"].setText(f"{remaining:,}")
        self.numbers["eta"].setText(about(eta) if remaining else "—")

    @staticmethod
    def _target_text(sender: OutboxSender) -> str:
        rehearsals = sender.rehearsal_mailer.folder
        if isinstance(sender.mailer, CaptureMailer):
            return ("<b>Capture mode:</b> every message, live or rehearsal, is written to a "
                    f"folder and nothing leaves this computer.<br>Folder: {sender.mailer.folder}")
        return (f"<b>Live</b> messages go out through the {sender.mailer.description}: "
                "<b>they reach real households.</b><br><b>Rehearsal</b> messages go into "
                f"{rehearsals}; nothing leaves this computer.")

    def _closing_summary(self, summary: SendSummary, ending: str,
                         withdrawn: int | None) -> str:
        """E.g. "Finished. 1,200 sent, 3 failed (see the mailing's summary report), 0 waiting."
        """
        waiting = self._waiting_now()
        parts = [f"{summary.sent:,} sent", f"{summary.failed:,} failed"
                 + (" (see the mailing's summary report)" if summary.failed else "")]
        if waiting is not None:
            parts.append(f"{waiting:,} waiting")
        text = ", ".join(parts) + "."
        if summary.retrying:  # over every run of this window, like the numbers above
            text += (f" {plural(summary.retrying, 'message')} met a busy server and will be "
                     "retried; press Send again later.")
        if withdrawn is not None:
            return f"<b>Stopped.</b> {text} The mailings were cancelled: " \
                   f"{plural(withdrawn, 'message')} withdrawn."
        if ending == "paused":
            return f"<b>Paused.</b> {text} The rest stay queued; press Resume to go on."
        if ending == "stopped":
            return f"<b>Stopped.</b> {text} The rest stay queued; send them later."
        held = held_waiting(self.session) if waiting else 0
        if held:
            text += f" {plural(held, 'message')} wait in paused mailings or for an earlier " \
                    "mailing to finish (see Communications → Mailings)."
        return f"<b>Finished.</b> {text}"

    def _waiting_now(self) -> int | None:
        try:
            counts = outbox.state_counts(self.session)
        except ClerkDeskError:
            return None
        return counts["queued"] + counts["sending"]

    def _cancel_waiting_mailings(self) -> int:
        """Cancel every mailing that still has messages waiting; how many were withdrawn."""
        withdrawn = 0
        try:
            for view in mailings.list_mailings(self.session):
                if view.state in ("sending", "paused") and view.waiting:
                    cancelled = mailings.cancel(self.session, view.id)
                    withdrawn += cancelled.counts.get("cancelled", 0) - \
                        view.counts.get("cancelled", 0)
        except ClerkDeskError as error:
            self.status.setText(error_text(error))
        return withdrawn

    def _enable(self) -> None:
        self.pause_button.setEnabled(self.state == SENDING)
        self.resume_button.setEnabled(self.state in (PAUSED, FAILED, DONE))
        self.resume_button.setText("&Send again" if self.state == DONE else "&Resume")
        self.stop_button.setEnabled(self.state in (SENDING, PAUSING))

    # --- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_leave():
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:  # Esc, and QDialog's own closeEvent, come through here
        if self._may_leave():
            super().reject()

    def _may_leave(self) -> bool:
        """True when nothing is being sent, or the person agreed to stop it."""
        if not self.running or self.leaving:
            return True
        answer = QMessageBox.question(
            self, "Still sending", "Messages are still being sent. Stop after the message in "
            "flight and close?\n\nWhat was not sent stays queued; send it later from "
            "Communications → Send queued messages.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        if self.token is not None:
            self.token.cancel()
        self.state, self.leaving = PAUSING, True
        return True


_open_window: SendingWindow | None = None


def open_sending(parent: QWidget | None, session: StaffSession) -> SendingWindow:
    """The desk's one sending window: raised when open, else opened and started."""
    global _open_window
    window = _open_window
    if window is None or not window.isVisible() or window.session is not session:
        window = SendingWindow(session, parent)
        _open_window = window
        window.show()
        window.start()
    elif not window.running:
        window.start()
    window.raise_()
    window.activateWindow()
    return window
