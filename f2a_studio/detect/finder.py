"""Run a face finder over every tile of every scale and bring the hits back to image pixels.

Merging (NMS) happens after calibration, in analyze.py, because the merge keeps the best *calibrated*
hit (across finders), not the one a finder likes most.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from f2a_studio.core.models import Box, Parts, Point
from f2a_studio.detect.finders.base import FinderHit
from f2a_studio.detect.guide import Window, window_tiles
from f2a_studio.detect.tiling import ScaleBand, Tile, default_bands, plan_tiles

Detector = Callable[[np.ndarray], list[FinderHit]]


@dataclass
class FindResult:
    hits: list[FinderHit] = field(default_factory=list)
    tiles: int = 0
    skipped_tiles: int = 0  # up-scaled tiles left out because the time budget ran out


def map_hit(hit: FinderHit, to_image: Callable[[Box], Box]) -> FinderHit:
    """Tile-scaled pixels → image pixels with `to_image(Box) -> Box` (a Tile's method)."""

    def box(b: Box | None) -> Box | None:
        return to_image(b) if b is not None else None

    def point(p: Point | None) -> Point | None:
        if p is None:
            return None
        q = to_image(Box(p[0], p[1], 0.0, 0.0))
        return (q.x, q.y)

    p = hit.parts
    parts = Parts(box(p.left_eye), box(p.right_eye), box(p.mouth), point(p.nose), point(p.chin))
    return replace(hit, box=to_image(hit.box), parts=parts)


def _default_detector() -> Detector:
    from f2a_studio.detect.finders import FINDERS

    finder = FINDERS["animeface"]()
    return finder.find


def find_raw(
    pixels: np.ndarray,
    *,
    min_face_px: float = 24.0,
    bands: list[ScaleBand] | None = None,
    detect: Detector | None = None,
    budget_s: float | None = None,
    small_windows: Sequence[Window] | None = None,
    coarse_windows: Sequence[Window] | None = None,
) -> FindResult:
    """Every acceptable hit of `detect` (default: the animeface finder) on every tile, in image pixels,
    not yet merged.

    The native and coarse passes always run; the up-scaled small-face pass (4x the pixels, and slow on
    screentone) runs last and tile by tile only while `budget_s` seconds have not passed, so a huge
    textured strip yields its normal-size faces instead of hitting the hard time limit with nothing.

    `small_windows` (image pixels, detect/guide.py): the up-scaled pass looks only inside these instead
    of over the whole image (None: the whole image; empty: nowhere); `coarse_windows` the same for the
    half-size (scale < 1) pass.
    """
    detect = detect or _default_detector()
    start = time.monotonic()
    height, width = pixels.shape[:2]
    bands = bands if bands is not None else default_bands(width, height, min_face_px)
    bands = sorted(bands, key=lambda b: (b.scale > 1.0, -b.scale))  # native, coarse, then up-scaled
    result = FindResult()
    for tile in _tiles(width, height, bands, small_windows, coarse_windows):
        result.tiles += 1
        if tile.scale > 1.0 and budget_s is not None and time.monotonic() - start > budget_s:
            result.skipped_tiles += 1
            continue
        crop = pixels[tile.y0 : tile.y1, tile.x0 : tile.x1, :3]
        if tile.scale != 1.0:
            interp = cv2.INTER_CUBIC if tile.scale > 1.0 else cv2.INTER_AREA
            crop = cv2.resize(crop, tile.scaled_size, interpolation=interp)
        for hit in detect(np.ascontiguousarray(crop)):
            mapped = map_hit(hit, tile.to_image)
            if tile.accepts(mapped.box):
                result.hits.append(mapped)
    return result


def _tiles(width: int, height: int, bands: list[ScaleBand], small_windows: Sequence[Window] | None,
           coarse_windows: Sequence[Window] | None) -> list[Tile]:
    out: list[Tile] = []
    for band in bands:
        windows = small_windows if band.scale > 1.0 else coarse_windows if band.scale < 1.0 else None
        if windows is None:
            out.extend(plan_tiles(width, height, [band]))
        else:
            out.extend(window_tiles(windows, band, width, height))
    return out


def find_whole(pixels: np.ndarray, detect: Detector) -> FindResult:
    """A finder that handles every scale itself (`tiled = False`) sees the whole image once."""
    return FindResult(list(detect(np.ascontiguousarray(pixels[:, :, :3]))), tiles=1)


def single_pass(pixels: np.ndarray, detect: Detector | None = None) -> list[FinderHit]:
    """One finder (default animeface) once on the whole image, as the seed ran it (the benchmark's baseline)."""
    return (detect or _default_detector())(np.ascontiguousarray(pixels[:, :, :3]))
