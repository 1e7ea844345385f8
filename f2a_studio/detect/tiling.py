"""Where to look: overlapping tiles at several scales, so every face of every size is seen whole once.

animeface finds faces from about 40 px up; webtoon faces run from ~24 px to several hundred. Each scale
is responsible for a band of face sizes (in *scaled* pixels, ``min_face..max_face``); its tiles overlap by
more than ``max_face``, so every face of that band lies entirely inside at least one tile, and a detection
touching an inner tile edge can be thrown away (its neighbour saw it whole).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from f2a_studio.core.models import Box

DETECTOR_MIN_FACE = 40.0  # smallest face (scaled px) animeface finds reliably; measured on synthetic faces


@dataclass(frozen=True)
class ScaleBand:
    """One pass: resize by `scale`, cut tiles of `tile` px overlapping by `overlap`, keep faces whose
    scaled size is within [min_face, max_face]."""

    scale: float
    tile: int
    overlap: int
    min_face: float
    max_face: float


@dataclass(frozen=True)
class Tile:
    """A window of the original image (integer pixels) and the scale it is examined at."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float
    band: ScaleBand
    # which sides are inner edges (shared with a neighbour tile), in order left, top, right, bottom
    inner: tuple[bool, bool, bool, bool]

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def scaled_size(self) -> tuple[int, int]:
        return max(1, round(self.width * self.scale)), max(1, round(self.height * self.scale))

    def to_image(self, box: Box) -> Box:
        """A box in this tile's scaled pixels → original image pixels."""
        sx = self.width / self.scaled_size[0]
        sy = self.height / self.scaled_size[1]
        return Box(self.x0 + box.x * sx, self.y0 + box.y * sy, box.w * sx, box.h * sy)

    def accepts(self, box: Box, *, margin: float = 2.0) -> bool:
        """Is a detection (original pixels) whole and of this band's size? Boxes touching an inner edge
        are cut faces; the overlapping neighbour sees them whole."""
        size = max(box.w, box.h) * self.scale
        # faces above max_face may still be whole in this tile (the inner-edge test below decides);
        # far above it they are better seen at a coarser scale
        if not (self.band.min_face * 0.8 <= size <= self.band.max_face * 2):
            return False
        m = margin / self.scale
        left, top, right, bottom = self.inner
        if left and box.x <= self.x0 + m:
            return False
        if top and box.y <= self.y0 + m:
            return False
        if right and box.x2 >= self.x1 - m:
            return False
        return not (bottom and box.y2 >= self.y1 - m)


def default_bands(width: int, height: int, min_face_px: float = 24.0) -> list[ScaleBand]:
    """The passes for an image: an up-scaled pass for faces too small for animeface, the native pass,
    and a half-size pass that sees large faces whole and cheaply.

    Tiles are large (the per-call overhead of animeface is real) and overlap by the largest face each
    band is responsible for; the half-size pass takes faces of any size.
    """
    up = max(1.0, min(3.0, DETECTOR_MIN_FACE * 1.2 / max(1.0, min_face_px)))
    bands = []
    if up > 1.01:
        bands.append(ScaleBand(up, tile=3072, overlap=int(130 * up) + 40, min_face=DETECTOR_MIN_FACE,
                               max_face=130 * up))
    bands.append(ScaleBand(1.0, tile=3072, overlap=340, min_face=DETECTOR_MIN_FACE, max_face=300))
    if min(width, height) >= 4 * DETECTOR_MIN_FACE:
        bands.append(ScaleBand(0.5, tile=3072, overlap=600, min_face=DETECTOR_MIN_FACE, max_face=560))
    # the coarsest pass takes faces of any size (a tile's inner edges still reject cut ones)
    last = bands[-1]
    bands[-1] = ScaleBand(last.scale, last.tile, max(last.overlap, min(width, height) * last.scale), last.min_face,
                          math.inf)
    return bands


def plan_tiles(width: int, height: int, bands: list[ScaleBand]) -> list[Tile]:
    """All tiles of all bands for a `width`×`height` image."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    tiles: list[Tile] = []
    for band in bands:
        # tile size and overlap in original pixels for this scale
        size = band.tile / band.scale
        overlap = min(band.overlap / band.scale, size * 0.9)
        w_tile, h_tile = _tight(width, size, overlap), _tight(height, size, overlap)
        xs = _starts(width, w_tile, overlap)
        ys = _starts(height, h_tile, overlap)
        for j, y0 in enumerate(ys):
            for i, x0 in enumerate(xs):
                x1 = min(width, x0 + math.ceil(w_tile))
                y1 = min(height, y0 + math.ceil(h_tile))
                inner = (i > 0, j > 0, i < len(xs) - 1, j < len(ys) - 1)
                tiles.append(Tile(x0, y0, x1, y1, band.scale, band, inner))
    return tiles


def _tight(length: int, size: float, overlap: float) -> float:
    """The shortest tile side that covers `length` with as many tiles as `size` needs and neighbours
    overlapping by exactly `overlap`. Full-size tiles spread evenly overlap by far more than asked (a
    4160 px strip in two 3072 px tiles: 1984 px, 48 % more pixels looked at than the strip has); the
    detector's time goes with the pixels it sees (benchmarks/speed_bench.py)."""
    if length <= size:
        return float(length)
    n = math.ceil((length - size) / (size - overlap)) + 1
    return min(size, (length + (n - 1) * overlap) / n)


def _starts(length: int, size: float, overlap: float) -> list[int]:
    """Start offsets of windows of `size` covering [0, length) with at least `overlap` between
    neighbours, spread evenly (the last window ends exactly at the far edge)."""
    if length <= size:
        return [0]
    stride = size - overlap
    n = math.ceil((length - size) / stride) + 1
    step = (length - size) / (n - 1)
    return [round(k * step) for k in range(n)]
