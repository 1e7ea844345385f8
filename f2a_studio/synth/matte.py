"""The exact alpha matte of a drawn character, for measuring foreground masks.

The drawing composites linearly over what is beneath (supersampled, area-averaged), so drawing the same
character twice, over black and over white, gives its coverage exactly: ``alpha = 1 - (white - black) / 255``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f2a_studio.core.align import DEFAULT_MARGIN, alignment_matrix, inside_coverage, transform_points, warp
from f2a_studio.synth.background import draw_background
from f2a_studio.synth.face import Character, draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.scene import sample_pose_angles


def character_matte(ch: Character, pose: Pose, shape: tuple[int, int]) -> np.ndarray:
    """Coverage (float32 0–1, H×W) of `ch` drawn at `pose` in an image of `shape` (height, width)."""
    over_black = np.zeros((*shape, 3), np.uint8)
    over_white = np.full((*shape, 3), 255, np.uint8)
    draw_character(over_black, ch, pose)
    draw_character(over_white, ch, pose)
    seen = over_white.astype(np.float32) - over_black.astype(np.float32)
    return np.clip(1.0 - seen.mean(axis=2) / 255.0, 0.0, 1.0)


@dataclass(frozen=True)
class MattedCrop:
    """An aligned face crop (as the export aligns it) with the exact matte of its character."""

    rgb: np.ndarray  # size×size×3 uint8
    landmarks: np.ndarray  # 68×3, crop pixels, with visibility
    truth: np.ndarray  # float32 0–1 coverage of the character, 0 outside the cut
    inside: np.ndarray  # bool: crop pixels that lie inside the cut
    hair: str  # the drawn hair colour, #rrggbb


def matted_crop(rng: np.random.Generator, style: str, size: int = 256) -> MattedCrop:
    """A character over a background of `style` (synth.background), cut out and aligned."""
    w, h = int(rng.integers(260, 420)), int(rng.integers(300, 460))
    image = np.empty((h, w, 3), np.uint8)
    draw_background(rng, image, style)
    ch = sample_character(rng)
    yaw, pitch, roll = sample_pose_angles(rng)
    scale = min(w, h) * float(rng.uniform(0.3, 0.42))
    pose = Pose(w / 2 + rng.uniform(-0.08, 0.08) * w, h * 0.44 + rng.uniform(-0.04, 0.04) * h, scale,
                yaw, pitch, roll)
    truth = draw_character(image, ch, pose)
    matte = character_matte(ch, pose, (h, w))
    landmarks = np.column_stack([np.array(truth.landmarks), np.array(truth.visibility, np.float64)])
    matrix = alignment_matrix(landmarks, size, DEFAULT_MARGIN)
    crop = warp(image, matrix, size, mode="reflect").pixels
    inside = inside_coverage(image.shape, matrix, size) > 0.5
    truth_crop = warp(np.round(matte * 255).astype(np.uint8), matrix, size, border=0).pixels / 255.0
    return MattedCrop(crop, transform_points(landmarks, matrix), (truth_crop * inside).astype(np.float32), inside,
                      truth.colors["hair"])


def mask_iou(alpha: np.ndarray, truth: np.ndarray, inside: np.ndarray) -> float:
    """IoU of two masks at 0.5, over the `inside` pixels."""
    p, t = (alpha > 0.5) & inside, (truth > 0.5) & inside
    union = int((p | t).sum())
    return float((p & t).sum() / union) if union else 1.0
