"""How unsure the landmarks of a face are, as NME (over the eye distance): the review queue's landmark
signal (core.review_queue).

Two measures. ``learned_spread``: the learned model asked again with its crop moved and zoomed a little, as
a detector's box would be; where the model has learned the face its points stay put, where it is guessing
(a pose, a style or an occlusion it does not know) they follow the crop. On synthetic faces in a style held
out from pretraining it ranks the faces whose landmarks are wrong far better than the gap to the template
fit does (benchmarks/learning_bench.py, "queue"), because the template fit is itself off by ~0.15 NME on
most faces. ``template_gap``: the distance between the learned model and the template fit.
``landmark_disagreement`` uses the spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Face
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.detect.sex import p_female_of

# crops moved by these box sides and zoomed by these factors (a detector's box is off by about this much)
JITTERS: tuple[tuple[float, float, float], ...] = ((0.06, 0.0, 1.0), (-0.06, 0.0, 1.0), (0.0, 0.06, 1.0),
                                                     (0.0, -0.06, 1.0), (0.0, 0.0, 1.1), (0.0, 0.0, 0.9))


def _nme(a: np.ndarray, b: np.ndarray) -> float:
    iod = float(np.linalg.norm(b[36:42].mean(0) - b[42:48].mean(0))) or 1.0
    return float(np.mean(np.linalg.norm(a - b, axis=1)) / iod)


def _moved(box: Box | Sequence[float], dx: float, dy: float, zoom: float) -> list[float]:
    x, y, w, h = box.to_list() if isinstance(box, Box) else [float(v) for v in box]
    nw, nh = w * zoom, h * zoom
    return [x + dx * w + (w - nw) / 2, y + dy * h + (h - nh) / 2, nw, nh]


def learned_spread(net, pixels: np.ndarray, box: Box | Sequence[float], p_female: float,
                   points: np.ndarray | None = None) -> float:
    """Mean NME between the learned model's points for ``box`` (``points``, if already predicted) and its
    points for the box moved and zoomed by each of JITTERS."""
    from f2a_studio.detect.landmarks.learned import predict_points

    base = points if points is not None else predict_points(net, pixels, box, p_female)[0]
    return float(np.mean([_nme(predict_points(net, pixels, _moved(box, *j), p_female)[0], base)
                          for j in JITTERS]))


def template_gap(learned_points: np.ndarray, template_points: np.ndarray) -> float:
    return _nme(np.asarray(learned_points), np.asarray(template_points))


def landmark_disagreement(pixels: np.ndarray, faces: Sequence[Face], search_path: Sequence[Path]) -> dict[int, float]:
    """Face id → the learned model's spread (``learned_spread``); empty when no learned model loads."""
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
        p = fit_template(model, face.box, face.parts, p_female_of(face)).p_female
        out[face.id] = learned_spread(learned.net, pixels, face.box, p)
    return out
