"""Foreground only: an alpha mask for an aligned crop, and compositing onto white or transparent.

The mask comes from the image's own alpha channel where it has one. Otherwise `foreground_alpha`:
a flood fill from the crop's edges, stopped by the line art, where the background lets it in, else
GrabCut snapped to the drawing's flat regions (figures: benchmarks/mask_bench.py). GrabCut segments the
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


def grabcut_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None,
                  background: np.ndarray | None = None) -> np.ndarray:
    """Foreground alpha (float32 0–1, size×size) of an aligned RGB crop by seeded GrabCut.

    `background` (bool, size×size), when given, is sure background on top of the crop's border."""
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
    if background is not None:
        small_bg = cv2.resize(background.astype(np.uint8), (work, work), interpolation=cv2.INTER_AREA) \
            if work != size else background.astype(np.uint8)
        mask[small_bg > 0] = cv2.GC_BGD
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


FLOOD_STEP = 5  # per channel: the most two neighbouring background pixels may differ (gradients pass)
FLOOD_SEED_EVERY = 4  # px between seeds along the crop's edges


def face_hull(size: int, landmarks: np.ndarray) -> np.ndarray:
    """The landmarks' convex hull (uint8 0/1, size×size): the part of the crop that is surely the face."""
    pts = as_array(landmarks)
    labelled = pts[pts[:, 2] > 0, :2]
    hull = cv2.convexHull(np.round(labelled - 0.5).astype(np.int32))
    face = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(face, hull, 1)
    return face


def flood_background(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """Background (bool, size×size): what floods in from the crop's top and sides (down to the chin)
    without crossing a step over FLOOD_STEP between neighbours, so the line art closes the character.

    A flooded region is kept as background only if it stays off the face hull (else it leaked in, or
    it is hair joined to the bangs) and is not of the hair's colour (a twin tail cut by the crop edge)."""
    size = rgb.shape[0]
    pts = as_array(landmarks)
    face = cv2.dilate(face_hull(size, pts), np.ones((3, 3), np.uint8))
    chin = int(np.clip(pts[8, 1], 0, size - 1))
    hair = np.array(hex_to_rgb(hair_color), np.float32) if hair_color else None
    seeds = [(x, 0) for x in range(0, size, FLOOD_SEED_EVERY)]
    seeds += [(x, y) for y in range(0, chin + 1, FLOOD_SEED_EVERY) for x in (0, size - 1)]
    background = np.zeros((size, size), bool)
    tried = np.zeros((size + 2, size + 2), np.uint8)
    step = (FLOOD_STEP,) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    for x, y in seeds:
        if tried[y + 1, x + 1]:
            continue
        region = np.zeros((size + 2, size + 2), np.uint8)
        cv2.floodFill(rgb, region, (x, y), 0, step, step, flags)
        inner = region[1:-1, 1:-1] > 0
        tried |= region
        if (face[inner] > 0).any():
            continue
        if hair is not None and np.linalg.norm(rgb[inner].mean(axis=0) - hair) < HAIR_COLOR_DISTANCE:
            continue
        background |= inner
    return background


def flood_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """Foreground alpha by flood fill alone: everything the background flood did not reach."""
    size = rgb.shape[0]
    fg = (~flood_background(rgb, landmarks, hair_color)).astype(np.uint8)
    fg = _fill_holes(_keep_face_component(fg, face_hull(size, landmarks)))
    return np.clip(cv2.GaussianBlur(fg.astype(np.float32), (0, 0), max(0.6, size / 256)), 0.0, 1.0)


def flood_grabcut_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """GrabCut seeded with the flood's background as sure background (busy backgrounds barely flood,
    and GrabCut decides there as before)."""
    return grabcut_alpha(rgb, landmarks, hair_color, background=flood_background(rgb, landmarks, hair_color))


def flat_regions(rgb: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels, edges): the crop cut into regions of flat colour at every step over FLOOD_STEP
    between neighbours; edge pixels (line art, anti-aliasing) are label 0."""
    a = rgb.astype(np.int16)
    dx = np.abs(a[:, 1:] - a[:, :-1]).max(axis=2) > FLOOD_STEP
    dy = np.abs(a[1:] - a[:-1]).max(axis=2) > FLOOD_STEP
    edge = np.zeros(rgb.shape[:2], bool)
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    n, labels = cv2.connectedComponents((~edge).astype(np.uint8), connectivity=4)
    return n, labels, edge


def regions_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """Flood-seeded GrabCut snapped to the drawing's flat regions: a region is foreground when most of
    it is GrabCut foreground (GrabCut's 96² blocks become the line art's edges; a lock of hair half
    found is found whole); line-art pixels follow GrabCut or a foreground region next to them."""
    size = rgb.shape[0]
    bg = flood_background(rgb, landmarks, hair_color)
    cut = grabcut_alpha(rgb, landmarks, hair_color, background=bg) > 0.5
    n, labels, edge = flat_regions(rgb)
    counts = np.bincount(labels.ravel(), minlength=n)
    inside = np.bincount(labels.ravel(), weights=cut.ravel().astype(np.float64), minlength=n)
    region_fg = inside / np.maximum(counts, 1) >= 0.5
    region_fg[0] = False  # the edge pixels, decided below
    fg = region_fg[labels] & ~edge & ~bg
    near = cv2.dilate(fg.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    fg |= edge & (cut | near) & ~bg
    fg = _fill_holes(_keep_face_component(fg.astype(np.uint8), face_hull(size, landmarks)))
    return np.clip(cv2.GaussianBlur(fg.astype(np.float32), (0, 0), max(0.6, size / 256)), 0.0, 1.0)


FLOOD_TRUST = 0.62  # the flood alone is kept when its foreground is at most this much of the crop


def foreground_alpha(rgb: np.ndarray, landmarks: np.ndarray, hair_color: str | None = None) -> np.ndarray:
    """The export's foreground: the flood from the crop's edges where the background floods (flat,
    gradient and most drawn backgrounds: the line art closes the character, hair and tails included),
    else region-snapped GrabCut (busy backgrounds the flood cannot enter). benchmarks/mask_bench.py
    measures each against exact synthetic mattes."""
    alpha = flood_alpha(rgb, landmarks, hair_color)
    if float((alpha > 0.5).mean()) <= FLOOD_TRUST:
        return alpha
    return regions_alpha(rgb, landmarks, hair_color)


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
