"""How much the learned landmark model and the template fit disagree on a face (NME over the template's
eye distance): the review queue's landmark signal (core.review_queue). Where they agree, two very different
methods found the same face; where they do not, one of them is wrong and a person should look."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Face
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.detect.sex import p_female_of


def landmark_disagreement(pixels: np.ndarray, faces: Sequence[Face], search_path: Sequence[Path]) -> dict[int, float]:
    """Face id → NME between the two fits; empty when no learned model is on the search path."""
    from f2a_studio.detect.landmarks import LearnedLandmarkBackend

    if not LearnedLandmarkBackend.available(search_path):
        return {}
    learned = LearnedLandmarkBackend(search_path)
    try:
        learned.load()
    except Exception:
        return {}
    model = load_face_model()
    out = {}
    for face in faces:
        assert face.id is not None
        p = p_female_of(face)
        fit = fit_template(model, face.box, face.parts, p)
        pts = learned.predict(pixels, face.box, face.parts, fit.p_female).points
        t = fit.points
        iod = float(np.linalg.norm(t[36:42].mean(0) - t[42:48].mean(0))) or 1.0
        out[face.id] = float(np.mean(np.linalg.norm(pts - t, axis=1)) / iod)
    return out
