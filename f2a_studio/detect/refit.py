"""Refit one face's landmarks and pose in-process: after an annotator confirms the character's sex, or
moves the box or parts. The first landmark backend on the search path runs (the learned model when its
file is there, else the template fit: numpy/scipy, tens of milliseconds), so a studio worker thread may
call it. A box a person drew gets animeface's view of the face inside it first (detect/landmark_box.py, about
0.1 s): the landmark model crops animeface's box, the template fit takes its parts. Colours are left as they
are (they may be hand-picked). A face whose sex nobody set gets the sex
classifier's p(female) as the prior (it is not written: `predict_sex` does that, as a prediction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Domain, Face, Pose, Sex
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmark_box import landmark_crop
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


def _stamp(search_path: tuple[Path, ...]) -> tuple:
    """The model files' modification times: a model trained meanwhile is loaded afresh."""
    out = []
    for folder in search_path:
        for f in sorted(Path(folder).glob("*-learned.safetensors")):
            out.append((str(f), f.stat().st_mtime_ns))
    return tuple(out)


@lru_cache(maxsize=4)
def _sex_backend(search_path: tuple[Path, ...], stamp: tuple = ()):
    from f2a_studio.detect.sex import choose_sex_backend

    return choose_sex_backend(list(search_path))


@lru_cache(maxsize=4)
def _landmark_backend(search_path: tuple[Path, ...], stamp: tuple = (), domain: str = "anime"):
    from f2a_studio.detect.landmarks import choose_backend

    backend = choose_backend(list(search_path), domain=domain)
    backend.load()
    return backend


def _path(search_path: Sequence[Path] | None) -> tuple[Path, ...]:
    from f2a_studio.core.search_path import model_search_path

    return tuple(Path(p) for p in (model_search_path() if search_path is None else search_path))


def predict_sex(pixels: np.ndarray, face: Face, search_path: Sequence[Path] | None = None) -> Face:
    """``face`` with its sex predicted (and marked as a prediction) unless a person set it."""
    from f2a_studio.detect.sex import apply_prediction

    path = _path(search_path)
    chosen = _sex_backend(path, _stamp(path))
    return apply_prediction(face, chosen.backend.predict_many(pixels, [face])[0])


def refit_face(pixels: np.ndarray, face: Face, sex: Sex | str | None = None,
               search_path: Sequence[Path] | None = None, domain: Domain | str = Domain.ANIME) -> Face:
    """`face` with landmarks (the first landmark backend for the image's `domain`, the sex as prior) and pose
    fitted again to its box and parts. `sex` overrides the face's own label (e.g. the one the annotator just
    chose). A photo's face (domain human) gets the human backends, as in detection: no anime landmark model
    and no sex guess by the anime classifier."""
    domain = Domain.parse(domain)
    model = load_face_model()
    label = Sex(sex) if sex is not None else face.sex
    prob = face.sex_prob if sex is None else None
    if label is Sex.UNKNOWN and face.landmarks and domain is Domain.ANIME:
        guess = predict_sex(pixels, face, search_path)
        label, prob = guess.sex, guess.sex_prob
    prior = sex_prior(label, prob)
    crop_box, parts = landmark_crop(pixels, face, domain)  # where the face is inside a person's box
    fit = fit_template(model, face.box, parts, prior)
    points, confidence = fit.points, None
    path = _path(search_path)
    backend = _landmark_backend(path, _stamp(path), domain.value)
    if backend.name != "template":
        result = backend.predict(pixels, crop_box, parts, fit.p_female)
        points, confidence = result.points, result.confidence
    vis = visibility(points, pixels, face.colors, confidence)
    shape = model.female.points if fit.p_female >= 0.5 else model.male.points
    pose = estimate_pose(points, shape, visible=vis > 0) or Pose(fit.yaw, fit.pitch, fit.roll)
    landmarks = tuple((float(x), float(y), int(v)) for (x, y), v in zip(points, vis, strict=True))
    return replace(face, landmarks=landmarks, pose=pose)
