"""The 68 landmarks of one face: group polylines in the iBUG group colours, points by visibility.

One item paints all 68 points (68 child items would make a drag repaint-heavy). A press near a point
grabs it; Shift grabs its whole group (an eye, the jaw...), Ctrl all 68. Points move live while
dragging; on release the face item hands the new landmarks to the scene, which pushes one command.
Visible points are filled, occluded (v=1) ones hollow and dashed, unlabelled (v=0) ones a grey cross.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from f2a_studio.core.ibug68 import GROUPS, group_of
from f2a_studio.gui.canvas.layers import GROUP_COLORS, HIT_RADIUS_PX, POINT_GROUP, POINT_RADIUS_PX

Landmarks = tuple[tuple[float, float, int], ...]


def _cosmetic(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen


_LINE_PENS = [_cosmetic(c, 1.6) for c in GROUP_COLORS]
_OUTLINE = QColor("#1b1b1b")
_RING_PEN = _cosmetic(QColor("#ffffff"), 2.0)
_UNLABELLED_PEN = _cosmetic(QColor("#9a9a9a"), 1.2)


_DOTS: dict[tuple[int, float, float], tuple[QPixmap, float]] = {}


def _dot(group: int, radius_px: float, dpr: float) -> tuple[QPixmap, float]:
    """A filled dot in the group's colour with a dark rim, `radius_px` device pixels; (pixmap, half size)."""
    key = (group, radius_px, dpr)
    if key not in _DOTS:
        size = 2 * radius_px + 3
        pixmap = QPixmap(round(size * dpr), round(size * dpr))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(_OUTLINE, 1.0))
        p.setBrush(GROUP_COLORS[group])
        p.drawEllipse(QPointF(size / 2, size / 2), radius_px, radius_px)
        p.end()
        _DOTS[key] = (pixmap, size / 2)
    return _DOTS[key]


class LandmarkItem(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.points: Landmarks = ()
        self.selected: frozenset[int] = frozenset()
        self.show_points = True
        self.show_lines = True
        self.editable = True
        self._rect = QRectF()
        self._polygons: tuple[list[QPolygonF], list[QPolygonF]] | None = None
        self._drag: tuple[QPointF, Landmarks, tuple[int, ...]] | None = None
        self._moved = False
        self.setZValue(2)

    # ------------------------------------------------------------ state

    def set_points(self, points: Landmarks) -> None:
        self.prepareGeometryChange()
        self.points = tuple(points)
        self._rect = self._bounds()
        # Per group: its polyline, and its points split by visibility (drawn in batches, not one by one).
        self._polygons = None  # built on first paint: most faces of a tall strip are off screen
        self.update()

    def _build_polygons(self) -> tuple[list[QPolygonF], list[QPolygonF]]:
        """Per group: its polyline, and its visible points (drawn in one call, not one by one)."""
        pts = self.points
        lines = [QPolygonF([QPointF(pts[i][0], pts[i][1]) for i in g.indices]) for g in GROUPS]
        visible = [QPolygonF([QPointF(pts[i][0], pts[i][1]) for i in g.indices if pts[i][2] == 2]) for g in GROUPS]
        self._polygons = (lines, visible)
        return self._polygons

    def set_selected(self, indices: frozenset[int]) -> None:
        self.selected = indices
        self.update()

    def _scale(self) -> float:
        scene = self.scene()
        return getattr(scene, "view_scale", 1.0) if scene is not None else 1.0

    def _bounds(self) -> QRectF:
        if not self.points:
            return QRectF()
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        margin = (HIT_RADIUS_PX + 2) / max(self._scale(), 1e-3)
        return QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)).adjusted(-margin, -margin, margin, margin)

    def zoom_changed(self) -> None:
        self.prepareGeometryChange()
        self._rect = self._bounds()

    def boundingRect(self) -> QRectF:
        return self._rect

    # ------------------------------------------------------------ painting

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self.points:
            return
        lod = max(option.levelOfDetailFromTransform(painter.worldTransform()), 1e-3)
        lines, visible = self._polygons or self._build_polygons()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.show_lines:
            for k, group in enumerate(GROUPS):
                painter.setPen(_LINE_PENS[k])
                if group.closed:
                    painter.drawPolygon(lines[k])
                else:
                    painter.drawPolyline(lines[k])
        if not self.show_points:
            return
        # Points shrink on small faces so 68 of them never hide the drawing (1.5–3.5 px on screen).
        xs = [p[0] for p in self.points]
        r_px = round(2 * max(1.5, min(POINT_RADIUS_PX, (max(xs) - min(xs)) * lod / 45))) / 2
        # Visible points: blit a pre-drawn dot per point in device pixels (rasterising ~400 antialiased
        # circles per frame costs more than the rest of the canvas together).
        transform = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        for k in range(len(GROUPS)):
            sprite, half = _dot(k, r_px, painter.device().devicePixelRatioF())
            for p in transform.map(visible[k]):
                painter.drawPixmap(QPointF(p.x() - half, p.y() - half), sprite)
        painter.restore()
        r = r_px / lod
        for i, (x, y, v) in enumerate(self.points):
            if v == 2 and i not in self.selected:
                continue
            centre = QPointF(x, y)
            if v == 1:  # occluded: a dashed ring
                pen = QPen(GROUP_COLORS[POINT_GROUP[i]], 1.5, Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawEllipse(centre, r * 1.2, r * 1.2)
            elif v == 0:  # not labelled: a grey cross
                painter.setPen(_UNLABELLED_PEN)
                painter.drawLine(QPointF(x - r, y - r), QPointF(x + r, y + r))
                painter.drawLine(QPointF(x - r, y + r), QPointF(x + r, y - r))
            if i in self.selected:
                painter.setPen(_RING_PEN)
                painter.drawEllipse(centre, r * 1.9, r * 1.9)

    # ------------------------------------------------------------ picking and dragging

    def point_at(self, pos: QPointF) -> int | None:
        """Index of the nearest point within the hit radius (screen pixels) of `pos`, or None."""
        if not self.points or not self.show_points:
            return None
        limit = (HIT_RADIUS_PX / max(self._scale(), 1e-3)) ** 2
        best, best_d = None, limit
        for i, (x, y, _) in enumerate(self.points):
            d = (x - pos.x()) ** 2 + (y - pos.y()) ** 2
            if d <= best_d:
                best, best_d = i, d
        return best

    def indices_for(self, index: int, modifiers: Qt.KeyboardModifier) -> tuple[int, ...]:
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            return tuple(range(68))
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            return group_of(index).indices
        if index in self.selected and len(self.selected) > 1:
            return tuple(sorted(self.selected))  # drag the current multi-selection as one
        return (index,)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        index = self.point_at(event.pos()) if event.button() == Qt.MouseButton.LeftButton else None
        if index is None:
            event.ignore()
            return
        indices = self.indices_for(index, event.modifiers())
        self.parentItem().points_pressed(indices)  # type: ignore[union-attr]
        if self.editable:
            self._drag = (event.pos(), self.points, indices)
            self._moved = False
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            return
        origin, start, indices = self._drag
        dx, dy = event.pos().x() - origin.x(), event.pos().y() - origin.y()
        moved = list(start)
        for i in indices:
            x, y, v = start[i]
            moved[i] = (x + dx, y + dy, v)
        self._moved = True
        self.set_points(tuple(moved))
        self.parentItem().landmarks_moving(self.points)  # type: ignore[union-attr]  # the live preview follows

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is not None and self._moved and self.points != drag[1]:
            self.parentItem().landmarks_dragged(self.points)  # type: ignore[union-attr]
