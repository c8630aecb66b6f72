"""The first two pages of the Mailing wizard: who gets it (the seed's Pass RecConnect
targeting, with a live count and a records browser) and what it says (Email Options)."""

from dataclasses import replace

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from clerkdesk.services import bulk_targets, mailing_compose, mailing_history, mailing_targets
from clerkdesk.services.email_delivery import MAX_ATTACHMENT_BYTES, Attachment, sender_header
from clerkdesk.services.errors import ClerkDeskError
from clerkdesk.services.jobs import CancelToken
from clerkdesk.services.mailing_drafts import (
    CHANNEL_LABELS,
    MAILING_FIELDS,
    MessageDraft,
    checked,
    preview,
)
from clerkdesk.services.mailing_targets import ACCOUNT_STATES, Recipient, Targeting
from clerkdesk.services.settings import get_setting

from .background import call_in_background, run_in_background
from .forms import small_note
from .messages import error_text, show_error

DEFAULT_STATUSES = ("Actv-New", "Actv-Renew")
COUNT_DELAY_MS = 300  # wait for the typing or ticking to stop before counting again
PREVIEW_CHOICES = 200


def checkable_list(choices: list[tuple[str, str]], ticked: bool, height: int) -> QListWidget:
    """A list of (value, text) with a check box each; Space ticks the current one."""
    widget = QListWidget()
    widget.setMaximumHeight(height)
    for value, text in choices:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        widget.addItem(item)
    return widget


def ticked_values(widget: QListWidget) -> tuple[str, ...]:
    return tuple(widget.item(i).data(Qt.ItemDataRole.UserRole) for i in range(widget.count())
                 if widget.item(i).checkState() == Qt.CheckState.Checked)


def alive(widget: QWidget) -> bool:
    """Whether a widget still exists: background work may report after its window closed."""
    return shiboken6.isValid(widget)


def buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)
    return label


class MergeFieldEdit(QPlainTextEdit):
    """A body editor whose context menu (right click, or Shift+F10) inserts merge fields."""

    def __init__(self, fields: tuple[str, ...] = MAILING_FIELDS) -> None:
        super().__init__()
        self.fields = fields
        self.setTabChangesFocus(True)  # Tab moves on, as in every other field of the wizard

    def context_menu(self) -> QMenu:
        menu = self.createStandardContextMenu()
        menu.addSeparator()
        insert = menu.addMenu("Insert merge &field")
        for name in self.fields:
            insert.addAction(f"<{name}>", lambda field=name: self.insertPlainText(f"<{field}>"))
        return menu

    def contextMenuEvent(self, event) -> None:
        menu = self.context_menu()
        menu.exec(event.globalPos())
        menu.deleteLater()


class RecordsModel(QAbstractTableModel):
    """The targeted records, read a page at a time off the GUI thread as the view scrolls."""

    headings = ("Last name", "First name", "City", "State", "Zip", "Email", "Web ID")
    page_size = 100
    failed = Signal(str)
    loaded = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Recipient] = []
        self.targeting: Targeting | None = None
        self.loading = False
        self.exhausted = True
        self.generation = 0  # a page read for an older targeting is dropped

    def reset(self, targeting: Targeting) -> None:
        self.beginResetModel()
        self.rows, self.targeting = [], targeting
        self.loading, self.exhausted = False, False
        self.generation += 1
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.headings)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        row = self.rows[index.row()]
        name = (row.last or row.household_name, row.first)
        web_id = row.web_id or "(no web login)"
        return (*name, row.city, row.region, row.postal, row.email, web_id)[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headings[section]
        return None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.targeting is not None \
            and not self.loading and not self.exhausted

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self.loading = True
        generation, targeting = self.generation, self.targeting
        after = self.rows[-1].household_id if self.rows else 0
        call_in_background(lambda: mailing_targets.page(targeting, after, self.page_size),
                           lambda found: self._arrived(generation, found),
                           lambda error: self._failed(generation, error))

    def _arrived(self, generation: int, found: list[Recipient]) -> None:
        if not shiboken6.isValid(self) or generation != self.generation:
            return
        self.loading = False
        self.exhausted = len({r.household_id for r in found}) < self.page_size
        if found:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(found) - 1)
            self.rows.extend(found)
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, generation: int, error: Exception) -> None:
        if shiboken6.isValid(self) and generation == self.generation:
            self.loading, self.exhausted = False, True
            self.failed.emit(error_text(error))


