"""Communications → New mailing: who gets it, what it says, an optional teaser first, the
history record, and the warnings before processing; processing queues the whole mailing (the
sender sends it, and the Mailings window shows its progress)."""

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from clerkdesk.services import mailing_history, mailings
from clerkdesk.services.errors import ClerkDeskError, PermissionDenied
from clerkdesk.services.jobs import Cancelled, CancelToken, Progress
from clerkdesk.services.mailing_drafts import MAILING_FIELDS, MessageDraft
from clerkdesk.services.mailings import MailingDraft, QueueMailing, QueueResult, Readiness
from clerkdesk.services.permissions import LABELS, Permission, has_permission
from clerkdesk.services.session import StaffSession

from .background import run_in_background
from .forms import small_note
from .job_dialog import JobDialog
from .mailing_pages import MergeFieldEdit, MessagePage, TargetingPage, alive
from .messages import error_text, show_error

TARGETING, MESSAGE, SEQUENCE, HISTORY, READY, DONE = range(6)
TEASER_FIELDS = tuple(name for name in MAILING_FIELDS if name != "WebPin")
LIVE_STYLE = "font-size: 20pt; font-weight: 700; color: white; background: #a52019; " \
             "padding: 8px 14px; border-radius: 4px;"
REHEARSAL_STYLE = "font-size: 20pt; font-weight: 700; color: #163d1c; background: #d9f2dc; " \
                  "padding: 8px 14px; border-radius: 4px;"


class MailingWizard(QWizard):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result: QueueResult | None = None
        self.setWindowTitle("New mailing")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setMinimumSize(1100, 780)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.targeting_page, self.message_page = TargetingPage(), MessagePage(self)
        self.sequence_page, self.history_page = SequencePage(self), HistoryPage(self)
        self.ready_page, self.done_page = ReadyPage(self), DonePage(self)
        for page in (self.targeting_page, self.message_page, self.sequence_page,
                     self.history_page, self.ready_page, self.done_page):
            self.addPage(page)

    def draft(self) -> MailingDraft:
        history = self.history_page
        return MailingDraft(
            description=history.description.text(), targeting=self.targeting_page.targeting(),
            message=self.message_page.message(), category=history.category(),
            with_history=history.create.isChecked(), rehearsal=self.ready_page.rehearsal(),
            reissue_owner_passwords=self.ready_page.reissue.isChecked(),
            teaser=self.sequence_page.teaser(self.message_page.message()))

    def reject(self) -> None:
        self.ready_page.stop()
        self.targeting_page.timer.stop()
        super().reject()


