"""The cut itself: draws only the exposed part, from the mip level that matches the zoom.

Without a decoded image (still loading, missing file, corrupt file) it draws a hatched placeholder of
the cut's recorded size, so faces keep their places and the user sees what is wrong.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from f2a_studio.gui.image_cache import CachedImage


class ImageItem(QGraphicsItem):
    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self._rect = QRectF(0, 0, width, height)
        self.entry: CachedImage | None = None
        self.message = ""  # empty while loading; the reason when the cut cannot be shown
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(0)

    def set_entry(self, entry: CachedImage | None) -> None:
        self.entry = entry if entry is not None and entry.ok else None
        if entry is not None and not entry.ok:
            self.message = entry.error or "cannot show this cut"
        self.update()

    def set_message(self, message: str) -> None:
        self.entry = None
        self.message = message
        self.update()

    @property
    def is_placeholder(self) -> bool:
        return self.entry is None

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = option.exposedRect.intersected(self._rect)
        if exposed.isEmpty():
            return
        if self.entry is None:
            self._paint_placeholder(painter, exposed)
            return
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        levels = self.entry.levels
        # The smallest level that still has at least one source pixel per screen pixel.
        k = 0 if scale <= 0 else min(len(levels) - 1, max(0, math.floor(-math.log2(max(scale, 1e-6)))))
        image = levels[k]
        fx = image.width() / self._rect.width()
        fy = image.height() / self._rect.height()
        source = QRectF(exposed.x() * fx, exposed.y() * fy, exposed.width() * fx, exposed.height() * fy)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale * (1 << k) < 1.0)
        painter.drawImage(exposed, image, source)

    def _paint_placeholder(self, painter: QPainter, exposed: QRectF) -> None:
        painter.fillRect(exposed, QColor("#6b6f76"))
        if not self.message:  # still decoding (a few frames at most): a plain, cheap fill
            return
        painter.fillRect(exposed, QBrush(QColor("#7d828a"), Qt.BrushStyle.BDiagPattern))
        painter.setPen(QPen(QColor("#ff6b6b"), 0))
        painter.drawRect(self._rect)
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        font = QFont()
        font.setPixelSize(max(6, int(18 / max(lod, 1e-3))))
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
