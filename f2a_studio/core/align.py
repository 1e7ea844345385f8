"""Aligned face crops: a similarity transform that puts the eye centres and the mouth on canonical points.

Coordinates follow the project's convention: (0, 0) is the top-left corner of the top-left pixel, so
pixel centres sit at +0.5 (OpenCV puts them at integers; `cv_matrix` converts).

Canonical points are given in "face units" (jaw width = 1, origin between the eyes, y down), measured
on the synthetic characters (f2a_studio/synth: eyes at x = ±0.218, outer-lip centre at y = 0.456).
A crop of margin 0 spans FACE_SPAN face units around FACE_CENTER (brows to chin, jaw to jaw); a margin
m widens it to FACE_SPAN · (1 + 2m), so the default 0.3 takes in most of the hair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from f2a_studio.core.ibug68 import as_array

CANONICAL_FACE_UNITS = np.array([[-0.218, 0.0], [0.218, 0.0], [0.0, 0.456]])  # left eye, right eye, mouth
FACE_CENTER = np.array([0.0, 0.05])
FACE_SPAN = 1.3
DEFAULT_SIZE = 256
DEFAULT_MARGIN = 0.3
SIZES = tuple(2**k for k in range(6, 11))  # 64 … 1024

_LEFT_EYE = range(36, 42)
_RIGHT_EYE = range(42, 48)
_OUTER_LIPS = range(48, 60)


class AlignmentError(ValueError):
    """The landmarks do not give the eyes and the mouth (not labelled, or degenerate)."""


def check_size(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"crop size must be a power of two from 64 to 1024 ({', '.join(map(str, SIZES))}), got {size}")
    return size


def check_margin(margin: float) -> float:
    if not (0.0 <= margin <= 2.0) or math.isnan(margin):
        raise ValueError(f"margin must be within 0–2 (a fraction of the face span on each side), got {margin}")
    return float(margin)


def canonical_points(size: int = DEFAULT_SIZE, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """(3, 2) pixel positions of the left eye, right eye and mouth centres in an aligned crop."""
    span = FACE_SPAN * (1.0 + 2.0 * margin)
    return ((CANONICAL_FACE_UNITS - FACE_CENTER) / span + 0.5) * size


def anchor_points(landmarks: np.ndarray | tuple | list) -> np.ndarray:
    """(3, 2) eye centres and outer-lip centre from 68 [x, y, v] landmarks (labelled points only)."""
    pts = as_array(landmarks)
    out = []
    for name, idx in (("left eye", _LEFT_EYE), ("right eye", _RIGHT_EYE), ("mouth", _OUTER_LIPS)):
        sel = [i for i in idx if pts[i, 2] > 0]
        if len(sel) < 2:
            raise AlignmentError(f"{name} landmarks are not labelled")
        out.append(pts[sel, :2].mean(axis=0))
    anchors = np.array(out)
    if np.linalg.norm(anchors[1] - anchors[0]) < 1e-6:
        raise AlignmentError("the eye centres coincide")
    return anchors


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) src → dst, as 2×3."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    # Closed form for 2-D (Umeyama): with complex numbers z' = a·z, a = Σ conj(s)·d / Σ |s|².
    zs = s[:, 0] + 1j * s[:, 1]
    zd = d[:, 0] + 1j * d[:, 1]
    a = np.sum(np.conj(zs) * zd) / np.sum(np.abs(zs) ** 2)
    rot = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.hstack([rot, (mu_d - rot @ mu_s)[:, None]])


def alignment_matrix(landmarks: np.ndarray | tuple | list, size: int = DEFAULT_SIZE,
                     margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """2×3 matrix mapping image coordinates to aligned-crop coordinates (both corner convention)."""
    return similarity(anchor_points(landmarks), canonical_points(size, margin))


def transform_points(landmarks: np.ndarray | tuple | list, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2×3 matrix to 68 [x, y, v] landmarks; visibility is kept."""
    pts = as_array(landmarks).copy()
    pts[:, :2] = pts[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return pts


def matrix_scale(matrix: np.ndarray) -> float:
    return float(math.hypot(matrix[0, 0], matrix[1, 0]))


def cv_matrix(matrix: np.ndarray) -> np.ndarray:
    """Corner-convention matrix → OpenCV's pixel-centre convention."""
    out = np.array(matrix, dtype=np.float64)
    out[:, 2] = out[:, 2] + out[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return out


@dataclass(frozen=True)
class Warped:
    pixels: np.ndarray  # size×size×C uint8
    matrix: np.ndarray  # the image → crop matrix that was applied (corner convention)


BORDER_MODES = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def warp(pixels: np.ndarray, matrix: np.ndarray, size: int, *, border: int | tuple[int, ...] = 255,
         mode: str = "constant") -> Warped:
    """Resample `pixels` (H×W or H×W×C uint8) into a size×size crop.

    Where the crop reaches past the cut, `mode` "constant" fills with `border`; "reflect" mirrors the cut
    at its edge (no flat wedges in a dataset: a face near a cut's corner otherwise gets white triangles).
    Strong downscaling first shrinks the source region with INTER_AREA so the crop does not alias.
    """
    if mode not in BORDER_MODES:
        raise ValueError(f"border mode must be one of {', '.join(BORDER_MODES)}, got {mode!r}")
    m = np.array(matrix, dtype=np.float64)
    src = pixels
    scale = matrix_scale(m)
    if scale < 0.8:
        inv = cv2.invertAffineTransform(m)
        corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
        footprint = corners @ inv[:, :2].T + inv[:, 2]
        h, w = pixels.shape[:2]
        x0 = int(max(0, math.floor(footprint[:, 0].min()) - 2))
        y0 = int(max(0, math.floor(footprint[:, 1].min()) - 2))
        x1 = int(min(w, math.ceil(footprint[:, 0].max()) + 2))
        y1 = int(min(h, math.ceil(footprint[:, 1].max()) + 2))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = pixels[y0:y1, x0:x1]
            nw, nh = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
            src = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
            # crop pixel (u, v) ← region (u·(x1-x0)/nw, …) ← image + (x0, y0)
            fx, fy = (x1 - x0) / nw, (y1 - y0) / nh
            pre = np.array([[fx, 0.0, x0], [0.0, fy, y0], [0.0, 0.0, 1.0]])
            m = m @ pre
    channels = 1 if src.ndim == 2 else src.shape[2]
    value = border if isinstance(border, tuple) else (border,) * channels
    out = cv2.warpAffine(src, cv_matrix(m), (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=BORDER_MODES[mode], borderValue=value)
    return Warped(out, np.array(matrix, dtype=np.float64))


def inside_coverage(image_shape: tuple[int, ...], matrix: np.ndarray, size: int) -> np.ndarray:
    """Per crop pixel, how much of it lies inside the cut (float32 0–1, anti-aliased at the edge).

    Computed from the geometry (the distance of each crop pixel's source point to the cut's edge), so
    it costs size² operations whatever the cut's size."""
    h, w = image_shape[:2]
    m = np.array(matrix, dtype=np.float64)
    inv = cv2.invertAffineTransform(m)
    centres = np.arange(size, dtype=np.float64) + 0.5
    u, v = np.meshgrid(centres, centres)
    x = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
    y = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    inside = np.minimum(np.minimum(x, w - x), np.minimum(y, h - y))  # source pixels to the nearest edge
    return np.clip(inside * matrix_scale(m) + 0.5, 0.0, 1.0).astype(np.float32)
