"""Where the up-scaled (small-face) and half-size (large-face) passes look: windows around the learned
finder's proposals.

The up-scaled animeface pass sees 4x the pixels and costs about two thirds of the whole pipeline
(benchmarks/speed_bench.py: 3.8 of 5.8 s/MP). Its only job is faces too small for the native pass, and
the learned finder (0.1 s/MP) already proposes faces of every size. So the up-scaled pass runs only on
windows around the learned finder's small proposals (a few times the proposal's size, merged where
they overlap), not on the whole image. Windows are in original image pixels; a window that does not
reach the image border has inner edges on that side (a face cut there is refused, as on a tile).

The half-size pass is cheaper (a quarter of the pixels) but on a strip it still costs a fifth of all the
animeface time for nothing: its faces are the large ones, and what it adds on real pages lies around the
learned finder's proposals of 100 px and more (GuideOptions.coarse_min_face).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from f2a_studio.detect.tiling import ScaleBand, Tile

Proposal = tuple[float, float, float, float, float]  # x, y, w, h, raw score (learned_finder.find_boxes)


@dataclass(frozen=True)
class GuideOptions:
    """Which proposals open a window and how large. Chosen by replaying cached per-scale hits on 3
    synthetic strips and 35 devset pictures: with these values the guided pass kept every face the full
    pass found at threshold 0.3 on both (strips 74/75, devset 14/122 — the same faces), looking at 11 %
    (strips) and 29 % (devset) of the image area. A peak of 0.1 lost one devset face (area 15 %); windows
    of 3x / 128 px around proposals up to 120 px cost 18 % / 46 % for no more faces.
    Session 6 replayed every tile's hits on all 39 devset pictures and 4 strips: proposals up to 45 px
    (not 80) keep the same true faces (devset 55, strips 52), drop 4 of 11 false alarms, and cut the
    up-scaled pass's cost on the devset from ~1.0 to ~0.2 of one animeface pass (40 px lost a face).
    But a real window is a small crop, not a tile: a 50 px strip face the native pass misses was found only
    with its own window, so confident proposals (raw ≥ 0.5; rare on real pages, where the learned finder's
    confident false alarms are large) open windows up to 64 px: no cost on the devset replay."""

    min_score: float = 0.05  # the learned finder's raw peak; lower opens more windows
    max_face: float = 45.0  # proposals larger than this (original px) are left to the native pass ...
    confident_score: float = 0.5  # ... unless at least this sure ...
    confident_max_face: float = 64.0  # ... and at most this large
    context: float = 2.5  # window side = context × the proposal's longer side ...
    min_side: float = 112.0  # ... but at least this (original px)
    # The half-size pass, replayed the same way (session 7, its hits cached per picture): windows of 2.5×
    # around proposals of 100 px and more kept all four devset faces it adds to the other passes (a
    # 160 px face it alone finds had a 109 px proposal: 120 px lost it) and cut its cost on 4 synthetic
    # strips from 2.6 s to 0.5 s; on the devset, where large proposals are everywhere, it costs the same.
    coarse_min_face: float | None = 100.0  # None: the half-size pass covers the whole image
    coarse_context: float = 2.5
    # Windows covering at least this share of the image: the whole image instead (as cheap, and on a
    # panel-filling face a window's crop made the half-size pass keep another, smaller box).
    coarse_whole_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be within 0..1, got {self.min_score}")
        if not 0.0 <= self.confident_score <= 1.0:
            raise ValueError(f"confident_score must be within 0..1, got {self.confident_score}")
        if self.max_face <= 0 or self.confident_max_face <= 0 or self.context < 1.0 or self.min_side <= 0:
            raise ValueError(f"bad guide window sizes: max_face={self.max_face}, context={self.context}, "
                             f"min_side={self.min_side}")
        if (self.coarse_min_face is not None and self.coarse_min_face <= 0) or self.coarse_context < 1.0 \
                or not 0.0 < self.coarse_whole_share <= 1.0:
            raise ValueError(f"bad half-size window sizes: coarse_min_face={self.coarse_min_face}, "
                             f"coarse_context={self.coarse_context}, coarse_whole_share={self.coarse_whole_share}")


Window = tuple[int, int, int, int]  # x0, y0, x1, y1 in original pixels


def proposal_windows(proposals: Iterable[Proposal], width: int, height: int,
                     options: GuideOptions | None = None) -> list[Window]:
    """Square windows around the small proposals, clipped to the image, merged where they overlap (one
    animeface call per merged window, and no face examined twice)."""
    options = options or GuideOptions()
    boxes: list[list[float]] = []
    for x, y, w, h, score in proposals:
        size = max(w, h)
        limit = options.confident_max_face if score >= options.confident_score else options.max_face
        if score < options.min_score or size > max(limit, options.max_face):
            continue
        boxes.append(_square(x + w / 2, y + h / 2, max(options.context * size, options.min_side), width, height))
    return _as_windows(boxes, width, height)


def coarse_windows(proposals: Iterable[Proposal], width: int, height: int,
                   options: GuideOptions | None = None) -> list[Window] | None:
    """Square windows around the large proposals for the half-size pass, merged where they overlap; None
    when that pass is to cover the whole image (`coarse_min_face` None, or windows that would cover
    `coarse_whole_share` of it)."""
    options = options or GuideOptions()
    if options.coarse_min_face is None:
        return None
    boxes: list[list[float]] = []
    for x, y, w, h, score in proposals:
        size = max(w, h)
        if score < options.min_score or size < options.coarse_min_face:
            continue
        boxes.append(_square(x + w / 2, y + h / 2, options.coarse_context * size, width, height))
    windows = _as_windows(boxes, width, height)
    covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in windows)
    return None if covered >= options.coarse_whole_share * width * height else windows


def _square(cx: float, cy: float, side: float, width: int, height: int) -> list[float]:
    """A square of `side` centred on (cx, cy), clipped to the image: [x0, y0, x1, y1]."""
    return [max(0.0, cx - side / 2), max(0.0, cy - side / 2), min(float(width), cx + side / 2),
            min(float(height), cy + side / 2)]


def _as_windows(boxes: list[list[float]], width: int, height: int) -> list[Window]:
    merged = _merge(boxes)
    return sorted((int(x0), int(y0), min(width, int(x1 + 0.999)), min(height, int(y1 + 0.999)))
                  for x0, y0, x1, y1 in merged if x1 > x0 and y1 > y0)


def _merge(boxes: list[list[float]]) -> list[list[float]]:
    """Replace overlapping rectangles by their bounding rectangle until none overlap."""
    out = [list(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


def window_tiles(windows: Sequence[Window], band: ScaleBand, width: int, height: int) -> list[Tile]:
    """The windows as tiles of `band`: a side inside the image is an inner edge."""
    return [Tile(x0, y0, x1, y1, band.scale, band, (x0 > 0, y0 > 0, x1 < width, y1 < height))
            for x0, y0, x1, y1 in windows]
