"""Supersampled drawing surface for anti-aliased line art.

A :class:`Canvas` covers a rectangle of a target image (``x0, y0, width, height`` in image pixels) at
``ss`` times the resolution. Every drawing call takes float coordinates in *image* pixels, so the code
that draws a character never has to know about the supersampling. :meth:`Canvas.paste_into` downsamples
with area averaging and writes the result back; pixels that were never drawn on come back unchanged
(the canvas starts as an exact nearest-neighbour upscale of the target).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Color = tuple[int, int, int]

_SHIFT = 3  # fixed-point fractional bits passed to OpenCV, so points land between supersampled pixels
_ONE = 1 << _SHIFT


class Canvas:
    """A supersampled window onto part of an RGB uint8 image."""

    def __init__(self, target: np.ndarray, x0: int, y0: int, width: int, height: int, ss: int) -> None:
        h, w = target.shape[:2]
        self.x0 = max(0, int(x0))
        self.y0 = max(0, int(y0))
        self.x1 = min(w, int(x0) + int(width))
        self.y1 = min(h, int(y0) + int(height))
        self.ss = int(ss)
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            self.x1, self.y1 = self.x0, self.y0
        region = target[self.y0 : self.y1, self.x0 : self.x1]
        if region.size:
            rh, rw = region.shape[:2]
            self.pixels: np.ndarray = cv2.resize(
                region, (rw * self.ss, rh * self.ss), interpolation=cv2.INTER_NEAREST
            )
        else:
            self.pixels = np.zeros((0, 0, 3), dtype=np.uint8)

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    # -- coordinates -----------------------------------------------------------------------------
    def to_fixed(self, pts: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Image coordinates -> fixed-point supersampled coordinates (int32, ``(N, 2)``)."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        q = (p - [self.x0, self.y0]) * self.ss
        # cv2 puts pixel centres at integer coordinates; image coordinates put them at +0.5.
        q = q - 0.5
        return np.round(q * _ONE).astype(np.int32)

    def px(self, width: float) -> int:
        """A stroke width in image pixels -> integer supersampled thickness (at least 1)."""
        return max(1, round(width * self.ss))

    # -- primitives ------------------------------------------------------------------------------
    def fill(self, pts: np.ndarray, color: Color) -> None:
        if self.empty or len(pts) < 3:
            return
        cv2.fillPoly(self.pixels, [self.to_fixed(pts)], _c(color), cv2.LINE_AA, _SHIFT)

    def line(self, pts: np.ndarray, color: Color, width: float, closed: bool = False) -> None:
        if self.empty or len(pts) < 2:
            return
        cv2.polylines(
            self.pixels, [self.to_fixed(pts)], closed, _c(color), self.px(width), cv2.LINE_AA, _SHIFT
        )

    def tapered(self, pts: np.ndarray, color: Color, width: float, taper: float = 0.3) -> None:
        """A stroke that is ``width`` wide in the middle and ``taper * width`` at both ends (a brush line)."""
        p = np.asarray(pts, dtype=np.float64)
        if self.empty or len(p) < 2:
            return
        n = len(p)
        t = np.linspace(0.0, 1.0, n)
        w = width * (taper + (1.0 - taper) * np.sin(np.pi * t) ** 0.7)
        d = np.gradient(p, axis=0)
        norm = np.hypot(d[:, 0], d[:, 1])[:, None]
        nrm = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(norm, 1e-9)
        left = p + nrm * (w[:, None] / 2)
        right = p - nrm * (w[:, None] / 2)
        self.fill(np.vstack([left, right[::-1]]), color)

    def ellipse(self, center: Sequence[float], axes: Sequence[float], angle_deg: float, color: Color) -> None:
        if self.empty:
            return
        c = self.to_fixed([center])[0]
        ax = np.round(np.asarray(axes, dtype=np.float64) * self.ss * _ONE).astype(np.int32)
        ax = np.maximum(ax, 1)
        cv2.ellipse(
            self.pixels,
            (int(c[0]), int(c[1])),
            (int(ax[0]), int(ax[1])),
            float(angle_deg),
            0.0,
            360.0,
            _c(color),
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )

    def mask(self) -> np.ndarray:
        """A blank single-channel mask the size of the supersampled canvas."""
        return np.zeros(self.pixels.shape[:2], dtype=np.uint8)

    def fill_mask(self, mask: np.ndarray, pts: np.ndarray, value: int = 255) -> None:
        if self.empty or len(pts) < 3:
            return
        cv2.fillPoly(mask, [self.to_fixed(pts)], int(value), cv2.LINE_AA, _SHIFT)

    def covered(self, mask: np.ndarray, pts: np.ndarray, threshold: int = 128) -> np.ndarray:
        """For each image point, whether ``mask`` is set (>= threshold) under it."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        q = np.floor((p - [self.x0, self.y0]) * self.ss).astype(np.int64)
        h, w = mask.shape[:2]
        inside = (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
        out = np.zeros(len(p), dtype=bool)
        out[inside] = mask[q[inside, 1], q[inside, 0]] >= threshold
        return out

    def clip_begin(self, pts: np.ndarray, grow: float = 1.0) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Start drawing clipped to polygon ``pts``; finish with :meth:`clip_end`.

        Only the polygon's bounding box grown by ``grow`` times its size on each side is protected:
        whatever is drawn in between must stay inside that region.
        """
        q = (np.asarray(pts, dtype=np.float64).reshape(-1, 2) - [self.x0, self.y0]) * self.ss
        lo, hi = q.min(axis=0), q.max(axis=0)
        pad = (hi - lo) * grow + 2
        h, w = self.pixels.shape[:2]
        xa, ya = (int(max(0, v)) for v in np.floor(lo - pad))
        xb, yb = int(min(w, np.ceil(hi[0] + pad[0]))), int(min(h, np.ceil(hi[1] + pad[1])))
        rows, cols = slice(ya, max(ya, yb)), slice(xa, max(xa, xb))
        saved = self.pixels[rows, cols].copy()
        m = np.zeros(saved.shape[:2], dtype=np.uint8)
        if m.size:
            fixed = self.to_fixed(pts) - np.array([xa * _ONE, ya * _ONE], dtype=np.int32)
            cv2.fillPoly(m, [fixed], 255, cv2.LINE_AA, _SHIFT)
        return rows, cols, saved, m

    def clip_end(self, state: tuple[slice, slice, np.ndarray, np.ndarray]) -> None:
        rows, cols, saved, m = state
        if saved.size == 0:
            return
        w_drawn = m.astype(np.float32) * (1.0 / 255.0)
        self.pixels[rows, cols] = cv2.blendLinear(saved, self.pixels[rows, cols], 1.0 - w_drawn, w_drawn)

    def paste_into(self, target: np.ndarray) -> None:
        """Downsample (area average) and write back into the target image."""
        if self.empty:
            return
        w, h = self.x1 - self.x0, self.y1 - self.y0
        small = cv2.resize(self.pixels, (w, h), interpolation=cv2.INTER_AREA)
        target[self.y0 : self.y1, self.x0 : self.x1] = small


def _c(color: Sequence[int]) -> tuple[int, int, int]:
    return (int(color[0]), int(color[1]), int(color[2]))
