"""Screen-size decorations of a face box: the score/id tag and the colour swatches."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from f2a_studio.core.models import Colors

SWATCH_PX = 12
_FONT = QFont()
_FONT.setPixelSize(11)
_FONT.setBold(True)


class TagItem(QGraphicsItem):
    """A pill above the box's top-left corner: `0.87 · #12 · F`."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.text = ""
        self.color = QColor("#ffb020")
        self._rect = QRectF()

    def set_text(self, text: str, color: QColor) -> None:
        self.prepareGeometryChange()
        self.text = text
        self.color = color
        width = QFontMetrics(_FONT).horizontalAdvance(text) + 10
        self._rect = QRectF(0, -18, width, 16)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawRoundedRect(self._rect, 4, 4)
        painter.setFont(_FONT)
        painter.setPen(QColor("#111111"))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class SwatchItem(QGraphicsItem):
    """Four squares right of the box's top-right corner: skin, hair, image-left eye, image-right eye."""

    ORDER = ("skin", "hair", "left_eye", "right_eye")

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.colors = Colors()

    def set_colors(self, colors: Colors) -> None:
        self.colors = colors
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(3, 0, SWATCH_PX + 2, 4 * (SWATCH_PX + 2) + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        for k, name in enumerate(self.ORDER):
            value = getattr(self.colors, name)
            rect = QRectF(4, 1 + k * (SWATCH_PX + 2), SWATCH_PX, SWATCH_PX)
            painter.setPen(QPen(QColor("#202020"), 1))
            if value:
                painter.setBrush(QColor(value))
                painter.drawRect(rect)
            else:  # unknown colour: an empty square with a slash
                painter.setBrush(QColor("#ffffff"))
                painter.drawRect(rect)
                painter.drawLine(rect.bottomLeft(), rect.topRight())
