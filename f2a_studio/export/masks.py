"""Foreground only: an alpha mask for an aligned crop, and compositing onto white or transparent.

The mask comes from the image's own alpha channel where it has one. Otherwise GrabCut segments the
crop, seeded from the face (landmark hull: sure foreground), the head and hair region around it
(probably foreground, plus pixels of the face's hair colour) and the crop's left, right and top border
(sure background). It runs at most at 96² (enough for a mask: ~25 ms a face) with a fixed OpenCV RNG
seed so the same crop always gives the same mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from f2a_studio.core.ibug68 import as_array
from f2a_studio.core.models import hex_to_rgb

WORK_SIZE = 96
GRABCUT_ITERATIONS = 3
HAIR_COLOR_DISTANCE = 28.0  # RGB distance under which a pixel counts as hair coloured
_BORDER = 2  # px of the working image that are sure background

BACKGROUNDS = ("white", "transparent")


def grabcut_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """Foreground alpha (float32 0–1, size×size) of an aligned RGB crop by seeded GrabCut."""
    size = rgb.shape[0]
    work = min(WORK_SIZE, size)
    f = work / size
    small = cv2.resize(rgb, (work, work), interpolation=cv2.INTER_AREA) if work != size else rgb
    pts = as_array(landmarks)
    labelled = pts[pts[:, 2] > 0, :2] * f
    mask = np.full((work, work), cv2.GC_PR_BGD, dtype=np.uint8)

    # Head and hair: an ellipse around the face hull, reaching up about one face height for the hair.
    hull = cv2.convexHull(np.round(labelled - 0.5).astype(np.int32))
    x, y, w, h = cv2.boundingRect(hull)
    center = (round(x + w / 2), round(y + h * 0.3))
    axes = (round(w * 0.85), round(h * 1.05))
    cv2.ellipse(mask, center, axes, 0, 0, 360, cv2.GC_PR_FGD, -1)
    if hair_color:
        dist = np.linalg.norm(small.astype(np.float32) - np.array(hex_to_rgb(hair_color), np.float32), axis=2)
        mask[dist < HAIR_COLOR_DISTANCE] = cv2.GC_PR_FGD
    mask[:_BORDER, :] = cv2.GC_BGD
    mask[:, :_BORDER] = cv2.GC_BGD
    mask[:, -_BORDER:] = cv2.GC_BGD
    # The face itself (jaw, brows and everything inside) is sure foreground, shrunk a little.
    face = np.zeros_like(mask)
    cv2.fillConvexPoly(face, hull, 1)
    face = cv2.erode(face, np.ones((3, 3), np.uint8), iterations=max(1, work // 64))
    mask[face > 0] = cv2.GC_FGD

    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means init draws from OpenCV's RNG: fix it for byte-identical exports
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, GRABCUT_ITERATIONS,
                cv2.GC_INIT_WITH_MASK)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    fg = _keep_face_component(fg, face)
    fg = _fill_holes(fg)
    alpha = cv2.resize(fg.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR) if work != size \
        else fg.astype(np.float32)
    sigma = max(0.6, size / 256)
    return np.clip(cv2.GaussianBlur(alpha, (0, 0), sigma), 0.0, 1.0)


def _keep_face_component(fg: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Drop foreground blobs that do not touch the face (stray background regions)."""
    n, labels = cv2.connectedComponents(fg, connectivity=8)
    if n <= 2:
        return fg
    keep = np.unique(labels[(face > 0) & (fg > 0)])
    keep = keep[keep > 0]
    return np.isin(labels, keep).astype(np.uint8)


def _fill_holes(fg: np.ndarray) -> np.ndarray:
    """Background pockets enclosed by the character (eye whites next to white skin...) are foreground."""
    padded = np.pad(fg, 1, constant_values=0)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return (fg.astype(bool) | holes).astype(np.uint8)


def composite(rgb: np.ndarray, alpha: np.ndarray, background: str) -> np.ndarray:
    """Foreground over white (RGB), or RGBA with the alpha kept (RGB set to white where fully transparent,
    so tools that drop alpha still see a white background)."""
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    a = alpha.astype(np.float32)[:, :, None]
    if background == "white":
        return np.round(rgb.astype(np.float32) * a + 255.0 * (1.0 - a)).astype(np.uint8)
    a8 = np.round(alpha * 255.0).astype(np.uint8)
    out = np.dstack([rgb, a8])
    out[a8 == 0, :3] = 255
    return out
