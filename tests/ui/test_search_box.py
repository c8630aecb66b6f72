"""The search box above a results list, driven by keys."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from clerkdesk.ui.search_box import SearchBox


def _results(qtbot, rows):
    model = QStandardItemModel()
    for text in rows:
        model.appendRow(QStandardItem(text))
    view = QTableView()
    view.setModel(model)
    qtbot.addWidget(view)
    opened = []
    view.activated.connect(lambda index: opened.append(index.row()))
    return view, opened


def test_down_moves_into_the_results_and_enter_opens_only_where_asked(qtbot):
    view, opened = _results(qtbot, ["Smith", "Jones"])
    plain, opening = SearchBox(view), SearchBox(view, enter_opens=True)
    for box in (plain, opening):
        qtbot.addWidget(box)
    qtbot.keyClick(plain, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 0 and opened == []
    view.clearSelection()
    qtbot.keyClick(plain, Qt.Key.Key_Return)
    assert opened == []
    qtbot.keyClick(opening, Qt.Key.Key_Return)
    assert opened == [0]


def test_an_empty_list_leaves_the_keys_to_the_box(qtbot):
    view, opened = _results(qtbot, [])
    box = SearchBox(view, enter_opens=True)
    qtbot.addWidget(box)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert opened == [] and not view.currentIndex().isValid()
