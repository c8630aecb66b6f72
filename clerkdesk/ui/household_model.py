"""The search results table: rows fetched a page at a time as the view scrolls, never all."""

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal

from clerkdesk.services import household_search
from clerkdesk.services.household_search import HouseholdRow
from clerkdesk.services.session import StaffSession

from .background import call_in_background
from .table_model import RowTableModel

COUNT_DELAY_MS = 200
COLUMNS = (("Client ID", "client_id"), ("Household", "name"), ("Primary member",
           "primary_member"), ("Phone", "phone"), ("Email", "email"),
           ("Web user name", "usernames"))


class HouseholdSearchModel(RowTableModel):
    headings = tuple(heading for heading, _ in COLUMNS)
    count_changed = Signal(str)

    def __init__(self, session: StaffSession) -> None:
        super().__init__()
        self.session = session
        self.rows: list[HouseholdRow] = []
        self.seen: set[int] = set()
        self.next_key: tuple | None = None
        self.query = ""
        self.exhausted = True
        self.count_timer = QTimer(self)
        self.count_timer.setSingleShot(True)
        self.count_timer.setInterval(COUNT_DELAY_MS)
        self.count_timer.timeout.connect(self._count)

    def search(self, query: str) -> None:
        """Show the first page for `query` now; count the matches once typing pauses."""
        self.beginResetModel()
        self.query, self.rows, self.seen = query, [], set()
        self.next_key, self.exhausted = None, False
        self._append(household_search.search(self.session, query))
        self.endResetModel()
        self.count_changed.emit("Counting…")
        self.count_timer.start()

    def _count(self) -> None:
        """Off the GUI thread: a broad search's count may take longer than a keystroke."""
        query = self.query
        call_in_background(lambda: household_search.count_matches(self.session, query),
                           lambda count: self._counted(query, count), lambda error: None)

    def _counted(self, query: str, count: household_search.MatchCount) -> None:
        if query != self.query:
            return  # the clerk typed on; a newer count is coming
        text = str(count)
        self.count_changed.emit(text if query.strip() else f"All households ({text})")

    def _append(self, page: household_search.SearchPage) -> None:
        fresh = [row for row in page.rows if row.id not in self.seen]
        self.seen.update(row.id for row in fresh)
        self.rows.extend(fresh)
        self.next_key = page.next_key
        self.exhausted = page.next_key is None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self.exhausted

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        page = household_search.search(self.session, self.query, after=self.next_key)
        fresh = [row for row in page.rows if row.id not in self.seen]
        if fresh:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(fresh) - 1)
        self._append(household_search.SearchPage(fresh, page.next_key))
        if fresh:
            self.endInsertRows()

    def refresh_household(self, household_id: int) -> None:
        """Re-read one household's row after it was saved elsewhere in the window."""
        for index, row in enumerate(self.rows):
            if row.id == household_id:
                fresh = household_search.row_for(self.session, household_id)
                if fresh is not None:
                    self.rows[index] = fresh
                    self.dataChanged.emit(self.index(index, 0),
                                          self.index(index, len(COLUMNS) - 1))
                return

    def household_id(self, row: int) -> int | None:
        return self.rows[row].id if 0 <= row < len(self.rows) else None

    def cell(self, row: int, column: int) -> object:
        return getattr(self.rows[row], COLUMNS[column][1])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.ForegroundRole and self.rows[index.row()].status != "active":
            return Qt.GlobalColor.gray
        return super().data(index, role)
