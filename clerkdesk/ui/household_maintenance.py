"""Household Maintenance: find a household in a keystroke or two, edit it, open Web Details.

Keyboard: type to search, Down to reach the results, Enter to open the household, Ctrl+S to
save, Ctrl+W for Web Details, Ctrl+N for a new household, Ctrl+F or Esc back to the search.
"""

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clerkdesk.services import households, permissions, settings
from clerkdesk.services.households import StaleHousehold
from clerkdesk.services.permissions import Permission
from clerkdesk.services.session import StaffSession

from .household_editor import HouseholdEditor
from .household_model import HouseholdSearchModel
from .messages import error_text
from .search_box import SearchBox
from .web_details import WebDetailsDialog


class ResultsView(QTableView):
    """Enter opens the highlighted household."""

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class HouseholdMaintenanceWindow(QMainWindow):
    def __init__(self, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Household Maintenance")
        self.dirty = False
        self.model = HouseholdSearchModel(session)
        self.results = ResultsView()
        self.search_box = SearchBox(self.results, enter_opens=True)
        self.count = QLabel()
        self.editor = HouseholdEditor(session)
        self.problem = QLabel()
        self._build()
        self._shortcuts()
        self.model.count_changed.connect(self.count.setText)
        self.search_box.textChanged.connect(self.model.search)
        self.results.activated.connect(self._open_index)
        self.editor.edited.connect(self._mark_dirty)
        self.editor.note_button.clicked.connect(self.add_note)
        self.model.search("")
        self.open_household(None)
        stored = QSettings().value("household_maintenance/geometry")
        if stored is None:
            self.resize(1200, 720)
        else:
            self.restoreGeometry(stored)

    def _build(self) -> None:
        self.search_box.setPlaceholderText("Search: name, client ID, phone, email or web user "
                                           "name")
        self.search_box.setClearButtonEnabled(True)
        self.results.setModel(self.model)
        self.results.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.results.setAlternatingRowColors(True)
        self.results.verticalHeader().hide()
        self.results.setShowGrid(False)
        self.results.setWordWrap(False)
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate((80, 150, 170, 120, 190)):
            self.results.setColumnWidth(column, width)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.search_box)
        left_layout.addWidget(self.count)
        left_layout.addWidget(self.results)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.title = QLabel()
        self.title.setObjectName("heading")
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.editor, 1)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        right_layout.addWidget(self.problem)
        right_layout.addLayout(self._buttons())
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([560, 640])
        self.setCentralWidget(splitter)

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.web_button = QPushButton("&Web Details…")
        self.new_button = QPushButton("New household")
        self.revert_button = QPushButton("Re&vert")
        self.save_button = QPushButton("&Save")
        self.save_button.setDefault(True)
        self.web_button.clicked.connect(self.open_web_details)
        self.new_button.clicked.connect(lambda: self.open_household(None))
        self.revert_button.clicked.connect(self.revert)
        self.save_button.clicked.connect(self.save)
        for button in (self.web_button, self.new_button):
            row.addWidget(button)
        row.addStretch()
        row.addWidget(self.revert_button)
        row.addWidget(self.save_button)
        return row

    def _shortcuts(self) -> None:
        for keys, slot in (("Ctrl+F", self.focus_search), ("Escape", self.focus_search),
                           ("Ctrl+S", self.save), ("Ctrl+W", self.open_web_details),
                           ("Ctrl+N", lambda: self.open_household(None))):
            QShortcut(QKeySequence(keys), self, activated=slot)

    # --- opening -----------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _open_index(self, index) -> None:
        household_id = self.model.household_id(index.row())
        if household_id is not None:
            self.open_household(household_id)

    def open_household(self, household_id: int | None) -> bool:
        """Show a household (None: a new, empty one); unsaved edits are never dropped silently."""
        if not self.confirm_leave():
            return False
        detail = households.get_household(self.session, household_id) \
            if household_id is not None else None
        self.editor.load(detail)
        self.title.setText(f"{detail.data.name} — client {detail.data.client_id}" if detail
                           else "New household")
        self._set_dirty(False)
        self.problem.hide()
        can_edit = permissions.has_permission(self.session, Permission.HOUSEHOLD_EDIT)
        self.save_button.setEnabled(can_edit)
        self.save_button.setToolTip("" if can_edit else "Your role lacks the permission "
                                    "“Edit households”.")
        self.web_button.setEnabled(detail is not None)
        if detail is not None:
            self.editor.lines["name"].setFocus()
        return True

    # --- saving --------------------------------------------------------------------------------
    def save(self) -> bool:
        detail = self.editor.detail
        try:
            data = self.editor.data()
            saved = households.save_household(
                self.session, detail.id if detail else None, detail.version if detail else None,
                data)
        except StaleHousehold as error:
            self._conflict(error)
            return False
        except Exception as error:
            self.problem.setText(error_text(error))
            self.problem.show()
            return False
        self.editor.load(saved)
        self.title.setText(f"{saved.data.name} — client {saved.data.client_id}")
        self._set_dirty(False)
        self.problem.hide()
        self.web_button.setEnabled(True)
        if detail is None:
            self.model.search(self.search_box.text())
        else:
            self.model.refresh_household(saved.id)
        self.statusBar().showMessage("Saved.", 4000)
        return True

    def _conflict(self, error: StaleHousehold) -> None:
        answer = QMessageBox.question(
            self, "Changed at another desk", f"{error.message}\n\nReload the household now? "
            "Your edits will be discarded.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self._set_dirty(False)
            self.open_household(self.editor.detail.id)
        else:
            self.problem.setText(error.message)
            self.problem.show()

    def revert(self) -> None:
        detail = self.editor.detail
        self._set_dirty(False)
        self.open_household(detail.id if detail else None)

    def add_note(self) -> None:
        if self.editor.detail is None:
            return
        try:
            households.add_case_note(self.session, self.editor.detail.id,
                                     self.editor.note_text.text())
        except Exception as error:
            QMessageBox.warning(self, "Note not added", error_text(error))
            return
        self.editor.note_text.clear()
        self.editor.refresh_trail()

    def open_web_details(self) -> None:
        detail = self.editor.detail
        if detail is None or not self.web_button.isEnabled():
            return
        member_id = self.editor.selected_member_id() if settings.get_setting(
            "accounts.per_member") else None
        dialog = WebDetailsDialog(self.session, detail.id, detail.data.name, member_id, self)
        dialog.exec()
        if dialog.changed:
            self.model.refresh_household(detail.id)
            self.editor.refresh_trail()

    # --- unsaved changes ---------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.setWindowTitle("Household Maintenance" + (" — unsaved changes" if dirty else ""))

    def confirm_leave(self) -> bool:
        if not self.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this household first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_leave():
            event.ignore()
            return
        QSettings().setValue("household_maintenance/geometry", self.saveGeometry())
        super().closeEvent(event)
