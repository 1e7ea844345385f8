"""The scene of one cut: the image item and one FaceItem per face, kept in step with the store.

The scene holds only view state (which cut, which face and points are selected, threshold, layers);
faces come from the store and are replaced by fresh copies after every write. User gestures are
reported as signals; the editor turns them into undo commands.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from f2a_studio.core.models import Box, Face, ImageRecord
from f2a_studio.gui.canvas.face_item import FaceItem
from f2a_studio.gui.canvas.image_item import ImageItem
from f2a_studio.gui.canvas.layers import Layers
from f2a_studio.gui.image_cache import CachedImage
from f2a_studio.gui.queries import is_visible


class CutScene(QGraphicsScene):
    faceSelected = Signal(int)  # face id, -1 for none
    pointsSelected = Signal(int, object)  # face id, tuple of landmark indices
    boxEdited = Signal(int, object)  # face id, new Box
    landmarksEdited = Signal(int, object)  # face id, new landmarks tuple
    landmarksMoving = Signal(int, object)  # face id, landmarks while a drag is under way (not stored yet)

    def __init__(self, parent: object | None = None) -> None:
        super().__init__(parent)
        # A few hundred items whose geometry changes on every drag: a linear scan beats keeping a BSP tree.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.record: ImageRecord | None = None
        self.image_item: ImageItem | None = None
        self.items_by_id: dict[int, FaceItem] = {}
        self.layers = Layers()
        self.threshold = 0.0
        self.editable = True
        self.view_scale = 1.0
        self.selected_face: int | None = None
        self.selected_points: frozenset[int] = frozenset()

    # ------------------------------------------------------------ content

    def show_cut(self, record: ImageRecord, faces: list[Face], entry: CachedImage | None) -> None:
        self.clear()
        self.items_by_id.clear()
        self.selected_face = None
        self.selected_points = frozenset()
        self.record = record
        self.image_item = ImageItem(record.width, record.height)
        self.image_item.set_entry(entry)
        self.addItem(self.image_item)
        margin = 0.04 * max(record.width, record.height)
        self.setSceneRect(QRectF(-margin, -margin, record.width + 2 * margin, record.height + 2 * margin))
        for face in faces:
            self.upsert_face(face)

    def clear_cut(self) -> None:
        self.clear()
        self.items_by_id.clear()
        self.record = None
        self.image_item = None
        self.selected_face = None
        self.selected_points = frozenset()

    def set_entry(self, entry: CachedImage | None) -> None:
        if self.image_item is not None:
            self.image_item.set_entry(entry)

    def upsert_face(self, face: Face) -> None:
        assert face.id is not None
        item = self.items_by_id.get(face.id)
        if item is None:
            item = FaceItem(face, self.layers, self.editable)
            self.items_by_id[face.id] = item
            self.addItem(item)
        else:
            item.set_face(face)
        item.setVisible(is_visible(face, self.threshold))
        if face.id == self.selected_face:
            item.set_selected(True, self.selected_points)

    def remove_face(self, face_id: int) -> None:
        item = self.items_by_id.pop(face_id, None)
        if item is not None:
            self.removeItem(item)
        if self.selected_face == face_id:
            self.select(None)

    # ------------------------------------------------------------ view state

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        for item in self.items_by_id.values():
            item.setVisible(is_visible(item.face, threshold))
        if self.selected_face is not None and not self.items_by_id[self.selected_face].isVisible():
            self.select(None)

    def set_layers(self, layers: Layers) -> None:
        self.layers = layers
        for item in self.items_by_id.values():
            item.set_layers(layers)

    def set_editable(self, editable: bool) -> None:
        self.editable = editable
        for item in self.items_by_id.values():
            item.set_editable(editable)

    def set_view_scale(self, scale: float) -> None:
        self.view_scale = scale
        for item in self.items_by_id.values():
            item.zoom_changed()

    def select(self, face_id: int | None, points: tuple[int, ...] | frozenset[int] = ()) -> None:
        previous = self.selected_face
        self.selected_face = face_id if face_id in self.items_by_id else None
        self.selected_points = frozenset(points) if self.selected_face is not None else frozenset()
        if previous is not None and previous in self.items_by_id and previous != self.selected_face:
            self.items_by_id[previous].set_selected(False)
        if self.selected_face is not None:
            self.items_by_id[self.selected_face].set_selected(True, self.selected_points)
        if previous != self.selected_face:
            self.faceSelected.emit(-1 if self.selected_face is None else self.selected_face)

    def visible_face_ids(self) -> list[int]:
        """Visible faces in reading order (top to bottom, then left to right): the Tab order."""
        items = [i for i in self.items_by_id.values() if i.isVisible()]
        items.sort(key=lambda i: (round(i.face.box.y / 40), i.face.box.x, i.face_id))
        return [i.face_id for i in items]

    def face_rect(self, face_id: int) -> QRectF | None:
        item = self.items_by_id.get(face_id)
        return None if item is None else item.sceneBoundingRect()

    def sample_color(self, pos: QPointF, radius: int = 2) -> QColor | None:
        """Median colour of a (2r+1)² patch of the full-resolution cut around `pos` (the eyedropper)."""
        if self.image_item is None or self.image_item.entry is None:
            return None
        image = self.image_item.entry.levels[0]
        x0, y0 = int(pos.x()), int(pos.y())
        samples = []
        for y in range(y0 - radius, y0 + radius + 1):
            for x in range(x0 - radius, x0 + radius + 1):
                if 0 <= x < image.width() and 0 <= y < image.height():
                    samples.append(QColor(image.pixel(x, y)))
        if not samples:
            return None
        channel = [sorted(c.getRgb()[k] for c in samples)[len(samples) // 2] for k in range(3)]
        return QColor(*channel)

    # ------------------------------------------------------------ calls from items

    def face_pressed(self, face_id: int) -> None:
        if face_id != self.selected_face:
            self.select(face_id)
        elif self.selected_points:
            self.select(face_id, ())
            self.pointsSelected.emit(face_id, ())

    def points_pressed(self, face_id: int, indices: tuple[int, ...]) -> None:
        self.select(face_id, indices)
        self.pointsSelected.emit(face_id, tuple(indices))

    def box_edited(self, face_id: int, box: Box) -> None:
        self.boxEdited.emit(face_id, box)

    def landmarks_moving(self, face_id: int, points: tuple) -> None:
        self.landmarksMoving.emit(face_id, points)

    def landmarks_edited(self, face_id: int, points: tuple) -> None:
        self.landmarksEdited.emit(face_id, tuple(points))