class TargetingPage(QWizardPage):
    """Who gets the mailing: the seed's pass holder choices, counted as they change."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Who gets this mailing")
        self.setSubTitle("Choose the pass holders, as in Pass RecConnect. The count and the "
                         "records below follow every change.")
        self.count_token: CancelToken | None = None
        self.total: int | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(COUNT_DELAY_MS)
        self.timer.timeout.connect(self.refresh)
        layout = QVBoxLayout(self)
        choices = QHBoxLayout()
        choices.addWidget(self._passes_box(), 3)
        choices.addWidget(self._households_box(), 2)
        layout.addLayout(choices)
        layout.addWidget(self._records_box(), 1)
        self._watch_changes()

    def _passes_box(self) -> QGroupBox:
        box = QGroupBox("Passes")
        grid = QGridLayout(box)
        self.pass_types = checkable_list(
            [(code, f"{code} — {text}" if text else code)
             for code, text in bulk_targets.pass_type_choices()], True, 96)
        self.date_option = QComboBox()
        self.date_option.addItem("Expiration date", "expiration")
        self.date_option.addItem("Start date", "start")
        today = QDate.currentDate()
        self.date_from, self.date_to = self._date_edit(today), self._date_edit(today.addYears(1))
        dates = QHBoxLayout()
        for widget in (self.date_option, buddy("f&rom", self.date_from), self.date_from,
                       buddy("t&o", self.date_to), self.date_to):
            dates.addWidget(widget)
        dates.addStretch()
        self.statuses: dict[str, QCheckBox] = {}
        status_row = QHBoxLayout()
        for status in mailing_targets.PASS_STATUSES:
            self.statuses[status] = QCheckBox(status)
            self.statuses[status].setChecked(status in DEFAULT_STATUSES)
            status_row.addWidget(self.statuses[status])
        status_row.addStretch()
        grid.addWidget(buddy("Pass &types:", self.pass_types), 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.pass_types, 0, 1)
        grid.addWidget(small_note("None ticked: every active household, whatever its "
                                  "passes."), 1, 1)
        grid.addWidget(buddy("&Date:", self.date_option), 2, 0)
        grid.addLayout(dates, 2, 1)
        grid.addWidget(QLabel("Statuses:"), 3, 0)
        grid.addLayout(status_row, 3, 1)
        return box

    @staticmethod
    def _date_edit(value: QDate) -> QDateEdit:
        edit = QDateEdit(value)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    def _households_box(self) -> QGroupBox:
        box = QGroupBox("Households")
        form = QFormLayout(box)
        self.unique = QRadioButton("Unique &household")
        self.every_member = QRadioButton("&Every member")
        self.unique.setChecked(True)
        match = QHBoxLayout()
        match.addWidget(self.unique)
        match.addWidget(self.every_member)
        match.addStretch()
        form.addRow("Match:", match)
        self.account_state = QComboBox()
        for value, text in ACCOUNT_STATES.items():
            self.account_state.addItem(text, value)
        form.addRow("&Web account:", self.account_state)
        self.history_rule = QComboBox()
        self.history_rule.addItem("Skip households already mailed in", "skip")
        self.history_rule.addItem("Only households already mailed in", "include")
        self.categories = checkable_list(
            [(c.code, f"{c.code} — {c.description}") for c in mailing_history.categories()],
            False, 72)
        form.addRow("Earlier mailin&gs:", self.history_rule)
        form.addRow("", self.categories)
        form.addRow("", small_note("Only mailings with a history record count; tick none to "
                                   "ignore earlier mailings."))
        return box

    def _records_box(self) -> QGroupBox:
        box = QGroupBox("Records")
        column = QVBoxLayout(box)
        self.count_label = QLabel("Counting…")
        self.count_label.setObjectName("heading")
        self.records = RecordsModel()
        self.table = QTableView()
        self.table.setModel(self.records)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # one line a record, as in a list a clerk scans
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column_index, width in enumerate((130, 110, 120, 50, 70, 230)):
            self.table.setColumnWidth(column_index, width)
        self.all_records = QRadioButton("&All records")
        self.highlighted_only = QRadioButton("H&ighlighted records only")
        self.all_records.setChecked(True)
        self.process = QButtonGroup(self)
        self.process.addButton(self.all_records)
        self.process.addButton(self.highlighted_only)
        self.highlighted_label = QLabel()
        process = QHBoxLayout()
        for widget in (QLabel("Process:"), self.all_records, self.highlighted_only,
                       self.highlighted_label):
            process.addWidget(widget)
        process.addStretch()
        column.addWidget(self.count_label)
        column.addWidget(self.table, 1)
        column.addWidget(small_note("Highlight rows with Ctrl+click or Shift+click to "
                                    "process only those households."))
        column.addLayout(process)
        self.records.failed.connect(self.count_label.setText)
        self.table.selectionModel().selectionChanged.connect(self._highlight_changed)
        self.process.buttonToggled.connect(lambda *_: self.completeChanged.emit())
        return box

    def _watch_changes(self) -> None:
        for signal in (self.pass_types.itemChanged, self.categories.itemChanged,
                       self.date_option.currentIndexChanged, self.date_from.dateChanged,
                       self.date_to.dateChanged, self.every_member.toggled,
                       self.account_state.currentIndexChanged,
                       self.history_rule.currentIndexChanged):
            signal.connect(self.timer.start)
        for box in self.statuses.values():
            box.toggled.connect(self.timer.start)

    def initializePage(self) -> None:
        if self.records.targeting is None:
            self.refresh()

    def base_targeting(self) -> Targeting:
        """The choices above the records browser (every record, highlighted or not)."""
        return Targeting(
            pass_types=ticked_values(self.pass_types),
            date_option=self.date_option.currentData(),
            date_from=self.date_from.date().toPython(), date_to=self.date_to.date().toPython(),
            statuses=tuple(s for s, box in self.statuses.items() if box.isChecked()),
            every_member=self.every_member.isChecked(),
            account_state=self.account_state.currentData(),
            history_categories=ticked_values(self.categories),
            history_rule=self.history_rule.currentData())

    def targeting(self) -> Targeting:
        base = self.base_targeting()
        if self.highlighted_only.isChecked():
            return replace(base, household_ids=self.highlighted_ids())
        return base

    def highlighted_ids(self) -> tuple[int, ...]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return tuple(dict.fromkeys(self.records.rows[row].household_id for row in rows))

    def refresh(self) -> None:
        """Count again and reload the browser, off the GUI thread."""
        self.timer.stop()
        if self.count_token is not None:
            self.count_token.cancel()
        targeting = self.base_targeting()
        self.total = None
        self.count_label.setText("Counting…")
        self.records.reset(targeting)
        self._highlight_changed()

        def work(report, cancel: CancelToken) -> int:
            targeting.check()
            return mailing_targets.count(targeting)

        token = run_in_background(work, lambda n: self._counted(token, n),
                                  lambda error: self._count_failed(token, error))
        self.count_token = token

    def _counted(self, token: CancelToken, number: int) -> None:
        if alive(self) and token is self.count_token and not token.cancelled:
            self.total = number
            self.count_label.setText(f"Total records extracted: {number:,}")
            self.completeChanged.emit()

    def _count_failed(self, token: CancelToken, error: Exception) -> None:
        if alive(self) and token is self.count_token:
            self.count_label.setText(error_text(error))

    def _highlight_changed(self) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.highlighted_label.setText(f"({count:,} highlighted)" if count else "")
        self.completeChanged.emit()

    def validatePage(self) -> bool:
        if self.highlighted_only.isChecked() and not self.highlighted_ids():
            QMessageBox.warning(self, "Choose the records", "Highlight the records to process "
                                "in the list, or choose All records.")
            return False
        try:
            self.targeting().check()
        except ClerkDeskError as error:
            show_error(self, "Choose the records", error)
            return False
        return True


class MessagePage(QWizardPage):
    """The seed's Email Options: from, subject, CC, email or text, bodies and attachments,
    with templates, a preview for one household and a test sent to the supervisor."""

    def __init__(self, wizard) -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("The message")
        self.setSubTitle("Right-click the email body (or press Shift+F10) to insert a merge "
                         "field: <WebID> and <WebPin> are filled in for each household.")
        self.attachments: list[Attachment] = []
        layout = QHBoxLayout(self)
        layout.addLayout(self._editor(), 3)
        side = QVBoxLayout()
        side.addWidget(self._attachments_box())
        side.addWidget(self._preview_box(), 1)
        layout.addLayout(side, 2)

    def _editor(self) -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.sender = QLabel()
        self.sender.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subject = QLineEdit()
        self.cc = QLineEdit()
        self.cc.setPlaceholderText("Your own address shows you what went out")
        self.channels = QComboBox()
        for value, text in CHANNEL_LABELS.items():
            self.channels.addItem(text, value)
        self.skip_text = QCheckBox("S&kip text if email address available")
        self.skip_text.setChecked(True)
        channel_row = QHBoxLayout()
        channel_row.addWidget(self.channels)
        channel_row.addWidget(self.skip_text)
        channel_row.addStretch()
        self.body = MergeFieldEdit()
        self.body.setMinimumHeight(180)
        form.addRow("From:", self.sender)
        form.addRow("&Subject:", self.subject)
        form.addRow("&CC:", self.cc)
        form.addRow(buddy("Pr&ocess:", self.channels), channel_row)
        templates = self._templates_row()
        form.addRow(buddy("Te&mplate:", self.templates), templates)
        form.addRow("&Email body:", self.body)
        text_body = self._text_body()
        form.addRow(buddy("Te&xt body:", self.use_email_body), text_body)
        self.channels.currentIndexChanged.connect(self._channels_changed)
        self._channels_changed()
        return form

    def _templates_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.templates = QComboBox()
        self.templates.setMinimumWidth(180)
        self.load_button = QPushButton("&Load")
        self.save_button = QPushButton("Sa&ve as template…")
        self.load_button.clicked.connect(self._load_template)
        self.save_button.clicked.connect(self._save_template)
        for widget in (self.templates, self.load_button, self.save_button):
            row.addWidget(widget)
        row.addStretch()
        self._fill_templates()
        return row

    def _text_body(self) -> QWidget:
        box = QWidget()
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.use_email_body = QCheckBox("&Use email body")
        self.use_email_body.setChecked(True)
        self.text_body = MergeFieldEdit()
        self.text_body.setMaximumHeight(70)
        column.addWidget(self.use_email_body)
        column.addWidget(self.text_body)
        self.use_email_body.toggled.connect(self._channels_changed)
        return box

    def _attachments_box(self) -> QGroupBox:
        box = QGroupBox("Attachments")
        column = QVBoxLayout(box)
        self.attachment_list = QListWidget()
        self.attachment_list.setMaximumHeight(70)
        add, remove = QPushButton("&Add…"), QPushButton("&Remove")
        add.clicked.connect(self._add_attachments)
        remove.clicked.connect(self._remove_attachment)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch()
        column.addWidget(self.attachment_list)
        column.addLayout(buttons)
        column.addWidget(small_note(f"At most {MAX_ATTACHMENT_BYTES // 2**20} MB together. "
                                    "People read the body more often than an attachment."))
        return box

    def _preview_box(self) -> QGroupBox:
        box = QGroupBox("Preview and test")
        column = QVBoxLayout(box)
        self.preview_household = QComboBox()
        self.preview_button = QPushButton("&Preview")
        self.preview_button.clicked.connect(self.show_preview)
        row = QHBoxLayout()
        row.addWidget(buddy("For:", self.preview_household))
        row.addWidget(self.preview_household, 1)
        row.addWidget(self.preview_button)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setPlaceholderText("Preview shows the message as this household "
                                             "gets it. The PIN is minted only when it is sent.")
        self.test_button = QPushButton("Send a &test to me…")
        self.test_button.clicked.connect(self.send_test)
        self.test_result = small_note("")
        column.addLayout(row)
        column.addWidget(self.preview_text, 1)
        column.addWidget(self.test_button, alignment=Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.test_result)
        return box

    def initializePage(self) -> None:
        try:
            self.sender.setText(sender_header())
        except ClerkDeskError as error:
            self.sender.setText(error_text(error))
        self.preview_household.clear()
        page = self.wizard_.targeting_page
        chosen = set(page.highlighted_ids()) if page.highlighted_only.isChecked() else None
        for recipient in page.records.rows:
            if chosen is None or recipient.household_id in chosen:
                self.preview_household.addItem(f"{recipient.person} ({recipient.client_id})",
                                               recipient)
            if self.preview_household.count() >= PREVIEW_CHOICES:
                break
        # Start with a household that has a login: it shows <WebID> filled in.
        with_login = next((i for i in range(self.preview_household.count())
                           if self.preview_household.itemData(i).account_id is not None), 0)
        self.preview_household.setCurrentIndex(with_login)

    def _channels_changed(self) -> None:
        channels = self.channels.currentData()
        self.skip_text.setEnabled(channels == "both")
        texts = channels in ("text", "both")
        self.use_email_body.setEnabled(texts)
        self.text_body.setEnabled(texts and not self.use_email_body.isChecked())

    def message(self) -> MessageDraft:
        cc = tuple(part.strip() for part in self.cc.text().replace(";", ",").split(",")
                   if part.strip())
        text_body = "" if self.use_email_body.isChecked() else self.text_body.toPlainText()
        return MessageDraft(self.subject.text(), self.body.toPlainText(), cc,
                            self.channels.currentData(), self.skip_text.isChecked(), text_body,
                            tuple(self.attachments))

    def _fill_templates(self) -> None:
        self.templates.clear()
        names = mailing_compose.mailing_template_names()
        for name in names:
            self.templates.addItem(name)
        self.load_button.setEnabled(bool(names))
        self.templates.setPlaceholderText("(no saved templates)")

    def _load_template(self) -> None:
        try:
            template = mailing_compose.load_template(self.templates.currentText())
        except ClerkDeskError as error:
            show_error(self, "Load a template", error)
            return
        self.subject.setText(template.subject)
        self.body.setPlainText(template.body)

    def _save_template(self) -> None:
        name, ok = QInputDialog.getText(self, "Save as template", "Template &name:",
                                        text=self.templates.currentText())
        if not ok:
            return
        try:
            saved = mailing_compose.save_mailing_template(
                self.wizard_.session, name, self.subject.text(), self.body.toPlainText())
        except ClerkDeskError as error:
            show_error(self, "Save as template", error)
            return
        self._fill_templates()
        self.templates.setCurrentText(saved.name)

    def _add_attachments(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files")
        for path in paths:
            self.add_attachment(path)

    def add_attachment(self, path: str) -> None:
        try:
            attachment = Attachment.from_file(path)
        except OSError as error:
            QMessageBox.warning(self, "Attach a file", f"“{path}” cannot be read: "
                                f"{error.strerror or error}.")
            return
        total = sum(len(a.content) for a in self.attachments) + len(attachment.content)
        if total > MAX_ATTACHMENT_BYTES:
            QMessageBox.warning(self, "Attach a file", f"“{attachment.file_name}” is too big: "
                                f"the attachments would come to more than "
                                f"{MAX_ATTACHMENT_BYTES // 2**20} MB. Put a link to it in the "
                                "body instead.")
            return
        self.attachments.append(attachment)
        self.attachment_list.addItem(f"{attachment.file_name} "
                                     f"({_size(len(attachment.content))})")

    def _remove_attachment(self) -> None:
        row = self.attachment_list.currentRow()
        if row >= 0:
            self.attachment_list.takeItem(row)
            del self.attachments[row]

    def _chosen_recipient(self) -> Recipient:
        return self.preview_household.currentData() or mailing_compose.SAMPLE

    def show_preview(self) -> None:
        draft, recipient = self.message(), self._chosen_recipient()
        if draft.needs_login and recipient.account_id is None and recipient is not \
                mailing_compose.SAMPLE:
            self.preview_text.setPlainText(
                f"{recipient.person} has no web login yet, so this mailing would skip the "
                "household. Run Web Utilities → Bulk Web ID/PIN Assign first, or preview "
                "another household.")
            return
        try:
            subject, body, text = preview(draft, recipient)
        except ClerkDeskError as error:
            self.preview_text.setPlainText(f"Cannot preview: {error_text(error)}")
            return
        parts = []
        if draft.sends_email:
            parts.append(f"Subject: {subject}\n\n{body}")
        if draft.sends_text:
            parts.append(f"Text message:\n{text}")
        self.preview_text.setPlainText("\n\n──────────\n\n".join(parts))

    def send_test(self) -> None:
        default = str(get_setting("email.from_address"))
        to, ok = QInputDialog.getText(self, "Send a test", "Send one test message &to:",
                                      text=default)
        if not ok:
            return
        recipient = self._chosen_recipient()
        household = recipient.household_id or None
        message, session = self.message(), self.wizard_.session
        self.test_button.setEnabled(False)
        self.test_result.setText("Sending a test…")
        call_in_background(lambda: mailing_compose.send_test(session, message, to, household),
                           self._test_sent, self._test_failed)

    def _test_sent(self, sent: mailing_compose.TestSent) -> None:
        if not alive(self):
            return
        self.test_button.setEnabled(True)
        self.test_result.setText(sent.summary + " No PIN was minted.")

    def _test_failed(self, error: Exception) -> None:
        if not alive(self):
            return
        self.test_button.setEnabled(True)
        self.test_result.setText(f"The test was not sent: {error_text(error)}")

    def validatePage(self) -> bool:
        try:
            checked(self.message())
        except ClerkDeskError as error:
            show_error(self, "Check the message", error)
            return False
        return True


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size // 1024, 1)} KB"
