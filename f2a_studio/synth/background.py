"""Panel backgrounds (flat, gradient, city, room, sky, nature, screentone, speed lines) and props.

Everything here is drawn straight into the panel at 1x with OpenCV's anti-aliased primitives: it is
scenery, not ground truth, and it has to be fast.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from f2a_studio.synth import palette
from f2a_studio.synth.palette import Color

AA = cv2.LINE_AA


def _c(color: Color) -> tuple[int, int, int]:
    return (int(color[0]), int(color[1]), int(color[2]))


def vertical_gradient(img: np.ndarray, top: Color, bottom: Color, y0: int = 0, y1: int | None = None) -> None:
    h = img.shape[0]
    y1 = h if y1 is None else y1
    n = max(1, y1 - y0)
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    rows = np.asarray(top, np.float32)[None, :] * (1 - t) + np.asarray(bottom, np.float32)[None, :] * t
    img[y0:y1] = np.clip(rows + 0.5, 0, 255).astype(np.uint8)[:, None, :]


def _flat(rng: np.random.Generator, img: np.ndarray) -> None:
    img[:] = palette.pick_background(rng)


def _gradient(rng: np.random.Generator, img: np.ndarray) -> None:
    a = palette.pick_background(rng)
    b = palette.jitter(rng, palette.pick_background(rng), 20)
    vertical_gradient(img, a, b)


def _sky(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    top = palette.jitter(rng, (120, 170, 235), 20)
    vertical_gradient(img, top, palette.mix(top, (255, 255, 255), 0.7))
    for _ in range(int(rng.integers(1, 5))):
        cloud(rng, img, rng.uniform(0, w), rng.uniform(0, h * 0.7), rng.uniform(0.08, 0.25) * w)


def cloud(rng: np.random.Generator, img: np.ndarray, cx: float, cy: float, size: float) -> None:
    blobs = [
        (
            cx + rng.uniform(-0.5, 0.5) * size,
            cy + rng.uniform(-0.15, 0.15) * size,
            rng.uniform(0.2, 0.35) * size,
        )
        for _ in range(int(rng.integers(3, 6)))
    ]
    ink = (150, 160, 180)
    for x, y, r in blobs:
        cv2.circle(img, (round(x), round(y)), max(1, round(r + 1.5)), ink, -1, AA)
    for x, y, r in blobs:
        cv2.circle(img, (round(x), round(y)), max(1, round(r)), (252, 252, 255), -1, AA)


def _city(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    top = palette.jitter(rng, rng.choice([(130, 175, 235), (250, 190, 150), (60, 70, 120)]), 15)
    vertical_gradient(img, top, palette.mix(top, (255, 255, 255), 0.6))
    ground = int(h * rng.uniform(0.75, 0.95))
    x = int(rng.integers(-40, 0))
    while x < w:
        bw = int(rng.integers(max(20, w // 12), max(21, w // 4)))
        bh = int(rng.uniform(0.25, 0.75) * h)
        color = palette.jitter(
            rng, rng.choice([(170, 170, 180), (200, 190, 175), (140, 150, 170), (215, 215, 220)]), 15
        )
        cv2.rectangle(img, (x, ground - bh), (x + bw, ground), _c(color), -1)
        cv2.rectangle(img, (x, ground - bh), (x + bw, ground), _c(palette.shade(color, 0.5)), 1, AA)
        win = palette.mix(color, (255, 245, 200) if rng.random() < 0.4 else (90, 110, 140), 0.6)
        step_x, step_y = int(rng.integers(10, 18)), int(rng.integers(12, 22))
        for wy in range(ground - bh + 6, ground - 10, step_y):
            for wx in range(x + 5, x + bw - 8, step_x):
                cv2.rectangle(img, (wx, wy), (wx + step_x // 2, wy + step_y // 2), _c(win), -1)
        x += bw + int(rng.integers(0, 12))
    img[ground:] = palette.jitter(rng, (150, 150, 150), 20)
    cv2.line(img, (0, ground), (w, ground), (70, 70, 70), 1, AA)


def _room(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    wall = palette.jitter(rng, palette.pick_background(rng), 15)
    img[:] = wall
    floor_y = int(h * rng.uniform(0.7, 0.9))
    img[floor_y:] = palette.jitter(rng, (170, 130, 100), 25)
    cv2.line(img, (0, floor_y), (w, floor_y), _c(palette.shade(wall, 0.5)), 2, AA)
    # a window or a door
    ww, wh = int(w * rng.uniform(0.15, 0.35)), int(h * rng.uniform(0.25, 0.45))
    wx, wy = int(rng.uniform(0, w - ww)), int(rng.uniform(0.05, 0.3) * h)
    frame = palette.shade(wall, 0.55)
    if rng.random() < 0.6:
        cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), (200, 225, 250), -1)
        cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), _c(frame), 3, AA)
        cv2.line(img, (wx + ww // 2, wy), (wx + ww // 2, wy + wh), _c(frame), 2, AA)
        cv2.line(img, (wx, wy + wh // 2), (wx + ww, wy + wh // 2), _c(frame), 2, AA)
    else:
        cv2.rectangle(img, (wx, wy), (wx + ww, floor_y), _c(palette.jitter(rng, (150, 110, 80), 20)), -1)
        cv2.rectangle(img, (wx, wy), (wx + ww, floor_y), _c(frame), 2, AA)
        cv2.circle(img, (wx + ww - 8, (wy + floor_y) // 2), 3, (220, 200, 120), -1, AA)


def _nature(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    _sky(rng, img)
    xs = np.arange(w + 1, dtype=np.float64)
    for k in range(2):
        base = h * rng.uniform(0.55, 0.8) + k * h * 0.08
        ys = base + h * 0.06 * np.sin(xs / w * rng.uniform(2, 6) + rng.uniform(0, 6))
        poly = np.vstack([np.column_stack([xs, ys]), [[w, h], [0, h]]]).astype(np.int32)
        green = palette.jitter(rng, (110 - 30 * k, 170 - 20 * k, 90), 15)
        cv2.fillPoly(img, [poly], _c(green), AA)
        cv2.polylines(img, [poly[: w + 1]], False, _c(palette.shade(green, 0.5)), 1, AA)
    for _ in range(int(rng.integers(0, 4))):
        tx, ty = int(rng.uniform(0, w)), int(h * rng.uniform(0.6, 0.85))
        th = int(h * rng.uniform(0.1, 0.25))
        cv2.rectangle(img, (tx - 3, ty - th), (tx + 3, ty), (110, 80, 50), -1)
        cv2.circle(img, (tx, ty - th), max(4, th // 2), _c(palette.jitter(rng, (70, 140, 70), 20)), -1, AA)


def _screentone(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    base = palette.pick_background(rng)
    img[:] = base
    step = int(rng.integers(5, 10))
    dot = palette.shade(base, rng.uniform(0.6, 0.85))
    r = max(1, step // 4)
    # one tile of two staggered rows, repeated
    tile = np.empty((2 * step, step, 3), dtype=np.uint8)
    tile[:] = base
    half = step // 2
    cv2.circle(tile, (half, half), r, _c(dot), -1, AA)
    cv2.circle(tile, (0, step + half), r, _c(dot), -1, AA)
    cv2.circle(tile, (step, step + half), r, _c(dot), -1, AA)
    reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1, 1)
    img[:] = np.tile(tile, reps)[:h, :w]


def _speed_lines(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    img[:] = palette.pick_background(rng)
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)
    ink = palette.shade(palette.pick_ink(rng), 1.6)
    r = float(np.hypot(w, h))
    for a in rng.uniform(0, 2 * np.pi, int(rng.integers(40, 90))):
        r0 = r * rng.uniform(0.25, 0.45)
        p0 = (round(cx + np.cos(a) * r0), round(cy + np.sin(a) * r0))
        p1 = (round(cx + np.cos(a) * r), round(cy + np.sin(a) * r))
        cv2.line(img, p0, p1, _c(ink), int(rng.integers(1, 3)), AA)


STYLES: dict[str, Callable[[np.random.Generator, np.ndarray], None]] = {
    "flat": _flat,
    "gradient": _gradient,
    "sky": _sky,
    "city": _city,
    "room": _room,
    "nature": _nature,
    "screentone": _screentone,
    "speed_lines": _speed_lines,
}
STYLE_WEIGHTS = {
    "flat": 4,
    "gradient": 3,
    "sky": 1.5,
    "city": 1.5,
    "room": 1.5,
    "nature": 1,
    "screentone": 0.7,
    "speed_lines": 0.6,
}


def draw_background(rng: np.random.Generator, img: np.ndarray, style: str | None = None) -> str:
    """Fill ``img`` (HxWx3 uint8, in place) with a background; returns the style used."""
    if style is None:
        names = list(STYLES)
        w = np.array([STYLE_WEIGHTS[n] for n in names], dtype=np.float64)
        style = names[int(rng.choice(len(names), p=w / w.sum()))]
    STYLES[style](rng, img)
    return style


# -- props for panels without faces ---------------------------------------------------------------
def _mug(rng: np.random.Generator, img: np.ndarray, x: float, y: float, s: float) -> None:
    color = palette.pick_clothes(rng)
    ink = (40, 35, 35)
    p0, p1 = (round(x - s * 0.3), round(y - s * 0.4)), (round(x + s * 0.3), round(y + s * 0.4))
    cv2.ellipse(
        img,
        (round(x + s * 0.32), round(y)),
        (max(1, round(s * 0.17)), max(1, round(s * 0.2))),
        0,
        0,
        360,
        _c(ink),
        max(1, round(s * 0.06)),
        AA,
    )
    cv2.rectangle(img, p0, p1, _c(color), -1)
    cv2.rectangle(img, p0, p1, ink, max(1, round(s * 0.03)), AA)


def _phone(rng: np.random.Generator, img: np.ndarray, x: float, y: float, s: float) -> None:
    p0, p1 = (round(x - s * 0.25), round(y - s * 0.5)), (round(x + s * 0.25), round(y + s * 0.5))
    cv2.rectangle(img, p0, p1, (40, 40, 48), -1)
    cv2.rectangle(
        img, (p0[0] + 3, p0[1] + 6), (p1[0] - 3, p1[1] - 6), _c(palette.jitter(rng, (150, 190, 230), 20)), -1
    )


def _ball(rng: np.random.Generator, img: np.ndarray, x: float, y: float, s: float) -> None:
    color = palette.pick_clothes(rng)
    cv2.circle(img, (round(x), round(y)), max(2, round(s * 0.45)), _c(color), -1, AA)
    cv2.circle(img, (round(x), round(y)), max(2, round(s * 0.45)), (40, 40, 40), max(1, round(s * 0.03)), AA)
    cv2.ellipse(
        img,
        (round(x - s * 0.15), round(y - s * 0.15)),
        (max(1, round(s * 0.1)), max(1, round(s * 0.06))),
        -30,
        0,
        360,
        (255, 255, 255),
        -1,
        AA,
    )


def _plant(rng: np.random.Generator, img: np.ndarray, x: float, y: float, s: float) -> None:
    pot = palette.jitter(rng, (180, 100, 70), 20)
    pts = np.array(
        [[x - s * 0.25, y], [x + s * 0.25, y], [x + s * 0.18, y + s * 0.45], [x - s * 0.18, y + s * 0.45]]
    )
    cv2.fillPoly(img, [pts.astype(np.int32)], _c(pot), AA)
    for a in np.linspace(-2.4, -0.7, int(rng.integers(3, 7))):
        tip = (round(x + np.cos(a) * s * 0.6), round(y + np.sin(a) * s * 0.6))
        cv2.line(img, (round(x), round(y)), tip, (60, 140, 70), max(1, round(s * 0.06)), AA)
        cv2.ellipse(
            img,
            tip,
            (max(1, round(s * 0.12)), max(1, round(s * 0.06))),
            float(np.degrees(a)),
            0,
            360,
            (80, 170, 80),
            -1,
            AA,
        )


def _back_of_head(rng: np.random.Generator, img: np.ndarray, x: float, y: float, s: float) -> None:
    """A character seen from behind: hair and shoulders, no face (a classic false positive)."""
    _, hair = palette.pick_hair(rng)
    clothes = palette.pick_clothes(rng)
    ink = (40, 32, 32)
    cv2.ellipse(
        img,
        (round(x), round(y + s * 1.3)),
        (max(1, round(s * 0.8)), max(1, round(s * 0.5))),
        0,
        180,
        360,
        _c(clothes),
        -1,
        AA,
    )
    cv2.rectangle(
        img,
        (round(x - s * 0.15), round(y + s * 0.4)),
        (round(x + s * 0.15), round(y + s * 0.9)),
        _c(palette.pick_skin(rng)),
        -1,
    )
    cv2.ellipse(
        img,
        (round(x), round(y)),
        (max(1, round(s * 0.55)), max(1, round(s * 0.62))),
        0,
        0,
        360,
        _c(hair),
        -1,
        AA,
    )
    cv2.ellipse(
        img,
        (round(x), round(y)),
        (max(1, round(s * 0.55)), max(1, round(s * 0.62))),
        0,
        0,
        360,
        ink,
        max(1, round(s * 0.02)),
        AA,
    )
    for k in range(-2, 3):
        cv2.line(
            img,
            (round(x + k * s * 0.1), round(y - s * 0.4)),
            (round(x + k * s * 0.15), round(y + s * 0.55)),
            _c(palette.shade(hair, 0.6)),
            max(1, round(s * 0.015)),
            AA,
        )


PROPS: dict[str, Callable[[np.random.Generator, np.ndarray, float, float, float], None]] = {
    "mug": _mug,
    "phone": _phone,
    "ball": _ball,
    "plant": _plant,
    "back_of_head": _back_of_head,
}


def draw_props(rng: np.random.Generator, img: np.ndarray, n: int) -> list[str]:
    """Scatter ``n`` props over the panel; returns their kinds."""
    h, w = img.shape[:2]
    kinds = []
    for _ in range(n):
        kind = str(rng.choice(list(PROPS)))
        s = float(rng.uniform(0.12, 0.35) * min(w, h))
        PROPS[kind](rng, img, float(rng.uniform(0.15, 0.85) * w), float(rng.uniform(0.2, 0.8) * h), s)
        kinds.append(kind)
    return kinds
