"""A face's part of its cut, kept for training instead of the whole cut.

A project's cuts are webtoon strips of tens of megapixels; a training run that kept each corrected or
adapted face's cut in memory would hold gigabytes for a few hundred faces. Each face keeps only the box with
one box side of margin all round (every training view's crop fits in it; box_crop reflects beyond), scaled
down so the box side is at most ``max_side`` pixels (the model crops 96 px from 1.5 box sides, so 128 px
loses nothing it would see). ``CutRegion`` maps points between the region's pixels and the cut's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_SIDE = 128


@dataclass(frozen=True)
class CutRegion:
    """Where a region's pixels sit in its cut: region = (cut - (x0, y0)) * (kx, ky)."""

    x0: float = 0.0
    y0: float = 0.0
    kx: float = 1.0
    ky: float = 1.0

    def from_cut(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, np.float64)[:, :2]
        return (p - (self.x0, self.y0)) * (self.kx, self.ky)

    def to_cut(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, np.float64)[:, :2]
        return p / (self.kx, self.ky) + (self.x0, self.y0)

    def box_from_cut(self, box) -> tuple[float, float, float, float]:
        x, y, w, h = (float(v) for v in box)
        return (x - self.x0) * self.kx, (y - self.y0) * self.ky, w * self.kx, h * self.ky

    def box_to_cut(self, box) -> tuple[float, float, float, float]:
        x, y, w, h = (float(v) for v in box)
        return x / self.kx + self.x0, y / self.ky + self.y0, w / self.kx, h / self.ky


def region_bounds(box) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), slice bounds of the box with one box side of margin all round (x0, y0 at least 0;
    slicing clips the far side)."""
    x, y, w, h = (float(v) for v in box)
    return max(0, int(x - w)), max(0, int(y - h)), int(x + 2 * w) + 1, int(y + 2 * h) + 1


def cut_region(pixels: np.ndarray, box, max_side: int = MAX_SIDE) -> tuple[np.ndarray, CutRegion]:
    """(the region's own pixels, where they sit in the cut) for a face ``box`` (x, y, w, h) of ``pixels``."""
    w, h = float(box[2]), float(box[3])
    x0, y0, x1, y1 = region_bounds(box)
    region = pixels[y0:y1, x0:x1]
    kx = ky = 1.0
    k = max_side / max(w, h, 1.0)
    if k < 1.0:  # cv2.resize returns a new array
        size = (max(1, round(region.shape[1] * k)), max(1, round(region.shape[0] * k)))
        kx, ky = size[0] / region.shape[1], size[1] / region.shape[0]  # exact after rounding to whole pixels
        region = cv2.resize(np.ascontiguousarray(region), size, interpolation=cv2.INTER_AREA)
    else:
        region = region.copy()  # a slice is a view: it would keep the whole cut alive
    return region, CutRegion(float(x0), float(y0), kx, ky)


IN_PLACE = CutRegion()  # a sample whose pixels are the picture itself (synthetic faces)
