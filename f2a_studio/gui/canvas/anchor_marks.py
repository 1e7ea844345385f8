"""The anchors placed so far, drawn unlike any landmark: a magenta ring with a cross and the anchor's number,
the same size on screen at every zoom (ItemIgnoresTransformations), above the faces. Anchors from an earlier
session have a dashed ring: the person sees what they did before and what they place now."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

RADIUS_PX = 9.0
_RING = QColor("#ff2bd6")
_RIM = QColor("#ffffff")


class AnchorMark(QGraphicsItem):
    def __init__(self, number: int, pos: tuple[float, float], *, earlier: bool = False) -> None:
        super().__init__()
        self.number = number
        self.earlier = earlier
        self.setPos(QPointF(*pos))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the anchor mode, not to us
        self.setZValue(50)

    def boundingRect(self) -> QRectF:
        r = RADIUS_PX + 3
        return QRectF(-r, -r, 2 * r + 16, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for color, width in ((_RIM, 4.0), (_RING, 2.2)):
            pen = QPen(color, width)
            if self.earlier:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(0, 0), RADIUS_PX, RADIUS_PX)
            painter.drawLine(QPointF(-RADIUS_PX - 2, 0), QPointF(-3, 0))
            painter.drawLine(QPointF(3, 0), QPointF(RADIUS_PX + 2, 0))
            painter.drawLine(QPointF(0, -RADIUS_PX - 2), QPointF(0, -3))
            painter.drawLine(QPointF(0, 3), QPointF(0, RADIUS_PX + 2))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setPen(QPen(_RIM, 1))
        painter.drawText(QPointF(RADIUS_PX + 3, -RADIUS_PX + 3), str(self.number))
        painter.setPen(QPen(_RING, 1))
        painter.drawText(QPointF(RADIUS_PX + 2, -RADIUS_PX + 2), str(self.number))
