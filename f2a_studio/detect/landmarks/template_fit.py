"""68 landmarks from the detector's coarse parts: a mean 3D cartoon face, posed and scaled to fit.

The fit is a small weighted least-squares problem (translation, scale, yaw, pitch, roll) over the eye
centres, nose tip, mouth centre, chin and the face box, each weighted by how much the detector scatters
for that part, with weak priors on the angles. It is done with the female and with the male mean face:
their proportions differ (a female character's chin sits much closer to her big eyes), which is where a
human-face model goes wrong on big-eyed characters and draws the face too large. The character's sex, when
known, is a strong prior; otherwise how well each fits decides, and the two are blended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.face_model import BOX_CENTER_Y, FaceModel, SexModel, rotation

YAW_SIGMA = 22.0  # degrees: weak priors that keep a 5-point fit from wandering
PITCH_SIGMA = 12.0
ROLL_SIGMA = 30.0
SEX_EVIDENCE_WEIGHT = 0.5  # tempers the fit-residual evidence for sex (few, correlated residuals)


@dataclass(frozen=True)
class TemplateFit:
    points: np.ndarray  # (68, 2) image pixels
    yaw: float
    pitch: float
    roll: float
    scale: float  # pixels per canonical unit (= jaw width in pixels)
    p_female: float  # posterior used for the blend
    cost: float


def observations(box: Box, parts: Parts) -> dict[str, np.ndarray]:
    obs: dict[str, np.ndarray] = {"box_center": np.array(box.center)}
    for name in ("left_eye", "right_eye", "mouth"):
        b = getattr(parts, name)
        if b is not None:
            obs[name] = np.array(b.center)
    for name in ("nose", "chin"):
        p = getattr(parts, name)
        if p is not None:
            obs[name] = np.array(p, dtype=np.float64)
    return obs


def _project(points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    tx, ty, log_k, yaw, pitch, roll = theta
    q = points @ rotation(yaw, pitch, roll).T
    return q[:, :2] * math.exp(log_k) + (tx, ty)


def fit_one(model: SexModel, box: Box, parts: Parts) -> TemplateFit:
    """Pose and scale one mean face (one sex) to the detector's parts."""
    obs = observations(box, parts)
    names = list(obs)
    anchors = np.array([model.anchor_point(n) for n in names])
    sigmas = np.array([model.anchors[n].sigma if n in model.anchors else 0.06 for n in names])
    target = np.array([obs[n] for n in names])
    side = max(box.w, box.h, 1.0)
    k0 = side / model.box_side_per_width  # fixed residual scale: the fit cannot win by shrinking
    roll0 = 0.0
    if "left_eye" in obs and "right_eye" in obs:
        d = obs["right_eye"] - obs["left_eye"]
        roll0 = math.degrees(math.atan2(d[1], d[0]))
    start = _project(anchors[:1], np.array([0, 0, math.log(k0), 0, 0, roll0]))[0]
    theta0 = np.array([target[0, 0] - start[0], target[0, 1] - start[1], math.log(k0), 0.0, 0.0, roll0])

    def residuals(theta: np.ndarray) -> np.ndarray:
        diff = (_project(anchors, theta) - target) / (k0 * sigmas[:, None])
        size = (theta[2] - math.log(k0)) / model.box_side_sigma
        priors = [theta[3] / YAW_SIGMA, theta[4] / PITCH_SIGMA, (theta[5] - roll0) / ROLL_SIGMA]
        return np.concatenate([diff.ravel(), [size], priors])

    # imported here: scipy.optimize costs ~0.7 s to import, and the studio and CLI load this module (through
    # detect.analyze's options) without ever fitting; only the worker processes fit.
    from scipy.optimize import least_squares

    result = least_squares(residuals, theta0, method="lm" if len(names) >= 2 else "trf", x_scale="jac")
    theta = result.x
    pts = _project(model.points, theta)
    return TemplateFit(pts, float(theta[3]), float(theta[4]), float(theta[5]), math.exp(theta[2]), 0.0,
                       float(np.sum(result.fun**2)))


def fit_template(model: FaceModel, box: Box, parts: Parts, p_female: float = 0.5) -> TemplateFit:
    """Fit both sexes and blend them by the posterior of female given `p_female` and the fit costs."""
    p_female = min(max(p_female, 1e-3), 1 - 1e-3)
    fem = fit_one(model.female, box, parts)
    mal = fit_one(model.male, box, parts)
    log_odds = math.log(p_female / (1 - p_female)) - SEX_EVIDENCE_WEIGHT * 0.5 * (fem.cost - mal.cost)
    post = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, log_odds))))
    best = fem if post >= 0.5 else mal
    points = post * fem.points + (1 - post) * mal.points
    return TemplateFit(points, best.yaw, best.pitch, best.roll, post * fem.scale + (1 - post) * mal.scale, post,
                       best.cost)


def place_by_box(model: FaceModel, box: Box) -> np.ndarray:
    """The unfitted template: the mean face scaled to the box, upright and frontal (the benchmark's
    baseline, and what a box without parts would get from a naive tool)."""
    cx, cy = box.center
    k = max(box.w, box.h)
    pts = model.mean[:, :2] * k
    return pts + np.array([cx, cy - BOX_CENTER_Y * k])
