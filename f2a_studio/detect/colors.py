"""Skin, hair and iris colours by robust cluster statistics over face regions.

animeface reports one colour per part, often the wrong one (a pupil, an eye white or the outline for an
iris; a shadow for the hair). Here each region is cut out using the face's landmarks (placed into the
canonical frame of face_model.py), pixels that cannot be the colour asked for are dropped (outline ink,
eye whites and highlights, the background, skin inside the hair region), the rest is clustered in Lab and
the colour is the median of the cluster that fits best: the largest for skin and hair, the largest
*chromatic* one for an iris (its pupil and rim are dark shades of it, its highlights white).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from f2a_studio.core.models import Box, Colors, Parts, hex_to_rgb, rgb_to_hex

# Regions in canonical units (jaw width 1, origin between the eyes, y down).
# the lower face between nose and chin (the mouth cut out): below the blush on the cheeks, above the jaw
SKIN_REGION = np.array([(-0.28, 0.27), (0.28, 0.27), (0.20, 0.42), (0.08, 0.50), (-0.08, 0.50), (-0.20, 0.42)])
NOSE_REGION = np.array([(-0.07, 0.08), (0.07, 0.08), (0.08, 0.34), (-0.08, 0.34)])
# the crown above the brows, inside the skull's outline: bangs and hair, or forehead skin (excluded by colour)
_A = np.linspace(np.pi, 2 * np.pi, 13)
HAIR_REGION = np.column_stack([0.5 * np.cos(_A), -0.27 + 0.6 * np.sin(_A)])
MIN_PIXELS = 12
INK_L = 22.0  # Lab lightness below which a pixel is outline ink (or a pupil)
WHITE_L, WHITE_CHROMA = 90.0, 8.0  # eye whites and highlights
FLAT_SPREAD = 18  # max - min of a channel over a 3×3 neighbourhood for a "flat" pixel
IRIS_MIN_CHROMA = 12.0
IRIS_HUE_WINDOW = 25.0  # degrees
NEAR = 9.0  # ΔE (CIE76) below which two colours are "the same" for exclusion


@dataclass(frozen=True)
class FaceFrame:
    """A similarity transform canonical → image, from the face's landmarks."""

    matrix: np.ndarray  # 2×3

    def to_image(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        return p @ self.matrix[:, :2].T + self.matrix[:, 2]

    @property
    def scale(self) -> float:
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))


