"""Synthetic single faces with exact truth, for pretraining the crop models (sex, landmarks) and their
benchmarks: one character per image in a named drawing style (synth.styles), seeded per index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from f2a_studio.synth.scene import make_character_image
from f2a_studio.synth.truth import FaceTruth
from f2a_studio.synth.variation import Variation

HELD_OUT = "dark_realistic"  # the style left out of pretraining (as the learned finder does)


@dataclass(frozen=True)
class SynthFace:
    image: np.ndarray  # H×W×3 uint8
    truth: FaceTruth
    style: str


def synth_faces(seed: int, n: int, styles: Sequence[str], size: int = 128,
                variation: Variation | None = None) -> list[SynthFace]:
    """``n`` faces, styles taking turns, sexes balanced by the sampler; ``variation`` (synth.variation)
    widens faces, line weights and views."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 7])
        style = styles[i % len(styles)]
        panel = make_character_image(rng, size, style=style, variation=variation)
        out.append(SynthFace(panel.image, panel.faces[0], style))
    return out


def jittered_points(points: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """The points under a small random similarity (shift, scale, rotation) plus per-point noise: what an
    imperfect fit gives the aligner at inference."""
    pts = np.asarray(points, np.float64)[:, :2]
    iod = float(np.linalg.norm(pts[42:48].mean(0) - pts[36:42].mean(0))) or 1.0
    c = pts.mean(0)
    a = np.radians(rng.normal(0, 3.0 * amount))
    k = 1 + rng.normal(0, 0.05 * amount)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * k
    out = (pts - c) @ r.T + c + rng.normal(0, 0.06 * amount * iod, 2)
    return out + rng.normal(0, 0.03 * amount * iod, out.shape)
