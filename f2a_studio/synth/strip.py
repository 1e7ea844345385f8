"""Tall webtoon strips: panels stacked vertically with uniform gutter rows between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from f2a_studio.synth.face import Character
from f2a_studio.synth.scene import make_panel
from f2a_studio.synth.styles import DrawStyle
from f2a_studio.synth.truth import FaceTruth

GUTTER_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 255),
    (0, 0, 0),
    (250, 248, 244),
    (236, 240, 246),
)
GUTTER_WEIGHTS = (0.8, 0.08, 0.07, 0.05)


@dataclass
class Strip:
    """A strip image (HxWx3 uint8 RGB), the truth of its faces in strip pixels and the panels' boxes
    ``(x, y, w, h)``. Every row outside the panels is exactly ``gutter`` (the colour of the strip)."""

    image: np.ndarray
    faces: list[FaceTruth] = field(default_factory=list)
    panel_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    gutter: tuple[int, int, int] = (255, 255, 255)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def gutter_rows(self) -> list[tuple[int, int]]:
        """``[y0, y1)`` row ranges between (and around) the panels."""
        rows, y = [], 0
        for _, py, _, ph in sorted(self.panel_boxes, key=lambda b: b[1]):
            if py > y:
                rows.append((y, py))
            y = py + ph
        if y < self.height:
            rows.append((y, self.height))
        return rows


def make_strip(
    rng: np.random.Generator,
    width: int = 690,
    n_panels: int | None = None,
    cast: Sequence[Character] | None = None,
    style: str | DrawStyle = "anime",
) -> Strip:
    """A NAVER-style episode strip: ``n_panels`` (default 5-9) panels of varied heights separated by
    gutters of 40-200 uniform rows; panels are full width or inset with side margins of the gutter colour.
    ``style`` names the drawing style (:data:`~f2a_studio.synth.styles.STYLES`), one per strip like a title."""
    if n_panels is None:
        n_panels = int(rng.integers(5, 10))
    gutter = GUTTER_COLORS[int(rng.choice(len(GUTTER_COLORS), p=GUTTER_WEIGHTS))]
    top = int(rng.integers(40, 201))
    pieces: list[tuple[int, int, np.ndarray]] = []  # x, y, panel image
    faces: list[FaceTruth] = []
    boxes: list[tuple[int, int, int, int]] = []
    y = top
    for _ in range(n_panels):
        full = rng.random() < 0.45
        margin = 0 if full else int(rng.integers(10, max(11, width // 8)))
        pw = width - 2 * margin
        ph = int(rng.integers(280, 900))
        panel = make_panel(rng, pw, ph, cast=cast, style=style)
        pieces.append((margin, y, panel.image))
        boxes.append((margin, y, pw, ph))
        faces.extend(f.translated(margin, y) for f in panel.faces)
        y += ph + int(rng.integers(40, 201))
    height = y  # the last gutter is the bottom margin
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = gutter
    for x, py, pimg in pieces:
        image[py : py + pimg.shape[0], x : x + pimg.shape[1]] = pimg
    return Strip(image, faces, boxes, gutter)
