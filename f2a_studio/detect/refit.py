"""Refit one face's landmarks and pose in-process: after an annotator confirms the character's sex, or
moves the box or parts. Only the template fit runs (numpy/scipy, tens of milliseconds; no animeface, no
torch), so a studio worker thread may call it. Colours are left as they are (they may be hand-picked).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from f2a_studio.core.models import Face, Pose, Sex
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.detect.landmarks.visibility import visibility
from f2a_studio.detect.pose import estimate_pose

CONFIRMED = 0.97  # prior probability of female for a confirmed female (1 - this for a male)


def sex_prior(sex: Sex | str, sex_prob: float | None = None) -> float:
    """P(female) used as the fit's prior: the label's probability when given, else a confirmed label's."""
    sex = Sex(sex)
    if sex is Sex.UNKNOWN:
        return 0.5
    p = CONFIRMED if sex_prob is None else min(max(float(sex_prob), 0.5), CONFIRMED)
    return p if sex is Sex.FEMALE else 1.0 - p


def refit_face(pixels: np.ndarray, face: Face, sex: Sex | str | None = None) -> Face:
    """`face` with landmarks (template backend, the sex as prior) and pose fitted again to its box and
    parts. `sex` overrides the face's own label (e.g. the one the annotator just chose)."""
    model = load_face_model()
    label = Sex(sex) if sex is not None else face.sex
    prob = face.sex_prob if sex is None else None
    fit = fit_template(model, face.box, face.parts, sex_prior(label, prob))
    vis = visibility(fit.points, pixels, face.colors)
    shape = model.female.points if fit.p_female >= 0.5 else model.male.points
    pose = estimate_pose(fit.points, shape, visible=vis > 0) or Pose(fit.yaw, fit.pitch, fit.roll)
    landmarks = tuple((float(x), float(y), int(v)) for (x, y), v in zip(fit.points, vis, strict=True))
    return replace(face, landmarks=landmarks, pose=pose)
