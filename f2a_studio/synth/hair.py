"""Hair shapes in the canonical face frame: back hair behind the head, bangs and side locks in front.

Every shape is an ``(N, 3)`` polygon (x, y, depth) so it turns with the head like the landmarks do.
Bang tips always stop above the eyes; they may cover the brows (that is what landmark visibility 1 is for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from f2a_studio.synth.geometry import catmull_rom, ellipse_arc
from f2a_studio.synth.template import FaceParams, surface_z

FEMALE_BACK = ("long", "long", "bob", "twintails", "ponytail", "wavy")
MALE_BACK = ("short", "spiky", "nape", "nape", "nape")
BANGS = ("even", "spiky", "parted", "swept")


@dataclass(frozen=True)
class HairStyle:
    back: str
    bangs: str
    volume: float  # how far the hair stands off the skull (1.0 = on it)
    length: float  # bottom of the back hair (canonical y)
    strands: int  # number of bang strands
    tip_y: float  # lowest bang tip (canonical y)
    valley_y: float  # where bang strands part (canonical y)
    side_locks: bool
    ahoge: bool
    seed: int  # for the small irregularities along the edges


@dataclass
class HairShapes:
    back: list[np.ndarray] = field(default_factory=list)
    front: list[np.ndarray] = field(default_factory=list)
    strand_lines: list[np.ndarray] = field(default_factory=list)  # inner strand lines over the front hair
    shine: np.ndarray | None = None  # light band across the bangs ('angel ring'), clip to front[0]


def sample_style(rng: np.random.Generator, fp: FaceParams) -> HairStyle:
    female = fp.female
    back = str(rng.choice(FEMALE_BACK if female else MALE_BACK))
    bangs = str(rng.choice(BANGS))
    eye_top = -fp.eye_h / 2 - fp.eye_tilt
    brow_y = eye_top - fp.brow_gap
    # tips between a bit above the brows and just above the upper lid
    tip_y = float(rng.uniform(brow_y - 0.06, min(eye_top - 0.035, brow_y + 0.06)))
    if back in ("long", "wavy"):
        length = float(rng.uniform(1.3, 2.4))
    elif back == "bob":
        length = float(rng.uniform(0.5, 0.75))
    elif back in ("twintails", "ponytail"):
        length = float(rng.uniform(0.15, 0.4))
    elif back == "nape":
        length = float(rng.uniform(0.35, 0.6))
    else:
        length = float(rng.uniform(0.0, 0.25))
    return HairStyle(
        back=back,
        bangs=bangs,
        volume=float(rng.uniform(1.08, 1.2) if female else rng.uniform(1.06, 1.16)),
        length=length,
        strands=int(rng.integers(5, 9)),
        tip_y=tip_y,
        valley_y=float(rng.uniform(-0.5, -0.38)),
        side_locks=bool(rng.random() < (0.7 if female else 0.25)),
        ahoge=bool(rng.random() < 0.25),
        seed=int(rng.integers(2**31)),
    )


def _with_z(pts: np.ndarray, z: float | np.ndarray) -> np.ndarray:
    zz = np.broadcast_to(np.asarray(z, dtype=np.float64), (len(pts),))
    return np.column_stack([pts, zz])


def skull_outline(fp: FaceParams, n: int = 40) -> np.ndarray:
    """Top of the head from the right jaw-top point over the crown to the left one (2-D)."""
    ry = fp.jaw_top_y - fp.head_top
    return ellipse_arc(0.0, fp.jaw_top_y, 0.5, ry, 0.0, -np.pi, n)


def _dome(fp: FaceParams, hs: HairStyle, n: int = 48) -> tuple[float, float, float]:
    rx = 0.5 * hs.volume + 0.02
    ry = (fp.jaw_top_y - fp.head_top) * hs.volume + 0.03
    return rx, ry, fp.jaw_top_y + 0.02


@lru_cache(maxsize=512)
def build_hair(fp: FaceParams, hs: HairStyle) -> HairShapes:
    """The hair polygons of a character (cached: treat the result as read-only)."""
    rng = np.random.default_rng(hs.seed)
    out = HairShapes()
    rx, ry, cy = _dome(fp, hs)
    top = ellipse_arc(0.0, cy, rx, ry, -np.pi, 0.0, 48)  # left side over the crown to the right side
    if hs.back in ("short", "spiky", "nape", "twintails", "ponytail"):
        # a bit of spikiness along the crown for the spiky style
        if hs.back == "spiky":
            ang = np.linspace(-np.pi, 0.0, 48)
            bump = 1.0 + 0.09 * np.maximum(0.0, np.sin(ang * 9 + rng.uniform(0, 6))) * (np.sin(-ang) > 0.2)
            top = np.column_stack([top[:, 0] * bump, cy + (top[:, 1] - cy) * bump])
        bottom_y = max(hs.length, fp.jaw_top_y + 0.05)
        right = np.array([[rx * 1.0, cy + 0.05], [rx * 0.97, bottom_y], [rx * 0.55, bottom_y + 0.06]])
        left = right[::-1] * [-1, 1]
        out.back.append(_with_z(np.vstack([top, right, left]), 0.0))
        if hs.back in ("twintails", "ponytail"):
            sides = (-1, 1) if hs.back == "twintails" else (1,)
            tail_len = rng.uniform(1.0, 1.9)
            for s in sides:
                base_x = s * rx * (0.95 if hs.back == "twintails" else 0.75)
                base_y = fp.head_top * (0.55 if hs.back == "twintails" else 0.75)
                w = rng.uniform(0.16, 0.24)
                tail = np.array(
                    [
                        [base_x - s * 0.04, base_y],
                        [base_x + s * w * 1.6, base_y + tail_len * 0.3],
                        [base_x + s * w * 1.3, base_y + tail_len * 0.75],
                        [base_x + s * w * 0.5, base_y + tail_len],
                        [base_x + s * w * 0.2, base_y + tail_len * 0.6],
                        [base_x + s * 0.02, base_y + 0.2],
                    ]
                )
                out.back.append(_with_z(catmull_rom(tail, 6, closed=True), -0.25))
    else:
        length = hs.length
        flare = 0.12 if hs.back != "bob" else -0.04
        n_tips = 6
        xs = np.linspace(rx + flare, -(rx + flare), n_tips * 2 + 1)
        ys = np.full(len(xs), length)
        ys[1::2] -= rng.uniform(0.05, 0.14, len(ys[1::2]))
        if hs.back == "bob":
            ys = length + 0.02 * np.sin(np.arange(len(xs)))  # a blunt cut
        bottom = np.column_stack([xs, ys])
        if hs.back == "wavy":
            bottom[:, 0] += 0.04 * np.sin(np.arange(len(xs)) * 1.7)
        right_side = np.array([[rx + 0.01, cy + 0.2], [rx + flare * 0.6, (cy + length) / 2]])
        left_side = right_side[::-1] * [-1, 1]
        out.back.append(_with_z(np.vstack([top, right_side, bottom, left_side]), 0.0))

    # bangs: dome over the forehead with a zigzag lower edge
    n = hs.strands
    side_y = fp.jaw_top_y - 0.12
    fx = 0.5 * hs.volume + 0.02
    front_top = ellipse_arc(0.0, cy, fx, ry * 1.005, 0.0, -np.pi, 40)
    front_top = front_top[front_top[:, 1] <= side_y]
    edge_x = np.linspace(-fx + 0.02, fx - 0.02, n + 1)
    pts: list[tuple[float, float]] = [(-fx, side_y)]
    for i in range(n):
        a, b = edge_x[i], edge_x[i + 1]
        t = (i + 0.5) / n
        if hs.bangs == "even":
            tip = hs.tip_y + rng.uniform(-0.015, 0.015)
        elif hs.bangs == "spiky":
            tip = hs.tip_y - (0.0 if i % 2 == 0 else rng.uniform(0.05, 0.11))
        elif hs.bangs == "parted":
            tip = hs.tip_y - 0.08 * (1 - abs(2 * t - 1))
        else:  # swept: longer on one side
            tip = hs.tip_y - 0.12 * t
        # the outermost strands hug the face side
        if i == 0 or i == n - 1:
            tip = max(tip, side_y + 0.02) if hs.side_locks else tip - 0.02
        lean = (b - a) * rng.uniform(-0.25, 0.35) * (1 if hs.bangs != "swept" else 1.6)
        pts.append(((a + b) / 2 + lean, tip))
        valley = hs.valley_y + rng.uniform(-0.04, 0.04)
        if hs.bangs == "parted" and i == n // 2 - 1:
            valley = hs.valley_y - 0.2
        if i < n - 1:
            pts.append((b, valley))
    pts.append((fx, side_y))
    edge = np.array(pts)  # left to right, after the crown arc that runs right to left
    front = np.vstack([front_top, edge])
    z = np.where(front[:, 1] > hs.valley_y - 0.05, surface_z(front[:, 0]) * 0.9, 0.0)
    out.front.append(np.column_stack([front, z]))
    # the shine: a band between the crown and the strand valleys, with a jagged lower edge
    crown = cy - ry
    band_y = crown + (hs.valley_y - crown) * rng.uniform(0.45, 0.6)
    xs = np.linspace(-fx * 0.8, fx * 0.8, 15)
    curve = band_y + 0.08 * (xs / fx) ** 2
    upper = np.column_stack([xs, curve - 0.02])
    lower = np.column_stack([xs, curve + 0.015 + 0.035 * (np.arange(len(xs)) % 2)])
    band = np.vstack([upper, lower[::-1]])
    out.shine = np.column_stack([band, surface_z(band[:, 0]) * 0.5])
    # strand lines from the valleys up into the hair
    for i in range(1, len(edge) - 1):
        if edge[i, 1] < hs.valley_y + 0.06:  # a valley
            x0, y0 = edge[i]
            line = np.array([[x0, y0], [x0 * 0.9, y0 - 0.12]])
            out.strand_lines.append(_with_z(line, float(surface_z(x0)) * 0.9))

    if hs.side_locks:
        length = fp.chin_y * rng.uniform(0.55, 1.15)
        for s in (-1, 1):
            w = rng.uniform(0.08, 0.13)
            outer = np.array(
                [
                    [s * (fx - 0.01), side_y - 0.14],
                    [s * (fx + 0.01), (side_y + length) / 2],
                    [s * (0.5 - w * 0.2), length],
                ]
            )
            inner = np.array(
                [
                    [s * (0.5 - w * 0.2), length],
                    [s * (0.5 - w * 0.9), (side_y + length) / 2],
                    [s * (0.5 - w * 1.1), side_y - 0.06],
                ]
            )
            lock = np.vstack([catmull_rom(outer, 6), catmull_rom(inner, 6)[1:]])
            out.front.append(_with_z(lock, 0.05))
    if hs.ahoge:
        x0 = rng.uniform(-0.1, 0.1)
        y0 = cy - ry * 0.98
        h = rng.uniform(0.15, 0.25)
        s = 1 if rng.random() < 0.5 else -1
        tuft = np.array(
            [
                [x0 - 0.03, y0 + 0.02],
                [x0 + s * 0.08, y0 - h],
                [x0 + s * 0.02, y0 - h * 0.4],
                [x0 + 0.03, y0 + 0.02],
            ]
        )
        out.front.append(_with_z(tuft, 0.0))
    return out
