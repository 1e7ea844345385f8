"""Augmentation with one parameter draw per pair, from a generator seeded by (seed, epoch, index): A and B
get the same jitter crop and flip, every DataLoader worker makes the same draw for the same item, and a
resumed run sees exactly the batches the uninterrupted one would have.

A horizontal flip of a face mirrors its landmarks: image-left becomes image-right, so the iBUG point order is
mirrored too (`mirror_landmarks`). The keypoint drawing colours the left and right groups alike, so flipping
the drawing's pixels gives the drawing of the mirrored points (tests check this), and A images can be flipped
as pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from f2a_studio.core.ibug68 import MIRROR, as_array


@dataclass(frozen=True)
class AugmentParams:
    x: int
    y: int
    flip: bool


def draw_params(seed: int, epoch: int, index: int, load_size: int, crop_size: int, flip: bool) -> AugmentParams:
    rng = np.random.default_rng([seed, epoch, index])
    room = load_size - crop_size
    x, y = (int(v) for v in rng.integers(0, room + 1, size=2))
    return AugmentParams(x, y, bool(flip and rng.random() < 0.5))


def apply(image: Image.Image, params: AugmentParams | None, load_size: int, crop_size: int) -> np.ndarray:
    """Resize to load_size (bicubic, as the reference), crop crop_size at the drawn corner, maybe flip."""
    if params is None:  # evaluation: no jitter
        return np.asarray(image.resize((crop_size, crop_size), Image.Resampling.BICUBIC))
    image = image.resize((load_size, load_size), Image.Resampling.BICUBIC)
    image = image.crop((params.x, params.y, params.x + crop_size, params.y + crop_size))
    if params.flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(image)


def mirror_landmarks(landmarks: np.ndarray | list | tuple, width: float) -> np.ndarray:
    """The landmarks of the horizontally flipped image (corner convention: x → width − x), in iBUG order."""
    pts = as_array(landmarks).copy()
    pts[:, 0] = width - pts[:, 0]
    return pts[list(MIRROR)]
