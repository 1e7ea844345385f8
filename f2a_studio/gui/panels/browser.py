"""The project browser panel: filter bar + tree of cuts with review progress bars."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.panels.browser_model import IMAGE_ID_ROLE, PROGRESS_ROLE, BrowserModel, CutFilter
from f2a_studio.gui.queries import cut_summaries, cut_summary


class ProgressDelegate(QStyledItemDelegate):
    """Reviewed column: a thin bar under the `reviewed/faces` text."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        fraction = index.data(PROGRESS_ROLE)
        if fraction is None:
            return
        r = option.rect
        bar = QRect(r.left() + 4, r.bottom() - 3, r.width() - 8, 3)
        painter.fillRect(bar, QColor(128, 128, 128, 70))
        done = QRect(bar.left(), bar.top(), round(bar.width() * fraction), bar.height())
        painter.fillRect(done, QColor("#2ecc71") if fraction >= 1 else QColor("#35a7ff"))


class ProjectBrowser(QWidget):
    cutActivated = Signal(int)  # image id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: ProjectStore | None = None
        self.threshold = 0.0
        self.model = BrowserModel()
        self.filter_box = QComboBox()
        self.filter_box.addItems([f.value for f in CutFilter])
        self.filter_box.setToolTip("Show only cuts with unreviewed faces, low-confidence faces, no faces…")
        self.search = QLineEdit()
        self.search.setPlaceholderText("filter by name")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # needed for instant scrolling through 10k rows
        self.tree.setAlternatingRowColors(True)
        self.tree.setItemDelegateForColumn(2, ProgressDelegate(self.tree))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 48), (2, 72)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, width)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_box, 1)
        bar.addWidget(self.search, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.tree)
        self.filter_box.currentIndexChanged.connect(lambda _: self.reload())
        self.search.textChanged.connect(lambda _: self.reload())
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self._current_image: int | None = None

    @property
    def cut_filter(self) -> CutFilter:
        return list(CutFilter)[self.filter_box.currentIndex()]

    def set_filter(self, cut_filter: CutFilter) -> None:
        self.filter_box.setCurrentIndex(list(CutFilter).index(cut_filter))

    def set_store(self, store: ProjectStore | None, threshold: float) -> None:
        self.store = store
        self.threshold = threshold
        self._current_image = None
        self.reload(query=True)

    def reload(self, *, query: bool = False) -> None:
        if self.store is None:
            self.model.rebuild([], {})
            return
        records = self.model.records if (self.model.records and not query) else self.store.images()
        summaries = self.model.summaries if not query else cut_summaries(self.store, self.threshold)
        self.model.rebuild(records, summaries, self.cut_filter, self.search.text())
        if self.model.root.children:
            first = self.model.index(0, 0)
            self.tree.expand(first)
            self.tree.expand(self.model.index(0, 0, first))
        if self._current_image is not None:
            self.select_cut(self._current_image)

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if self.store is not None:
            self.reload(query=True)

    def order(self) -> list[int]:
        """Image ids in browsing order (the filtered tree's order)."""
        ids: list[int] = []
        for title in self.model.root.children:
            for episode in title.children:
                ids.extend(node.record.id for node in episode.children if node.record is not None)
        return ids

    def refresh_cut(self, image_id: int) -> None:
        if self.store is not None:
            self.model.update_summary(image_id, cut_summary(self.store, image_id, self.threshold))

    def select_cut(self, image_id: int | None) -> None:
        self._current_image = image_id
        index = self.model.index_of(image_id) if image_id is not None else QModelIndex()
        if not index.isValid():
            self.tree.clearSelection()
            return
        if self.tree.currentIndex() != index:
            self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        image_id = current.data(IMAGE_ID_ROLE) if current.isValid() else None
        if image_id is not None and image_id != self._current_image:
            self._current_image = image_id
            self.cutActivated.emit(image_id)
