"""The project tree (title → episode → cut) as a lazy item model with review progress per row.

Built from one images query and one aggregate faces query, so a 10,000-cut project loads in tens of
milliseconds; rows are only materialised when the view asks for them.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from f2a_studio.gui.queries import CutRow, CutSummary, sum_summaries

Index = QModelIndex | QPersistentModelIndex
_EMPTY = CutSummary()
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
IMAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 2


class CutFilter(str, Enum):
    ALL = "All cuts"
    UNREVIEWED = "Unreviewed faces"
    LOW_CONFIDENCE = "Low confidence"
    NO_FACES = "No faces"
    SEX_UNKNOWN = "Sex unknown"

    def keeps(self, summary: CutSummary) -> bool:
        if self is CutFilter.UNREVIEWED:
            return summary.unreviewed > 0
        if self is CutFilter.LOW_CONFIDENCE:
            return summary.low_confidence
        if self is CutFilter.NO_FACES:
            return summary.faces == 0
        if self is CutFilter.SEX_UNKNOWN:
            return summary.sex_unknown > 0
        return True


class Node:
    """A title, episode or cut row. Plain slots: 10,000 of these are built on every filter change."""

    __slots__ = ("children", "label", "parent", "record", "row", "summary")

    def __init__(self, label: str, parent: Node | None, row: int = 0, record: CutRow | None = None,
                 summary: CutSummary = _EMPTY) -> None:
        self.label = label
        self.parent = parent
        self.children: list[Node] = []
        self.record = record
        self.summary = summary
        self.row = row

    def recount(self) -> None:
        self.summary = sum_summaries(child.summary for child in self.children)


class BrowserModel(QAbstractItemModel):
    HEADERS = ("Cut", "Faces", "Reviewed")

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("", None)
        self.cut_nodes: dict[int, Node] = {}
        self.records: list[CutRow] = []
        self.summaries: dict[int, CutSummary] = {}

    # ------------------------------------------------------------ building

    def rebuild(self, records: list[CutRow], summaries: dict[int, CutSummary],
                cut_filter: CutFilter = CutFilter.ALL, text: str = "") -> None:
        self.beginResetModel()
        self.records = records
        self.summaries = summaries
        self.root = Node("", None)
        self.cut_nodes = {}
        needle = text.strip().lower()
        titles: dict[str, Node] = {}
        episodes: dict[tuple[str, str], Node] = {}
        empty = CutSummary()
        for record in records:
            summary = summaries.get(record.id, empty)
            if not cut_filter.keeps(summary) or (needle and needle not in record.name.lower()):
                continue
            title = titles.get(record.title_id)
            if title is None:
                title = titles[record.title_id] = Node(record.title_id, self.root, row=len(self.root.children))
                self.root.children.append(title)
            key = (record.title_id, record.episode)
            episode = episodes.get(key)
            if episode is None:
                episode = episodes[key] = Node(f"episode {record.episode}", title, row=len(title.children))
                title.children.append(episode)
            node = Node(f"cut {record.cut_index:03d}", episode, len(episode.children), record, summary)
            episode.children.append(node)
            self.cut_nodes[record.id] = node
        for title in self.root.children:
            for episode in title.children:
                episode.recount()
            title.recount()
        self.endResetModel()

    def update_summary(self, image_id: int, summary: CutSummary) -> None:
        self.summaries[image_id] = summary
        node = self.cut_nodes.get(image_id)
        if node is None:
            return
        node.summary = summary
        chain = [node]
        parent = node.parent
        while parent is not None and parent is not self.root:
            parent.recount()
            chain.append(parent)
            parent = parent.parent
        for item in chain:
            index = self.createIndex(item.row, 0, item)
            self.dataChanged.emit(index, index.siblingAtColumn(len(self.HEADERS) - 1))

    def set_summaries(self, summaries: dict[int, CutSummary]) -> None:
        """New counts for every cut, same rows (the unfiltered tree): update in place, no reset."""
        self.summaries = summaries
        empty = CutSummary()
        for image_id, node in self.cut_nodes.items():
            node.summary = summaries.get(image_id, empty)
        for title in self.root.children:
            for episode in title.children:
                episode.recount()
            title.recount()
        if self.root.children:
            self.layoutChanged.emit()  # repaint every visible row's counts

    def index_of(self, image_id: int) -> QModelIndex:
        node = self.cut_nodes.get(image_id)
        return QModelIndex() if node is None else self.createIndex(node.row, 0, node)

    # ------------------------------------------------------------ QAbstractItemModel

    def _node(self, index: Index) -> Node:
        return index.internalPointer() if index.isValid() else self.root  # type: ignore[return-value]

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(parent)
        if 0 <= row < len(node.children) and 0 <= column < len(self.HEADERS):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent = self._node(index).parent
        if parent is None or parent is self.root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node = self._node(index)
        s = node.summary
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return node.label
            if column == 1:
                return str(s.faces)
            return f"{s.reviewed}/{s.faces}" if s.faces else "–"
        if role == PROGRESS_ROLE:
            return s.reviewed / s.faces if s.faces else None
        if role == IMAGE_ID_ROLE:
            return node.record.id if node.record is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and node.record is not None:
            r = node.record
            return (f"{r.name}\n{r.width}×{r.height}px · {s.faces} face(s), {s.unreviewed} unreviewed"
                    f"\nfrom {r.source_path}")
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
