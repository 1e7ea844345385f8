"""Speech bubbles and narration boxes filled with scribbled pseudo-text."""

from __future__ import annotations

import cv2
import numpy as np

AA = cv2.LINE_AA
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


def _glyph(
    rng: np.random.Generator,
    img: np.ndarray,
    x: float,
    y: float,
    size: float,
    ink: tuple[int, int, int],
    thick: int,
) -> None:
    """A Hangul-like block: two or three jamo-ish strokes (bars, circles, corners) in sub-cells."""
    cells = (
        [(x, y, size * 0.5, size), (x + size * 0.5, y, size * 0.5, size)]
        if rng.random() < 0.5
        else [(x, y, size, size * 0.5), (x, y + size * 0.5, size, size * 0.5)]
    )
    if rng.random() < 0.4:
        cells.append((x, y + size * 0.62, size, size * 0.38))
        cells[0] = (cells[0][0], cells[0][1], cells[0][2], cells[0][3] * 0.62)
        cells[1] = (cells[1][0], cells[1][1], cells[1][2], cells[1][3] * 0.62)
    for cx, cy, cw, ch in cells:
        m = 0.18
        x0, y0, x1, y1 = cx + cw * m, cy + ch * m, cx + cw * (1 - m), cy + ch * (1 - m)
        kind = int(rng.integers(4))
        if kind == 0:  # bar along the longer side
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            pts = [(x0, my), (x1, my)] if cw >= ch else [(mx, y0), (mx, y1)]
        elif kind == 1:  # circle
            r = max(1, round(min(x1 - x0, y1 - y0) / 2))
            cv2.circle(img, (round((x0 + x1) / 2), round((y0 + y1) / 2)), r, ink, thick, AA)
            continue
        elif kind == 2:  # corner
            pts = [(x0, y0), (x1, y0), (x1, y1)]
        else:  # corner the other way
            pts = [(x0, y0), (x0, y1), (x1, y1)]
        cv2.polylines(img, [np.round(np.array(pts)).astype(np.int32)], False, ink, thick, AA)


def scribble_text(rng: np.random.Generator, img: np.ndarray, rect: Rect, ink: tuple[int, int, int]) -> None:
    """Rows of glyph-like blocks (reads as text at a glance, says nothing)."""
    x0, y0, x1, y1 = rect
    size = float(np.clip((y1 - y0) / 4.0, 7.0, 18.0))
    gap = size * 0.45
    n_rows = max(1, int((y1 - y0 + gap) // (size + gap)))
    thick = 1 if size < 13 else 2
    y = y0 + ((y1 - y0) - (n_rows * size + (n_rows - 1) * gap)) / 2
    for _ in range(n_rows):
        row_w = (x1 - x0) * rng.uniform(0.6, 1.0)
        n_glyphs = max(1, int(row_w // (size * 1.1)))
        x = x0 + ((x1 - x0) - n_glyphs * size * 1.1) / 2
        for _ in range(n_glyphs):
            if rng.random() > 0.12:  # else a space
                _glyph(rng, img, x, y, size, ink, thick)
            x += size * 1.1
        y += size + gap


def tail_tip(rect: Rect, toward: tuple[float, float], length: float) -> tuple[float, float]:
    """Where a tail of ``length`` pixels beyond the bubble's edge, pointing at ``toward``, ends."""
    x0, y0, x1, y1 = rect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax, ay = (x1 - x0) / 2, (y1 - y0) / 2
    d = np.array(toward, dtype=np.float64) - [cx, cy]
    d = d / max(float(np.hypot(*d)), 1e-9)
    edge = 1.0 / max(float(np.hypot(d[0] / ax, d[1] / ay)), 1e-9)  # distance from centre to the ellipse
    return (float(cx + d[0] * (edge + length)), float(cy + d[1] * (edge + length)))


def speech_bubble(
    rng: np.random.Generator, img: np.ndarray, rect: Rect, tip: tuple[float, float] | None = None
) -> None:
    """An elliptical bubble inscribed in ``rect`` with an optional tail ending at ``tip``."""
    x0, y0, x1, y1 = rect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax, ay = (x1 - x0) / 2, (y1 - y0) / 2
    ink = (20, 20, 20)
    lw = 2 if min(ax, ay) > 30 else 1
    if tip is not None:
        d = np.array(tip) - [cx, cy]
        d = d / max(float(np.hypot(*d)), 1e-9)
        perp = np.array([-d[1], d[0]])
        base = np.array([cx, cy]) + d * np.array([ax, ay]) * 0.6
        width = min(ax, ay) * 0.3
        tri = np.array([base + perp * width, base - perp * width, np.array(tip)])
        cv2.fillPoly(img, [np.round(tri).astype(np.int32)], (255, 255, 255), AA)
        cv2.polylines(img, [np.round(tri).astype(np.int32)], True, ink, lw, AA)
    center = (round(cx), round(cy))
    axes = (max(2, round(ax)), max(2, round(ay)))
    cv2.ellipse(img, center, axes, 0, 0, 360, ink, lw * 2 + 1, AA)
    cv2.ellipse(img, center, axes, 0, 0, 360, (255, 255, 255), -1, AA)
    inner = (cx - ax * 0.62, cy - ay * 0.55, cx + ax * 0.62, cy + ay * 0.55)
    scribble_text(rng, img, inner, (30, 30, 30))


def narration_box(rng: np.random.Generator, img: np.ndarray, rect: Rect) -> None:
    x0, y0, x1, y1 = (round(v) for v in rect)
    fill = (255, 255, 255) if rng.random() < 0.6 else (250, 244, 220)
    cv2.rectangle(img, (x0, y0), (x1, y1), fill, -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (30, 30, 30), 1, AA)
    pad = max(3.0, (y1 - y0) * 0.15)
    scribble_text(rng, img, (x0 + pad, y0 + pad, x1 - pad, y1 - pad), (30, 30, 30))
