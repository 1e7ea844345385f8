"""The project browser panel: filter bar + tree of cuts with review progress bars."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from PySide6.QtCore import QModelIndex, QRect, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QApplication,
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

from f2a_studio.core.errors import F2AError
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.panels.browser_model import IMAGE_ID_ROLE, PROGRESS_ROLE, BrowserModel, CutFilter
from f2a_studio.gui.queries import CutSummary, cut_rows, cut_summaries, cut_summary, sum_summaries


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
    """Cuts appear at once (one images query); review counts follow from a background read.

    The counts need a scan of every face (a quarter second at 10,000 cuts), so they are read on a
    thread through a second, read-only connection: the window paints first and never waits on it.
    """

    cutActivated = Signal(int)  # image id
    summariesChanged = Signal(object)  # CutSummary: totals over the project
    orderChanged = Signal()  # the filtered browsing order changed
    _summariesLoaded = Signal(int, object)  # generation, {image id: CutSummary} (from the loader thread)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: ProjectStore | None = None
        self.threshold = 0.0
        self.totals = CutSummary()
        self._generation = 0
        self._loading = False
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
        self._summariesLoaded.connect(self._summaries_arrived)
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
        self.model.rebuild([], {})
        self.totals = CutSummary()
        if store is not None:
            self.model.records = cut_rows(store)
            self.reload()
            self.load_summaries()

    # ------------------------------------------------------------ counts, in the background

    def load_summaries(self) -> None:
        """(Re)read every cut's counts at the current threshold on a thread; applied when they arrive."""
        if self.store is None:
            return
        self._generation += 1
        self._loading = True
        args = (self._generation, self.store.root, self.threshold)
        threading.Thread(target=self._read_summaries, args=args, name="f2a-summaries", daemon=True).start()

    def _read_summaries(self, generation: int, root: Path, threshold: float) -> None:
        try:
            with ProjectStore.open(root, read_only=True) as reader:
                result: dict[int, CutSummary] | str = cut_summaries(reader, threshold)
        except (F2AError, sqlite3.Error) as exc:
            result = f"cannot read review counts: {exc}"
        self._summariesLoaded.emit(generation, result)  # queued to the GUI thread

    def _summaries_arrived(self, generation: int, result: object) -> None:
        if generation != self._generation or self.store is None:
            return  # a newer request (threshold moved, project changed) supersedes this one
        self._loading = False
        if not isinstance(result, dict):
            self.tree.setToolTip(str(result))
            return
        if self.cut_filter is CutFilter.ALL and not self.search.text().strip():
            self.model.set_summaries(result)
        else:
            self.model.summaries = result
            self.reload()
        self.totals = sum_summaries(result.values())
        self.summariesChanged.emit(self.totals)

    def wait_for_summaries(self, timeout_s: float = 30.0) -> None:
        """Block (processing events) until the counts are in: screenshots and tests."""
        deadline = time.monotonic() + timeout_s
        while self._loading and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)

    # ------------------------------------------------------------ tree

    def reload(self) -> None:
        """Rebuild the tree from the cuts and counts in hand, under the current filter and search."""
        self.model.rebuild(self.model.records, self.model.summaries, self.cut_filter, self.search.text())
        if self.model.root.children:
            first = self.model.index(0, 0)
            self.tree.expand(first)
            self.tree.expand(self.model.index(0, 0, first))
        if self._current_image is not None:
            self.select_cut(self._current_image)
        self.orderChanged.emit()

    def reload_from_store(self) -> None:
        """New cuts were imported: re-read the cut list, then the counts."""
        if self.store is not None:
            self.model.records = cut_rows(self.store)
            self.reload()
            self.load_summaries()

    def set_threshold(self, threshold: float) -> None:
        if threshold != self.threshold:
            self.threshold = threshold
            self.load_summaries()

    def order(self) -> list[int]:
        """Image ids in browsing order (the filtered tree's order)."""
        ids: list[int] = []
        for title in self.model.root.children:
            for episode in title.children:
                ids.extend(node.record.id for node in episode.children if node.record is not None)
        return ids

    def refresh_cut(self, image_id: int) -> None:
        """One cut's counts after an edit (an indexed query), and the totals by difference."""
        if self.store is None:
            return
        old = self.model.summaries.get(image_id, CutSummary())
        new = cut_summary(self.store, image_id, self.threshold)
        self.model.update_summary(image_id, new)
        t = self.totals
        self.totals = CutSummary(t.faces - old.faces + new.faces, t.unreviewed - old.unreviewed + new.unreviewed,
                                 t.accepted - old.accepted + new.accepted, t.rejected - old.rejected + new.rejected,
                                 t.sex_unknown - old.sex_unknown + new.sex_unknown, None)
        self.summariesChanged.emit(self.totals)

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
