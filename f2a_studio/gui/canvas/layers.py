"""Which overlay layers are drawn, and the overlay palette (status colours, sizes in screen pixels)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QColor

from f2a_studio.core.ibug68 import GROUPS
from f2a_studio.core.models import FaceStatus


@dataclass(frozen=True)
class Layers:
    boxes: bool = True
    labels: bool = True  # score + id tag on each box
    parts: bool = False  # detector eye/mouth boxes, nose/chin points
    landmarks: bool = True  # the 68 points
    lines: bool = True  # iBUG group polylines
    swatches: bool = True  # skin / hair / eye colours beside each face

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


LAYER_TITLES = {
    "boxes": "Face boxes",
    "labels": "Score labels",
    "parts": "Parts (eyes, nose, mouth, chin)",
    "landmarks": "Landmark points",
    "lines": "Landmark group lines",
    "swatches": "Colour swatches",
}

STATUS_COLORS = {
    FaceStatus.UNREVIEWED: QColor("#ffb020"),
    FaceStatus.ACCEPTED: QColor("#2ecc71"),
    FaceStatus.REJECTED: QColor("#ff4d4f"),
}
SELECTED_COLOR = QColor("#35a7ff")
GROUP_COLORS = [QColor(g.color) for g in GROUPS]
POINT_GROUP = [0] * 68
for _k, _g in enumerate(GROUPS):
    for _i in _g.indices:
        POINT_GROUP[_i] = _k

POINT_RADIUS_PX = 3.5
HIT_RADIUS_PX = 8.0
HANDLE_PX = 8.0