class SequencePage(QWizardPage):
    """The seed's two emails: a teaser announcing the login, then the login itself."""

    def __init__(self, wizard: MailingWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Send a teaser first? (optional)")
        self.setSubTitle("Some sites first tell households what is coming and what they will "
                         "be able to do on the web, then send the user name and PIN.")
        layout = QVBoxLayout(self)
        self.enabled = QCheckBox("Send a &teaser first")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("e.g. Online services are coming")
        self.body = MergeFieldEdit(TEASER_FIELDS)
        form.addRow("Teaser s&ubject:", self.subject)
        form.addRow("Teaser bod&y:", self.body)
        layout.addWidget(self.enabled, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(form, 1)
        layout.addWidget(small_note(
            "The teaser goes out first and carries no PIN. The message with the credentials "
            "waits until every teaser has gone out, then follows at the configured rate. The "
            "teaser goes by the same process option (email, text) as the message."))
        self.enabled.toggled.connect(self._toggled)
        self._toggled(False)

    def _toggled(self, on: bool) -> None:
        self.subject.setEnabled(on)
        self.body.setEnabled(on)

    def teaser(self, message: MessageDraft) -> MessageDraft | None:
        if not self.enabled.isChecked():
            return None
        return MessageDraft(self.subject.text(), self.body.toPlainText(), message.cc,
                            message.channels, message.skip_text_if_email)

    def validatePage(self) -> bool:
        if not self.enabled.isChecked():
            return True
        try:
            mailings.check_draft(self.wizard_.session, _with_placeholder_history(
                self.wizard_.draft()))
        except ClerkDeskError as error:
            show_error(self, "Check the teaser", error)
            return False
        return True


def _with_placeholder_history(draft: MailingDraft) -> MailingDraft:
    """The draft checked before the history page is filled in: any description will do."""
    return replace(draft, description=draft.description or "-", category="")


class HistoryPage(QWizardPage):
    def __init__(self, wizard: MailingWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("History record")
        self.setSubTitle("A history record links each household to this mailing, so later "
                         "mailings can include or skip them (Earlier mailings, first page).")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.create = QCheckBox("Create a &history record")
        self.create.setChecked(True)
        self.description = QLineEdit()
        self.description.setPlaceholderText("e.g. Web user name and password, go-live")
        self.categories = QComboBox()
        self.categories.addItem("(no category)", "")
        for category in mailing_history.categories():
            self.categories.addItem(f"{category.code} — {category.description}", category.code)
        web = self.categories.findData("WEB")
        self.categories.setCurrentIndex(max(web, 0))
        form.addRow("", self.create)
        form.addRow("&Description:", self.description)
        form.addRow("Cate&gory:", self.categories)
        form.addRow("", small_note(
            "The description names the mailing in the Mailings window and, with a history "
            "record, on each household's Communication History. A history record says who "
            "was slated to get the message, not that it arrived: the mail server's log knows "
            "that."))
        self.create.toggled.connect(self.categories.setEnabled)

    def category(self) -> str:
        return self.categories.currentData() if self.create.isChecked() else ""

    def validatePage(self) -> bool:
        try:
            mailings.check_draft(self.wizard_.session, self.wizard_.draft())
        except ClerkDeskError as error:
            show_error(self, "Check the mailing", error)
            if getattr(error, "field", "") == "history description":
                self.description.setFocus()
            return False
        return True


class ReadyPage(QWizardPage):
    """The warnings before processing, counted off the GUI thread; Process queues it all."""

    def __init__(self, wizard: MailingWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Before processing")
        self.setSubTitle("Nothing has been queued yet. Read the warnings, then Process.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Process")
        self.readiness: Readiness | None = None
        self.token: CancelToken | None = None
        layout = QVBoxLayout(self)
        self.mode_banner = QLabel()
        self.mode_banner.setWordWrap(True)
        layout.addWidget(self.mode_banner)
        layout.addWidget(self._mode_choice())
        self.reissue = QCheckBox("Re-&issue a PIN to households that chose their own password "
                                 "too (their own password stops working)")
        layout.addWidget(self.reissue)
        self.progress = QProgressBar()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.problems = QLabel()
        self.problems.setObjectName("problem")
        self.problems.setWordWrap(True)
        self.confirm_note = QLabel("This mailing goes out LIVE to real households. Type YES "
                                   "to allow Process.")
        self.confirm_note.setWordWrap(True)
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText("Type YES to send live")
        self.confirm.setMaximumWidth(260)
        for widget in (self.progress, self.summary, self.problems, self.confirm_note,
                       self.confirm):
            layout.addWidget(widget)
        layout.addStretch()
        self.confirm.textChanged.connect(self.completeChanged)
        self.reissue.toggled.connect(self._recount)
        self.modes.buttonToggled.connect(self._mode_changed)

    def _mode_choice(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.rehearsal_button = QRadioButton(
            "&Rehearsal: every message goes into the capture folder; nothing leaves and no "
            "PIN is minted")
        self.live_button = QRadioButton("&Live: the messages go to the households")
        self.rehearsal_button.setChecked(True)
        self.modes = QButtonGroup(self)
        self.modes.addButton(self.rehearsal_button)
        self.modes.addButton(self.live_button)
        self.capture_note = small_note(
            "This site captures its mail (Settings → Email delivery: capture), so every "
            "mailing is a rehearsal. An administrator must change that setting to go live.")
        for button in (self.rehearsal_button, self.live_button):
            column.addWidget(button, alignment=Qt.AlignmentFlag.AlignLeft)  # no dead zone
        column.addWidget(self.capture_note)
        return box

    def rehearsal(self) -> bool:
        return not self.live_button.isChecked()

    def initializePage(self) -> None:
        forced = mailings.rehearsal_only()
        if forced:
            self.rehearsal_button.setChecked(True)
        self.live_button.setEnabled(not forced)
        self.capture_note.setVisible(forced)
        self._show_mode()
        self._recount()

    def cleanupPage(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self.token is not None:
            self.token.cancel()
            self.token = None

    def _mode_changed(self, *_: object) -> None:
        self._show_mode()
        self._recount()

    def _show_mode(self) -> None:
        live = not self.rehearsal()
        self.mode_banner.setText("LIVE — messages go to real households" if live else
                                 "REHEARSAL — nothing leaves this machine")
        self.mode_banner.setStyleSheet(LIVE_STYLE if live else REHEARSAL_STYLE)
        self.confirm_note.setVisible(live)
        self.confirm.setVisible(live)
        self.confirm.clear()

    def _recount(self, *_: object) -> None:
        self.stop()
        self.readiness = None
        self.problems.hide()
        self.summary.setText("Reading every targeted household…")
        self.progress.setValue(0)
        self.progress.show()
        self.completeChanged.emit()
        draft, session = self.wizard_.draft(), self.wizard_.session
        token = run_in_background(
            lambda report, cancel: mailings.readiness(session, draft, report, cancel),
            lambda found: self._counted(token, found), lambda error: self._failed(token, error),
            self._progress)
        self.token = token

    def _progress(self, progress: Progress) -> None:
        if not alive(self):
            return
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)

    def _counted(self, token: CancelToken, found: Readiness) -> None:
        if not alive(self) or token is not self.token:
            return
        self.token = None
        self.readiness = found
        self.progress.hide()
        self.summary.setText(summary_html(found, self.wizard_.draft()))
        self.problems.setText("Fix these first:\n" + "\n".join(f"• {p}" for p in found.problems))
        self.problems.setVisible(bool(found.problems))
        self.completeChanged.emit()

    def _failed(self, token: CancelToken, error: Exception) -> None:
        if not alive(self) or token is not self.token or isinstance(error, Cancelled):
            return
        self.token = None
        self.progress.hide()
        self.summary.setText("")
        self.problems.setText(error_text(error))
        self.problems.show()

    def isComplete(self) -> bool:
        found = self.readiness
        if found is None or found.problems:
            return False
        return self.rehearsal() or self.confirm.text().strip() == "YES"

    def validatePage(self) -> bool:
        if QMessageBox.question(self, "Process the mailing", confirmation(
                self.readiness, self.rehearsal())) != QMessageBox.StandardButton.Yes:
            return False
        try:
            job = QueueMailing(self.wizard_.session, self.wizard_.draft())
        except ClerkDeskError as error:
            show_error(self, "Process the mailing", error)
            return False
        dialog = JobDialog(job, self)
        dialog.exec()
        if dialog.result_value is None:  # cancelled or refused (JobDialog showed why)
            return False
        self.wizard_.result = dialog.result_value
        return True


def confirmation(found: Readiness, rehearsal: bool) -> str:
    households = found.recipients - found.without_login - found.unreachable
    if rehearsal:
        return (f"Queue {found.messages:,} messages to {households:,} households as a "
                "REHEARSAL? They go into the capture folder; nothing leaves.")
    return f"Send {found.messages:,} messages to {households:,} households LIVE?"


def summary_html(found: Readiness, draft: MailingDraft) -> str:
    counts = (f"<b>{found.recipients:,}</b> targeted; <b>{found.emails:,}</b> emails and "
              f"<b>{found.texts:,}</b> texts would be queued"
              + (" (and as many teasers before them)." if draft.teaser else "."))
    items = "".join(f"<li>{_escape(w)}</li>" for w in warnings(found, draft))
    return f"<p>{counts}</p><p>{_escape(found.delivery)}</p><ul>{items}</ul>"


def warnings(found: Readiness, draft: MailingDraft) -> list[str]:
    """The seed's cautions, made into numbers for this mailing."""
    found_warnings = []
    if found.without_login:
        found_warnings.append(
            f"{found.without_login:,} targeted households have no web login and get nothing: "
            "run Web Utilities → Bulk Web ID/PIN Assign first.")
    if found.owner_passwords and not draft.reissue_owner_passwords:
        found_warnings.append(
            f"{found.owner_passwords:,} chose their own password: they are told it is "
            "unchanged and get no new PIN unless “Re-issue a PIN to them too” is ticked.")
    elif found.owner_passwords:
        found_warnings.append(f"{found.owner_passwords:,} chose their own password; it is "
                              "replaced by a new PIN.")
    if found.unreachable:
        found_warnings.append(f"{found.unreachable:,} have no valid email address or text "
                              "number and get nothing.")
    found_warnings.append(_duration_text(found.duration_seconds))
    return found_warnings


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ("No rate limit is set: the outbox sends as fast as the mail server takes "
                "them. Tell IT first; mail servers refuse sudden volume.")
    minutes = round(seconds / 60)
    if minutes < 1:
        return "At the configured rate this takes under a minute."
    hours, minutes = divmod(minutes, 60)
    taken = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"At the configured rate this takes about {taken}."


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DonePage(QWizardPage):
    def __init__(self, wizard: MailingWizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Queued")
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        layout.addStretch()

    def initializePage(self) -> None:
        result = self.wizard_.result
        rehearsal = self.wizard_.ready_page.rehearsal() or mailings.rehearsal_only()
        skipped = ", ".join(f"{n:,} {why}" for why, n in sorted(result.skipped.items()))
        teaser = (f"\nTeaser: mailing {result.teaser_id}; the credentials wait until it has "
                  "gone out." if result.teaser_id else "")
        self.summary.setText(
            f"Mailing {result.mailing_id} is queued as a "
            f"{'REHEARSAL' if rehearsal else 'LIVE mailing'}: {result.emails:,} emails and "
            f"{result.texts:,} texts." + teaser
            + (f"\nSkipped: {skipped}." if skipped else "")
            + "\n\nThe sender sends it in the background at the configured rate. "
            "Communications → Mailings shows its progress and can pause or cancel it.")


def open_mailing_wizard(parent: QWidget | None, session: StaffSession) -> MailingWizard | None:
    """Show the wizard; a role without the bulk-email device is told so and gets None."""
    if not has_permission(session, Permission.BULK_EMAIL):
        show_error(parent, "New mailing", PermissionDenied(Permission.BULK_EMAIL.value,
                                                           LABELS[Permission.BULK_EMAIL]))
        return None
    wizard = MailingWizard(session, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard

