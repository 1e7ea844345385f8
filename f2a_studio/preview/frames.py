"""Pictures in and out of a generator: the keypoint drawing, aligned face crops, and the value scaling.

The keypoint drawing is core.keypoints.aligned_keypoint_image, the function the pix2pix export draws
its A images with, so the generator sees at preview time exactly what it was trained on.
"""

from __future__ import annotations

import cv2
import numpy as np

from f2a_studio.core.align import alignment_matrix, warp
from f2a_studio.core.keypoints import aligned_keypoint_image
from f2a_studio.preview.spec import InputSpec


def keypoint_drawing(landmarks: object, spec: InputSpec) -> np.ndarray:
    """The aligned keypoint drawing of 68 [x, y, v] image-space landmarks, size×size×C uint8."""
    return aligned_keypoint_image(landmarks, spec.size, spec.margin, mono=spec.in_channels == 1)  # type: ignore[arg-type]


def aligned_face(pixels: np.ndarray, landmarks: object, size: int, margin: float) -> np.ndarray:
    """The aligned crop of a face from its cut (the B side of the pix2pix export), size×size×3 uint8.

    Mirrored at the cut's edge like the export (export/render.py): a face model trained on its crops
    never saw flat white wedges, so the preview must not feed it any."""
    rgb = pixels[..., :3] if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
    matrix = alignment_matrix(landmarks, size, margin)  # type: ignore[arg-type]
    return warp(np.ascontiguousarray(rgb), matrix, size, mode="reflect").pixels


def square_photo(pixels: np.ndarray, size: int) -> np.ndarray:
    """A photo with no landmarks (dropped on the dock): its centred square, resized to size×size×3."""
    rgb = pixels[..., :3] if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(rgb[y0:y0 + side, x0:x0 + side])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def to_batch(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 H×W(×C) → float32 1×C×H×W scaled to the spec's value range."""
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] != spec.in_channels:
        image = image[..., :1] if spec.in_channels == 1 else np.repeat(image[..., :1], 3, axis=2)
    lo, hi = spec.value_range
    x = image.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def from_batch(batch: np.ndarray, spec: InputSpec) -> np.ndarray:
    """float32 1×C×H×W in the value range → uint8 H×W×3 RGB (grey outputs repeated)."""
    lo, hi = spec.value_range
    y = (batch[0].transpose(1, 2, 0) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    out = np.clip(y + 0.5, 0, 255).astype(np.uint8)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out)
