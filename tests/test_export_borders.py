"""Crops that reach past the cut: mirrored, never filled with white wedges; transparent with the foreground."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from f2a_studio.core.align import DEFAULT_MARGIN as MARGIN
from f2a_studio.core.align import alignment_matrix, cv_matrix
from f2a_studio.core.models import Box
from f2a_studio.export.render import RenderSettings, aligned_face
from f2a_studio.gui.demo import draw_head, template_landmarks

SIZE = 128


def corner_face(seed: int = 0) -> tuple[np.ndarray, tuple]:
    """A cut of smoothly varying colour (no white anywhere) with a head at its top-left corner."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(20, 200, size=(300, 360, 3), dtype=np.uint8)
    pixels = cv2.GaussianBlur(noise, (0, 0), 6)
    box = Box(4, 2, 120, 130)
    draw_head(pixels, box, rng)
    return np.minimum(pixels, 230), template_landmarks(box)  # eye whites too: white only from a fill


def outside(pixels: np.ndarray, landmarks: tuple, size: int = SIZE) -> np.ndarray:
    """Crop pixels whose source lies off the cut, by OpenCV's own warp of an all-ones mask (1 px margin)."""
    matrix = alignment_matrix(landmarks, size)
    ones = np.full(pixels.shape[:2], 255, np.uint8)
    inside = cv2.warpAffine(ones, cv_matrix(matrix), (size, size), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.dilate((inside == 0).astype(np.uint8), np.ones((3, 3), np.uint8)) == 0


@pytest.mark.parametrize("size", [SIZE, 256])  # downscaled first (INTER_AREA), and warped directly
def test_a_crop_past_the_cut_mirrors_the_cut_instead_of_white_wedges(size: int) -> None:
    pixels, landmarks = corner_face()
    off = ~outside(pixels, landmarks, size)
    assert off.mean() > 0.1  # the crop really reaches well past the corner
    crop, _ = aligned_face(pixels, landmarks, None, RenderSettings("pix2pix", size, MARGIN, False, "white"))
    white = np.all(crop >= 250, axis=2)
    assert not white.any(), f"{white.sum()} white pixels"
    if size == SIZE:
        return  # mirrored after the downscale: the mirror line moves by a fraction of a pixel
    # The part past the edge is the cut mirrored about its edge, as a padded copy of the cut shows.
    pad = 200
    padded = cv2.copyMakeBorder(pixels, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    moved = tuple((x + pad, y + pad, v) for x, y, v in landmarks)
    expected, _ = aligned_face(padded, moved, None, RenderSettings("pix2pix", size, MARGIN, False, "white"))
    assert np.abs(crop.astype(int) - expected.astype(int)).max() <= 1


def test_foreground_crops_are_transparent_past_the_cut() -> None:
    pixels, landmarks = corner_face(1)
    crop, _ = aligned_face(pixels, landmarks, None, RenderSettings("pix2pix", SIZE, MARGIN, True, "transparent"))
    assert crop.shape == (SIZE, SIZE, 4)
    past = ~outside(pixels, landmarks)
    eroded_past = cv2.erode(past.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert eroded_past.any() and crop[eroded_past, 3].max() == 0  # nothing off the cut is foreground
    assert crop[..., 3].max() == 255  # while the face is