def face_frame(landmarks: np.ndarray, mean_face: np.ndarray) -> FaceFrame:
    """Least-squares similarity from the mean face (x, y) to the landmarks (non-jaw points only)."""
    idx = list(range(17, 68))
    src = np.asarray(mean_face, dtype=np.float64)[idx, :2]
    dst = np.asarray(landmarks, dtype=np.float64)[idx, :2]
    src_c, dst_c = src - src.mean(0), dst - dst.mean(0)
    # Umeyama without reflection, closed form for 2D
    a = float(np.sum(src_c * dst_c))
    b = float(np.sum(src_c[:, 0] * dst_c[:, 1] - src_c[:, 1] * dst_c[:, 0]))
    denom = float(np.sum(src_c**2)) or 1.0
    s_cos, s_sin = a / denom, b / denom
    rot = np.array([[s_cos, -s_sin], [s_sin, s_cos]])
    t = dst.mean(0) - rot @ src.mean(0)
    return FaceFrame(np.column_stack([rot, t]))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (N, 3) → float Lab (N, 3), L in 0..100."""
    lab = cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return lab.reshape(-1, 3)


def _rgb_of(lab_pixels: np.ndarray, rgb_pixels: np.ndarray, members: np.ndarray) -> str:
    """The median colour of a cluster, in RGB (median per channel of the member pixels)."""
    return rgb_to_hex(np.median(rgb_pixels[members], axis=0))


def _clusters(lab: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, min(k, len(lab) // MIN_PIXELS))
    if k == 1:
        return np.zeros(len(lab), dtype=np.int32), lab.mean(axis=0, keepdims=True)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(1)  # deterministic results run to run
    _, labels, centers = cv2.kmeans(lab.astype(np.float32), k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return labels.ravel(), centers


@dataclass(frozen=True)
class Region:
    rgb: np.ndarray  # (N, 3) uint8
    spread: np.ndarray  # (N,) largest channel range over the pixel's 3×3 neighbourhood

    def select(self, keep: np.ndarray) -> Region:
        return Region(self.rgb[keep], self.spread[keep])

    def flat_first(self) -> np.ndarray:
        """Cel colours are flat fills: pixels on an edge (outlines and their anti-aliased blends) are not
        the colour of anything, so only flat pixels are used when there are enough of them."""
        flat = self.spread <= FLAT_SPREAD
        return self.rgb[flat] if flat.sum() >= MIN_PIXELS else self.rgb


def region_pixels(pixels: np.ndarray, polygons: list[np.ndarray], holes: list[np.ndarray]) -> Region:
    """Pixels inside the polygons (image coordinates) and outside the holes."""
    h, w = pixels.shape[:2]
    allp = np.vstack(polygons)
    x0, y0 = np.floor(np.clip(allp.min(axis=0), 0, [w, h])).astype(int)
    x1, y1 = np.ceil(np.clip(allp.max(axis=0), 0, [w, h])).astype(int)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return Region(np.empty((0, 3), np.uint8), np.empty(0, np.int16))
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    offset = np.array([x0, y0])
    for poly in polygons:
        cv2.fillPoly(mask, [np.round((poly - offset) * 4).astype(np.int32)], 1, shift=2)
    for hole in holes:
        cv2.fillPoly(mask, [np.round((hole - offset) * 4).astype(np.int32)], 0, shift=2)
    crop = pixels[y0:y1, x0:x1, :3]
    inside = mask.astype(bool)
    kernel = np.ones((3, 3), np.uint8)
    spread = (cv2.dilate(crop, kernel).astype(np.int16) - cv2.erode(crop, kernel).astype(np.int16)).max(axis=2)
    return Region(crop[inside], spread[inside])


def _backgrounds(pixels: np.ndarray, box: Box) -> list[np.ndarray]:
    """Lab colours that dominate a ring around the face: the background (flat, or several shades of a
    gradient or a sky)."""
    h, w = pixels.shape[:2]
    pad = max(box.w, box.h) * 0.9
    x0, y0 = int(max(0, box.x - pad)), int(max(0, box.y - pad))
    x1, y1 = int(min(w, box.x2 + pad)), int(min(h, box.y2 + pad))
    ring = np.concatenate([pixels[y0, x0:x1, :3], pixels[y1 - 1, x0:x1, :3], pixels[y0:y1, x0, :3],
                           pixels[y0:y1, x1 - 1, :3]])
    if len(ring) < 4 * MIN_PIXELS:
        return []
    lab = _lab(ring)
    labels, centers = _clusters(lab, 4)
    share = np.bincount(labels, minlength=len(centers)) / len(labels)
    return [centers[i] for i in range(len(centers)) if share[i] >= 0.2]


def _dominant(rgb: np.ndarray, *, k: int = 3, chromatic: bool = False) -> str | None:
    if len(rgb) < MIN_PIXELS:
        return None
    lab = _lab(rgb)
    labels, centers = _clusters(lab, k)
    counts = np.bincount(labels, minlength=len(centers)).astype(np.float64)
    if chromatic:
        chroma = np.hypot(centers[:, 1], centers[:, 2])
        # prefer colourful clusters; among near-grey irises fall back to plain size
        counts = counts * np.clip(chroma / 12.0, 0.15, 1.5)
    best = int(np.argmax(counts))
    return _rgb_of(lab, rgb, labels == best)


def _iris(rgb: np.ndarray) -> str | None:
    """An iris is drawn in shades of one hue (dark rim, pupil, lighter lower half): find the dominant hue,
    weighted by chroma, then the largest cluster among the pixels of that hue. Grey or black irises: the
    largest cluster."""
    if len(rgb) < MIN_PIXELS:
        return None
    lab = _lab(rgb)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    colourful = chroma > IRIS_MIN_CHROMA
    if colourful.sum() < max(MIN_PIXELS // 2, 0.2 * len(rgb)):
        return _dominant(rgb, k=3)
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    hist = np.bincount((hue[colourful] // 10).astype(int) % 36, weights=chroma[colourful], minlength=36)
    smooth = hist + 0.5 * (np.roll(hist, 1) + np.roll(hist, -1))
    mode = (int(np.argmax(smooth)) + 0.5) * 10.0
    near = colourful & (np.abs((hue - mode + 180.0) % 360.0 - 180.0) <= IRIS_HUE_WINDOW)
    # within that hue, the largest cluster: the iris's own fill rather than its shades
    return _dominant(rgb[near], k=3) or rgb_to_hex(np.median(rgb[near], axis=0))


def _drop(region: Region, *, near: list[np.ndarray | None], ink: bool = True, white: bool = False) -> np.ndarray:
    """The region's pixels that can be the colour asked for (flat ones first), as RGB."""
    if len(region.rgb) == 0:
        return region.rgb
    lab = _lab(region.rgb)
    keep = np.ones(len(lab), dtype=bool)
    if ink:
        keep &= lab[:, 0] > INK_L
    if white:
        keep &= ~((lab[:, 0] > WHITE_L) & (np.hypot(lab[:, 1], lab[:, 2]) < WHITE_CHROMA))
    for ref in near:
        if ref is not None:
            keep &= np.linalg.norm(lab - ref, axis=1) > NEAR
    return region.select(keep).flat_first()


