"""Opt-in variation of drawn characters, for training and measuring landmark models on what real pages hold
beyond the near-frontal open-eyed faces the generator draws by default (issue 12): shut eyes, three-quarter
and profile-ish views, wider line weights and eye shapes, big-eyed (mostly female) characters.

Everything here changes the character's parameters or the pose before drawing, so the 68-point truth stays
exact (synth.template draws the face through its landmarks). ``Variation()`` is "off": the generator then
draws byte for byte what it drew before (no random draws are taken for it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from f2a_studio.synth.styles import DrawStyle

# |yaw| ranges in degrees; yaw > 0 turns the nose to the image right (synth.geometry.Pose)
VIEWS: dict[str, tuple[float, float]] = {
    "frontal": (0.0, 15.0),
    "three_quarter": (25.0, 42.0),
    "profile": (45.0, 58.0),  # "profile-ish": the far eye narrowed, its outer half behind the outline
}


@dataclass(frozen=True)
class Variation:
    closed_eyes: float = 0.0  # probability that a character's eyes are shut
    views: tuple[str, ...] = ()  # each face's yaw from one of these (picked at random); () = usual poses
    line_scale: tuple[float, float] = (1.0, 1.0)  # stroke widths times a log-uniform factor in this range
    eye_aspect: tuple[float, float] = (1.0, 1.0)  # eye height times a factor in this range (narrow .. round)
    eye_tilt: tuple[float, float] = (0.0, 0.0)  # outer corners raised (> 0, tsurime) or lowered (< 0, tareme)
    big_eyes: tuple[float, float] = (0.0, 0.0)  # probability of a big-eyed character: (female, male)
    big_eye_scale: float = 1.3  # a big-eyed character's eyes times this, growing outwards from the inner corner

    def __post_init__(self) -> None:
        unknown = [v for v in self.views if v not in VIEWS]
        if unknown:
            raise ValueError(f"unknown view(s) {unknown}; known: {', '.join(VIEWS)}")
        for name in ("line_scale", "eye_aspect"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be a range 0 < low <= high, not {(lo, hi)}")
        if not all(0.0 <= p <= 1.0 for p in (self.closed_eyes, *self.big_eyes)):
            raise ValueError("closed_eyes and big_eyes are probabilities in 0..1")

    @property
    def is_off(self) -> bool:
        return self == Variation()


# What the landmark model is pretrained on when widened (detect.synth_faces, learned_train --widened).
LANDMARK_VARIATION = Variation(closed_eyes=0.2, views=("frontal", "frontal", "three_quarter", "profile"),
                               line_scale=(0.5, 2.2), eye_aspect=(0.6, 1.3), eye_tilt=(-0.04, 0.05),
                               big_eyes=(0.5, 0.1))
# The seed's problem (research notes): big-eyed characters, most of them female, whose face a fit that
# sizes the face by the eyes draws too large.
BIG_EYED = Variation(big_eyes=(0.85, 0.1))


def big_eyed(params, scale: float):  # FaceParams -> FaceParams
    """Eyes (and brows) ``scale`` times bigger, the inner corners where they were: the eye centres move
    apart, as on big-eyed drawn characters whose eyes fill the face sideways."""
    w = params.eye_w * scale
    return replace(params, eye_w=w, eye_h=params.eye_h * scale, eye_sep=params.eye_sep + (w - params.eye_w) / 2,
                   brow_len=params.brow_len * scale)


def vary_params(params, rng: np.random.Generator, var: Variation):  # FaceParams -> FaceParams
    """The character's face with ``var``'s shape variation drawn from ``rng``."""
    p = params
    if var.big_eyes != (0.0, 0.0) and rng.random() < var.big_eyes[0 if p.female else 1]:
        p = big_eyed(p, var.big_eye_scale)
    if var.eye_aspect != (1.0, 1.0):
        p = replace(p, eye_h=p.eye_h * float(rng.uniform(*var.eye_aspect)))
    if var.eye_tilt != (0.0, 0.0):
        p = replace(p, eye_tilt=p.eye_tilt + float(rng.uniform(*var.eye_tilt)))
    if var.closed_eyes and rng.random() < var.closed_eyes:
        p = replace(p, eyes_closed=True)
    return p


def vary_style(style: DrawStyle, rng: np.random.Generator, var: Variation) -> DrawStyle:
    if var.line_scale == (1.0, 1.0):
        return style
    lo, hi = np.log(var.line_scale)
    return replace(style, line_scale=style.line_scale * float(np.exp(rng.uniform(lo, hi))))


def vary_yaw(yaw: float, rng: np.random.Generator, var: Variation) -> float:
    """``yaw`` (degrees) or, with views given, one drawn from a view picked at random."""
    if not var.views:
        return yaw
    lo, hi = VIEWS[var.views[int(rng.integers(len(var.views)))]]
    return float(rng.uniform(lo, hi)) * (1.0 if rng.random() < 0.5 else -1.0)
