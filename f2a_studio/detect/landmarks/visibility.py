"""Per-landmark visibility (COCO: 0 outside the image, 1 hidden, 2 visible).

A point is hidden when it sits on hair (brows and temples under bangs are the common case: its pixel is
the hair colour, not the skin colour) or when the backend is unsure of it; outside the image it is 0.
"""

from __future__ import annotations

import cv2
import numpy as np

from f2a_studio.core.models import Colors, hex_to_rgb

COVERABLE = (0, 1, 2, 14, 15, 16, *range(17, 27))  # temples and brows: what bangs and side hair cover
HAIR_NEAR = 14.0  # CIE76 ΔE: a pixel this close to the hair colour (and closer to it than to skin) is hair
MIN_CONFIDENCE = 0.15


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def visibility(
    points: np.ndarray, pixels: np.ndarray, colors: Colors, confidence: np.ndarray | None = None
) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    h, w = pixels.shape[:2]
    vis = np.full(len(pts), 2, dtype=np.int64)
    inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] < w) & (pts[:, 1] < h)
    if confidence is not None:
        vis[np.asarray(confidence) < MIN_CONFIDENCE] = 1
    if colors.hair and colors.skin and colors.hair != colors.skin:
        hair, skin = _lab(np.array([hex_to_rgb(colors.hair), hex_to_rgb(colors.skin)], np.uint8))
        idx = [i for i in COVERABLE if inside[i]]
        if idx:
            xy = np.floor(pts[idx]).astype(int)
            samples = np.stack([pixels[np.clip(xy[:, 1] + dy, 0, h - 1), np.clip(xy[:, 0] + dx, 0, w - 1), :3]
                                for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=1)
            colour = np.median(samples, axis=1).astype(np.uint8)
            lab = _lab(colour)
            d_hair = np.linalg.norm(lab - hair, axis=1)
            d_skin = np.linalg.norm(lab - skin, axis=1)
            covered = (d_hair < HAIR_NEAR) & (d_hair < d_skin)
            vis[np.array(idx)[covered]] = 1
    vis[~inside] = 0
    return vis