def estimate_colors(
    pixels: np.ndarray,
    box: Box,
    parts: Parts,
    landmarks: np.ndarray,
    mean_face: np.ndarray,
    raw: Colors | None = None,
) -> Colors:
    """Skin, hair and both iris colours of one face; a region too small to measure keeps the raw colour."""
    raw = raw or Colors()
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    frame = face_frame(lm, mean_face)
    backgrounds = _backgrounds(pixels, box)

    mouth = cv2.convexHull(lm[48:60].astype(np.float32)).reshape(-1, 2).astype(np.float64)
    mouth = (mouth - mouth.mean(0)) * 1.4 + mouth.mean(0)
    eyes = [_eye_polygon(parts.left_eye, lm[36:42], 1.5), _eye_polygon(parts.right_eye, lm[42:48], 1.5)]
    skin_rgb = region_pixels(pixels, [frame.to_image(SKIN_REGION)], [frame.to_image(NOSE_REGION), mouth, *eyes])
    # A background of about the skin's own colour (a pale wall behind a pale face) must not wipe out the skin
    # pixels: then only blush and shading would be left. The detector's skin colour tells which that is.
    raw_skin = _lab(np.array([hex_to_rgb(raw.skin)], np.uint8))[0] if raw.skin else None
    skin_backgrounds = [b for b in backgrounds if raw_skin is None or np.linalg.norm(b - raw_skin) > NEAR]
    skin = _dominant(_drop(skin_rgb, near=skin_backgrounds), k=3)
    skin_lab = _lab(np.array([hex_to_rgb(skin)], np.uint8))[0] if skin else None

    hair_rgb = region_pixels(pixels, [frame.to_image(HAIR_REGION)], [])
    hair = _dominant(_drop(hair_rgb, near=[*backgrounds, skin_lab], ink=False), k=3)

    hair_lab = _lab(np.array([hex_to_rgb(hair)], np.uint8))[0] if hair else None
    irises = []
    for part_box, points in ((parts.left_eye, lm[36:42]), (parts.right_eye, lm[42:48])):
        poly = _eye_polygon(part_box, points, 0.9, ellipse=True)
        iris_rgb = region_pixels(pixels, [poly], [])
        irises.append(_iris(_drop(iris_rgb, near=[skin_lab, hair_lab], white=True)))

    return Colors(
        skin=skin or raw.skin,
        hair=hair or raw.hair,
        left_eye=irises[0] or raw.left_eye,
        right_eye=irises[1] or raw.right_eye,
    )


def _eye_polygon(part_box: Box | None, points: np.ndarray, grow: float, *, ellipse: bool = False) -> np.ndarray:
    """The detector's eye box when there is one (it is tighter than template landmarks), else the
    landmarks' outline; scaled by `grow` about its centre. `ellipse`: the ellipse inscribed in the box
    (its corners are lids and skin, not iris)."""
    if part_box is not None and part_box.w > 0 and part_box.h > 0:
        cx, cy = part_box.center
        if ellipse:
            a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            return np.column_stack([cx + part_box.w / 2 * grow * np.cos(a), cy + part_box.h / 2 * grow * np.sin(a)])
        poly = np.array([(part_box.x, part_box.y), (part_box.x2, part_box.y), (part_box.x2, part_box.y2),
                         (part_box.x, part_box.y2)], dtype=np.float64)
    else:
        poly = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    c = poly.mean(axis=0)
    return (poly - c) * grow + c
