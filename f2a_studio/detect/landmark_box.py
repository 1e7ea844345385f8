"""Where the face is inside a box a person drew: animeface run on a window around the box.

A hand-drawn or imported box is loose, tight or off-centre in its own way (a person boxes the head, hair and
all; COCO tools export whatever the annotator dragged), while the learned landmark model was trained on
detector-like boxes and mostly places the mean face wherever the box puts it: on the devset's hand-placed
points most of its error is global placement (benchmarks/landmarks_devset.py). animeface, where it sees the
face at all, finds the eyes, nose and mouth. So for a person's box the landmark model is given animeface's box
(a detector-like crop, as it was trained on) and the template fit animeface's parts; the face keeps the
person's box. Detection does the same for a learned finder's face and a box the verifier moved
(analyze.landmark_view), and train-landmarks learns from the same crops (landmark_crop).

The window is WINDOW box sides around the box's centre, scaled so the box's longer side is FACE_PX pixels
(animeface's best size); a hit counts when it overlaps the person's box by MIN_IOU. On the 56 point-labelled
devset faces animeface finds 20 so, and the learned model on its box scores 0.178 NME against 0.220 on the
hand box (13 better, 7 worse; devset/README.md). animeface missing or broken: no view, the box is used as is.
"""

from __future__ import annotations

import cv2
import numpy as np

from f2a_studio.core.models import Box, Domain, Face, FaceSource, Parts
from f2a_studio.detect.finders.base import FinderHit

WINDOW = 2.5  # box sides, around the box's centre
FACE_PX = 150.0  # the box's longer side in the window animeface reads
MIN_IOU = 0.3  # with the person's box


def _back(box: Box | None, k: float, x0: int, y0: int) -> Box | None:
    return None if box is None else Box(box.x / k + x0, box.y / k + y0, box.w / k, box.h / k)


def _point_back(p: tuple[float, float] | None, k: float, x0: int, y0: int) -> tuple[float, float] | None:
    return None if p is None else (p[0] / k + x0, p[1] / k + y0)


def animeface_view(pixels: np.ndarray, box: Box) -> FinderHit | None:
    """animeface's face (box, parts, colours, likelihood; image pixels) that best overlaps ``box``, looked
    for in a window around it; None when it finds none there or cannot run."""
    from f2a_studio.detect.finders.animeface import backend_problem, detect_raw

    side = max(box.w, box.h)
    if side < 4 or pixels.ndim != 3 or pixels.shape[2] < 3 or backend_problem() is not None:
        return None
    h, w = pixels.shape[:2]
    cx, cy = box.center
    x0, y0 = int(max(0, cx - WINDOW / 2 * side)), int(max(0, cy - WINDOW / 2 * side))
    x1, y1 = int(min(w, cx + WINDOW / 2 * side)), int(min(h, cy + WINDOW / 2 * side))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    k = FACE_PX / side
    window = cv2.resize(np.ascontiguousarray(pixels[y0:y1, x0:x1, :3]), None, fx=k, fy=k,
                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    best, best_iou = None, MIN_IOU
    for hit in detect_raw(np.ascontiguousarray(window)):
        found = _back(hit.box, k, x0, y0)
        overlap = found.iou(box)
        if overlap >= best_iou:
            best, best_iou = (hit, found), overlap
    if best is None:
        return None
    hit, found = best
    p = hit.parts
    parts = Parts(_back(p.left_eye, k, x0, y0), _back(p.right_eye, k, x0, y0), _back(p.mouth, k, x0, y0),
                  _point_back(p.nose, k, x0, y0), _point_back(p.chin, k, x0, y0))
    return FinderHit(found, hit.raw_score, parts, hit.colors)


def drawn_by_person(face: Face) -> bool:
    """Is the face's box a person's (drawn in the studio, moved, or imported), not a detector's?"""
    return face.source is FaceSource.HUMAN or "box" in face.human_fields


def has_parts(parts: Parts) -> bool:
    return any(getattr(parts, name) is not None for name in ("left_eye", "right_eye", "mouth", "nose", "chin"))


def landmark_crop(pixels: np.ndarray, face: Face, domain: Domain | str = Domain.ANIME) -> tuple[Box, Parts]:
    """The box the landmark model crops and the parts the template fit takes for ``face``: animeface's view
    for a person's box on an anime image when it has one, else the face's own. Fitting (refit_face) and
    training (train-landmarks) both ask here, so the model learns from the crops it will be given."""
    if Domain.parse(domain) is Domain.ANIME and drawn_by_person(face):
        view = animeface_view(pixels, face.box)
        if view is not None:
            return view.box, face.parts if has_parts(face.parts) else view.parts
    return face.box, face.parts
