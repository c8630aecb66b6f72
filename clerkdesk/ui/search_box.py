"""The search box above a results list: Down (and, where Enter opens a row, Enter too)
moves into the results, so the keyboard alone does everything."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QTableView


class SearchBox(QLineEdit):
    def __init__(self, results: QTableView, enter_opens: bool = False) -> None:
        """`enter_opens`: Enter also opens the first result, through its `activated`."""
        super().__init__()
        self.results, self.enter_opens = results, enter_opens

    def keyPressEvent(self, event) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.enter_opens
        if (event.key() == Qt.Key.Key_Down or enter) and self.results.model().rowCount():
            self.results.setFocus()
            self.results.selectRow(0)
            if enter:
                self.results.activated.emit(self.results.currentIndex())
            return
        super().keyPressEvent(event)
