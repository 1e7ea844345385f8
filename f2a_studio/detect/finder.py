"""Run the detector over every tile of every scale and bring the hits back to image pixels.

Merging (NMS) happens after calibration, in analyze.py, because the merge keeps the best *calibrated*
hit, not the one animeface likes most.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from f2a_studio.detect.animeface_backend import RawFace, detect_raw
from f2a_studio.detect.tiling import ScaleBand, default_bands, plan_tiles

Detector = Callable[[np.ndarray], list[RawFace]]


@dataclass
class FindResult:
    hits: list[RawFace] = field(default_factory=list)
    tiles: int = 0
    skipped_tiles: int = 0  # up-scaled tiles left out because the time budget ran out


def find_raw(
    pixels: np.ndarray,
    *,
    min_face_px: float = 24.0,
    bands: list[ScaleBand] | None = None,
    detect: Detector = detect_raw,
    budget_s: float | None = None,
) -> FindResult:
    """Every acceptable hit on every tile, in image pixels, not yet merged.

    The native and coarse passes always run; the up-scaled small-face pass (4x the pixels, and slow on
    screentone) runs last and tile by tile only while `budget_s` seconds have not passed, so a huge
    textured strip yields its normal-size faces instead of hitting the hard time limit with nothing.
    """
    start = time.monotonic()
    height, width = pixels.shape[:2]
    bands = bands if bands is not None else default_bands(width, height, min_face_px)
    bands = sorted(bands, key=lambda b: (b.scale > 1.0, -b.scale))  # native, coarse, then up-scaled
    result = FindResult()
    for tile in plan_tiles(width, height, bands):
        result.tiles += 1
        if tile.scale > 1.0 and budget_s is not None and time.monotonic() - start > budget_s:
            result.skipped_tiles += 1
            continue
        crop = pixels[tile.y0 : tile.y1, tile.x0 : tile.x1, :3]
        if tile.scale != 1.0:
            interp = cv2.INTER_CUBIC if tile.scale > 1.0 else cv2.INTER_AREA
            crop = cv2.resize(crop, tile.scaled_size, interpolation=interp)
        for hit in detect(np.ascontiguousarray(crop)):
            mapped = replace(hit.mapped(tile.to_image), scale=tile.scale)
            if tile.accepts(mapped.box):
                result.hits.append(mapped)
    return result


def single_pass(pixels: np.ndarray, detect: Detector = detect_raw) -> list[RawFace]:
    """animeface once on the whole image, as the seed ran it (the benchmark's baseline)."""
    return detect(np.ascontiguousarray(pixels[:, :, :3]))
