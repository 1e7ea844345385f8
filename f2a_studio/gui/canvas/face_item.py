"""One face on the canvas: its box (coloured by status), parts, tag, swatches, landmarks and handles.

The item shows the face as stored. A drag changes only a transient `live_box` (or the landmark item's
points); on release the new geometry goes to the scene, which turns it into an undo command; the
command's store write brings the stored face back here through `set_face`.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from f2a_studio.core.models import Box, Face, FaceSource, Sex
from f2a_studio.gui.canvas.handles import ROLES, HandleItem
from f2a_studio.gui.canvas.landmark_item import LandmarkItem
from f2a_studio.gui.canvas.layers import SELECTED_COLOR, STATUS_COLORS, Layers
from f2a_studio.gui.canvas.tags import SwatchItem, TagItem

MIN_BOX = 4.0


def box_rect(box: Box) -> QRectF:
    return QRectF(box.x, box.y, box.w, box.h)


class FaceItem(QGraphicsItem):
    def __init__(self, face: Face, layers: Layers, editable: bool) -> None:
        super().__init__()
        self.face = face
        self.layers = layers
        self.editable = editable
        self.selected = False
        self.live_box: Box | None = None
        self._press: tuple[QPointF, Box] | None = None
        self.tag = TagItem(self)
        self.swatches = SwatchItem(self)
        self.landmark_item = LandmarkItem(self)
        self.handles: list[HandleItem] = []  # made on first selection: most faces never need them
        self.setZValue(10)
        self.set_face(face)

    @property
    def face_id(self) -> int:
        assert self.face.id is not None
        return self.face.id

    @property
    def box(self) -> Box:
        return self.live_box or self.face.box

    # ------------------------------------------------------------ state from outside

    def set_face(self, face: Face) -> None:
        self.prepareGeometryChange()
        self.face = face
        self.live_box = None
        sex = {Sex.FEMALE: " F", Sex.MALE: " M"}.get(face.sex, "")
        source = " ✎" if face.source is FaceSource.HUMAN else ""
        self.tag.set_text(f"{face.score:.2f} #{face.id}{sex}{source}", STATUS_COLORS[face.status])
        self.swatches.set_colors(face.colors)
        self.landmark_item.set_points(face.landmarks)
        self._layout()

    def set_layers(self, layers: Layers) -> None:
        self.layers = layers
        self._layout()

    def set_selected(self, selected: bool, points: frozenset[int] = frozenset()) -> None:
        self.selected = selected
        self.setZValue(11 if selected else 10)
        self.landmark_item.set_selected(points if selected else frozenset())
        self._layout()

    def set_editable(self, editable: bool) -> None:
        self.editable = editable
        self.landmark_item.editable = editable
        self._layout()

    def zoom_changed(self) -> None:
        self.prepareGeometryChange()
        self.landmark_item.zoom_changed()

    def _layout(self) -> None:
        box = self.box
        self.tag.setPos(box.x, box.y)
        self.tag.setVisible(self.layers.labels)
        self.swatches.setPos(box.x2, box.y)
        self.swatches.setVisible(self.layers.swatches)
        self.landmark_item.show_points = self.layers.landmarks
        self.landmark_item.show_lines = self.layers.lines
        self.landmark_item.setVisible(self.layers.landmarks or self.layers.lines)
        self.landmark_item.update()
        show_handles = self.selected and self.editable and self.layers.boxes
        if show_handles and not self.handles:
            self.handles = [HandleItem(self, role) for role in ROLES]
        for handle in self.handles:
            fx, fy = handle.role
            handle.setPos(box.x + fx * box.w, box.y + fy * box.h)
            handle.setVisible(show_handles)
        self.update()

    # ------------------------------------------------------------ geometry and painting

    def _margin(self) -> float:
        return 4.0 / max(getattr(self.scene(), "view_scale", 1.0), 1e-3)

    def boundingRect(self) -> QRectF:
        rect = box_rect(self.box)
        parts = self.face.parts
        for part in (parts.left_eye, parts.right_eye, parts.mouth):
            if part is not None:
                rect = rect.united(box_rect(part))
        m = self._margin()
        return rect.adjusted(-m, -m, m, m)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(box_rect(self.box))
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = box_rect(self.box)
        if self.layers.boxes:
            pen = QPen(STATUS_COLORS[self.face.status], 3.0 if self.selected else 2.0)
            pen.setCosmetic(True)
            if self.face.source is FaceSource.HUMAN:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            if self.selected:
                halo = QPen(SELECTED_COLOR, 1.0, Qt.PenStyle.DotLine)
                halo.setCosmetic(True)
                painter.setPen(halo)
                m = self._margin()
                painter.drawRect(rect.adjusted(-m, -m, m, m))
        if self.layers.parts:
            self._paint_parts(painter)

    def _paint_parts(self, painter: QPainter) -> None:
        parts = self.face.parts
        pen = QPen(QColor("#c792ea"), 1.2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for part in (parts.left_eye, parts.right_eye, parts.mouth):
            if part is not None:
                painter.drawRect(box_rect(part))
        s = 5.0 / max(getattr(self.scene(), "view_scale", 1.0), 1e-3)
        solid = QPen(QColor("#c792ea"), 2.0)
        solid.setCosmetic(True)
        painter.setPen(solid)
        for point in (parts.nose, parts.chin):
            if point is not None:
                x, y = point
                painter.drawLine(QLineF(x - s, y, x + s, y))
                painter.drawLine(QLineF(x, y - s, x, y + s))

    # ------------------------------------------------------------ mouse: select, move, resize

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._scene_call("face_pressed", self.face_id)
        if self.editable:
            self._press = (event.scenePos(), self.box)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._press is None:
            return
        origin, start = self._press
        delta = event.scenePos() - origin
        if self.live_box is None and (event.screenPos() - event.buttonDownScreenPos(Qt.MouseButton.LeftButton)) \
                .manhattanLength() < QApplication.startDragDistance():
            return
        self.prepareGeometryChange()
        self.live_box = start.translated(delta.x(), delta.y())
        self._layout()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._press = None
        self.end_drag()

    def begin_resize(self) -> None:
        self._press = None
        self._resize_start = self.box

    def resize_live(self, role: tuple[float, float], pos: QPointF) -> None:
        start = getattr(self, "_resize_start", self.box)
        x1, y1, x2, y2 = start.x, start.y, start.x2, start.y2
        fx, fy = role
        if fx == 0:
            x1 = min(pos.x(), x2 - MIN_BOX)
        elif fx == 1:
            x2 = max(pos.x(), x1 + MIN_BOX)
        if fy == 0:
            y1 = min(pos.y(), y2 - MIN_BOX)
        elif fy == 1:
            y2 = max(pos.y(), y1 + MIN_BOX)
        self.prepareGeometryChange()
        self.live_box = Box(x1, y1, x2 - x1, y2 - y1)
        self._layout()

    def end_drag(self) -> None:
        """Hand a changed box to the scene (which pushes the command), then show the stored face again."""
        live, self.live_box = self.live_box, None
        if live is not None and live != self.face.box:
            self._scene_call("box_edited", self.face_id, live)
        self.prepareGeometryChange()
        self._layout()

    def points_pressed(self, indices: tuple[int, ...]) -> None:
        self._scene_call("points_pressed", self.face_id, indices)

    def landmarks_moving(self, points: tuple) -> None:
        self._scene_call("landmarks_moving", self.face_id, points)

    def landmarks_dragged(self, points: tuple) -> None:
        self._scene_call("landmarks_edited", self.face_id, points)
        self.landmark_item.set_points(self.face.landmarks)  # the stored state (updated by the command)

    def _scene_call(self, name: str, *args: object) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, name):
            getattr(scene, name)(*args)
