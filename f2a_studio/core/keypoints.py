"""The one keypoint drawing: 68 iBUG points as group polylines on black.

Exports (pix2pix A, concat4's 4th channel), the trainer and the studio's live preview all call
`draw_keypoints`, so a generator sees at inference exactly the kind of drawing it was trained on.
Group colours come from core.ibug68.GROUPS (the same as the studio overlay).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from f2a_studio.core.align import DEFAULT_MARGIN, DEFAULT_SIZE, alignment_matrix, transform_points
from f2a_studio.core.ibug68 import GROUPS, as_array
from f2a_studio.core.models import hex_to_rgb

_SHIFT = 4  # sub-pixel precision of cv2 drawing: coordinates in 1/16 px


def default_thickness(size: int) -> int:
    """Line width in pixels: 2 at 256², scaled with the image."""
    return max(1, round(size / 128))


@cache
def _group_colors() -> tuple[tuple[int, int, int], ...]:
    return tuple(hex_to_rgb(g.color) for g in GROUPS)


def draw_keypoints(
    landmarks: np.ndarray | tuple | list,
    size: int,
    *,
    thickness: int | None = None,
    mono: bool = False,
) -> np.ndarray:
    """Draw 68 landmarks (pixel coordinates of a size×size image, corner convention) on black.

    Returns size×size×3 RGB uint8, or size×size uint8 (lines at 255) with `mono`. Points with
    visibility 0 (not labelled) are left out and break their group's line there.
    """
    pts = as_array(landmarks)
    width = thickness or default_thickness(size)
    canvas = np.zeros((size, size) if mono else (size, size, 3), dtype=np.uint8)
    fixed = np.round((pts[:, :2] - 0.5) * (1 << _SHIFT)).astype(np.int64)
    # keep far-away points from overflowing cv2's int32 coordinates
    fixed = np.clip(fixed, -(size << (_SHIFT + 2)), size << (_SHIFT + 2)).astype(np.int32)
    labelled = pts[:, 2] > 0
    for group, color in zip(GROUPS, _group_colors(), strict=True):
        ink = 255 if mono else color
        idx = list(group.indices)
        if all(labelled[i] for i in idx):
            cv2.polylines(canvas, [fixed[idx]], group.closed, ink, width, cv2.LINE_AA, _SHIFT)
            continue
        run: list[int] = []
        for i in [*idx, -1]:  # -1 flushes the last run
            if i >= 0 and labelled[i]:
                run.append(i)
                continue
            if len(run) >= 2:
                cv2.polylines(canvas, [fixed[run]], False, ink, width, cv2.LINE_AA, _SHIFT)
            elif len(run) == 1:
                cv2.circle(canvas, tuple(int(v) for v in fixed[run[0]]), (width << _SHIFT) // 2 or 1,
                           ink, -1, cv2.LINE_AA, _SHIFT)
            run = []
    return canvas


def aligned_keypoint_image(
    landmarks: np.ndarray | tuple | list,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    *,
    mono: bool = False,
) -> np.ndarray:
    """Landmarks in image coordinates → the drawing of the aligned face: what the preview feeds a generator."""
    aligned = transform_points(landmarks, alignment_matrix(landmarks, size, margin))
    return draw_keypoints(aligned, size, mono=mono)
