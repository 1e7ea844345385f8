"""Foreground masks against exact truth (synth.matte): the export's method beats GrabCut where the
background is drawn flat or as a gradient, the styles of most webtoon panels."""

from __future__ import annotations

import numpy as np

from f2a_studio.export.masks import foreground_alpha, grabcut_alpha
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.matte import character_matte, mask_iou, matted_crop


def test_matte_is_the_exact_coverage_of_the_drawing() -> None:
    rng = np.random.default_rng(0)
    ch = sample_character(rng)
    pose = Pose(100, 90, 70, 10.0, 0.0, 5.0)
    alpha = character_matte(ch, pose, (200, 200))
    background = rng.integers(0, 256, size=(200, 200, 3), dtype=np.uint8)
    drawn, over_black = background.copy(), np.zeros_like(background)
    draw_character(drawn, ch, pose)
    draw_character(over_black, ch, pose)
    composed = over_black + (1 - alpha[..., None]) * background  # what the drawing did, from the matte
    assert np.abs(composed - drawn).max() <= 2
    assert 0.1 < (alpha > 0.5).mean() < 0.9 and ((alpha > 0) & (alpha < 1)).any()  # edges anti-aliased


def test_foreground_beats_grabcut_on_flat_and_gradient_backgrounds() -> None:
    rng = np.random.default_rng(5)
    ours, theirs = [], []
    for style in ("flat", "gradient") * 3:
        c = matted_crop(rng, style)
        ours.append(mask_iou(foreground_alpha(c.rgb, c.landmarks, c.hair), c.truth, c.inside))
        theirs.append(mask_iou(grabcut_alpha(c.rgb, c.landmarks, c.hair), c.truth, c.inside))
    assert np.mean(ours) > np.mean(theirs), (ours, theirs)
    assert sum(o >= t for o, t in zip(ours, theirs, strict=True)) >= 4, (ours, theirs)


def test_foreground_mask_is_deterministic() -> None:
    c = matted_crop(np.random.default_rng(9), "room")
    assert np.array_equal(foreground_alpha(c.rgb, c.landmarks, c.hair), foreground_alpha(c.rgb, c.landmarks, c.hair))
