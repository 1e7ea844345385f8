"""Box refinement: where, in the verifier's crop of a candidate, the face's own box is.

On real pages a quarter of the best-ranked false alarms are real faces under a box that is off-centre or
head-sized (IoU 0.1–0.3 with the face's box: benchmarks/results/verifier_devset_errors_2026-12-03.json),
and animeface's boxes follow another convention than the project's. The verifier's box head reads the
face's box off the same crop it judges, as offsets from the candidate's square (the crop's frame):

    dx, dy = (face centre − candidate centre) / S,   lw, lh = log(face w / S), log(face h / S)

with S = max(w, h) of the candidate (the crop covers ``span`` × S around its centre). Pure numpy: the
training targets (verifiers/train.py) and the analysis share these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REFINE_IOU = 0.1  # a candidate overlapping a face this much learns where that face's box is
MAX_LOG_SIZE = float(np.log(4.0))  # a refined box is at most 4× larger or smaller than the candidate


def offsets(candidate: Sequence[float], face: Sequence[float]) -> np.ndarray:
    """(dx, dy, lw, lh) of ``face`` in the frame of ``candidate`` (both x y w h)."""
    x, y, w, h = (float(v) for v in candidate[:4])
    fx, fy, fw, fh = (float(v) for v in face[:4])
    s = max(w, h, 1.0)
    return np.array([(fx + fw / 2 - x - w / 2) / s, (fy + fh / 2 - y - h / 2) / s,
                     np.log(max(fw, 1e-3) / s), np.log(max(fh, 1e-3) / s)])


def applied(boxes: np.ndarray, deltas: np.ndarray, span: float) -> np.ndarray:
    """N×4 boxes moved by N×4 offsets; the centre stays inside the crop (``span`` box sides) and the
    size within 4× of the candidate's, so a wild output cannot send a box off the picture."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    d = np.asarray(deltas, np.float64).reshape(-1, 4)
    s = np.maximum(np.maximum(boxes[:, 2], boxes[:, 3]), 1.0)
    half = span / 2
    cx = boxes[:, 0] + boxes[:, 2] / 2 + np.clip(d[:, 0], -half, half) * s
    cy = boxes[:, 1] + boxes[:, 3] / 2 + np.clip(d[:, 1], -half, half) * s
    w = s * np.exp(np.clip(d[:, 2], -MAX_LOG_SIZE, MAX_LOG_SIZE))
    h = s * np.exp(np.clip(d[:, 3], -MAX_LOG_SIZE, MAX_LOG_SIZE))
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


def nearest_face(box: Sequence[float], faces: Sequence[Sequence[float]], iou) -> tuple[int, float]:
    """The face ``box`` overlaps most and that IoU (-1, 0.0 without faces)."""
    best, best_iou = -1, 0.0
    for i, f in enumerate(faces):
        v = iou(box, f)
        if v > best_iou:
            best, best_iou = i, v
    return best, best_iou
