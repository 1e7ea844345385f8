"""Resize handles of a selected face box: eight squares of constant screen size."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from f2a_studio.gui.canvas.layers import HANDLE_PX

# (fx, fy): where on the box the handle sits, 0 = left/top, 0.5 = middle, 1 = right/bottom
ROLES: tuple[tuple[float, float], ...] = (
    (0, 0), (0.5, 0), (1, 0), (1, 0.5), (1, 1), (0.5, 1), (0, 1), (0, 0.5),
)
_CURSORS = {
    (0, 0): Qt.CursorShape.SizeFDiagCursor, (1, 1): Qt.CursorShape.SizeFDiagCursor,
    (1, 0): Qt.CursorShape.SizeBDiagCursor, (0, 1): Qt.CursorShape.SizeBDiagCursor,
    (0.5, 0): Qt.CursorShape.SizeVerCursor, (0.5, 1): Qt.CursorShape.SizeVerCursor,
    (0, 0.5): Qt.CursorShape.SizeHorCursor, (1, 0.5): Qt.CursorShape.SizeHorCursor,
}


class HandleItem(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem, role: tuple[float, float]) -> None:
        super().__init__(parent)
        self.role = role
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setCursor(_CURSORS[role])
        self.setZValue(5)

    def boundingRect(self) -> QRectF:
        h = HANDLE_PX
        return QRectF(-h / 2 - 1, -h / 2 - 1, h + 2, h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        h = HANDLE_PX
        painter.setPen(QPen(QColor("#1b1b1b"), 1))
        painter.setBrush(QColor("#ffffff"))
        painter.drawRect(QRectF(-h / 2, -h / 2, h, h))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.parentItem().begin_resize()  # type: ignore[union-attr]
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.parentItem().resize_live(self.role, event.scenePos())  # type: ignore[union-attr]

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.parentItem().end_drag()  # type: ignore[union-attr]
