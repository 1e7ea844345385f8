"""Fast correction: a person places a few anchor points (eye centres, nose tip, mouth corners, chin) and
the other points are refitted to them at once.

The anchors become the detector parts of a template fit (the fit is made for exactly these five
observations), the fit is then moved onto the anchors exactly: each eye (with its brow) shifted onto its
centre, the mouth mapped by the similarity that takes its fitted corners to the placed ones, the jaw bent so
the chin lands on its point (the bend fading towards the ears). Only the anchors count as a person's points
(`anchor_indices`); the rest is a fit and stays open to a model's refit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from f2a_studio.core.align import similarity
from f2a_studio.core.models import Box, Face, Parts
from f2a_studio.core.provenance import Provenance
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.detect.sex import p_female_of

ANCHORS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right", "chin")
ANCHOR_POINTS = {"nose": 30, "mouth_left": 48, "mouth_right": 54, "chin": 8}  # iBUG index of a point anchor
EYES = {"left_eye": (range(36, 42), range(17, 22)), "right_eye": (range(42, 48), range(22, 27))}


def anchor_indices(anchors: Mapping[str, tuple[float, float]]) -> frozenset[int]:
    """The landmark indices a person placed with these anchors (an eye centre places its six points)."""
    out: set[int] = set()
    for name in anchors:
        if name in ANCHOR_POINTS:
            out.add(ANCHOR_POINTS[name])
        elif name in EYES:
            out |= set(EYES[name][0])
    return frozenset(out)


def anchors_of(face: Face) -> dict[str, tuple[float, float]]:
    """The anchors a person placed on `face` before, read back from its human points: an eye whose six
    points are all a person's gives its centre, the nose tip, mouth corners and chin their point. (Points
    a person dragged one by one count too: they are a person's placement all the same.)"""
    if len(face.landmarks) != 68:
        return {}
    human = face.human_points
    pts = np.asarray([p[:2] for p in face.landmarks], np.float64)
    out: dict[str, tuple[float, float]] = {}
    for name in ANCHORS:
        if name in EYES:
            eye = list(EYES[name][0])
            if human.issuperset(eye):
                cx, cy = pts[eye].mean(0)
                out[name] = (float(cx), float(cy))
        elif ANCHOR_POINTS[name] in human:
            x, y = pts[ANCHOR_POINTS[name]]
            out[name] = (float(x), float(y))
    return out


def _parts(anchors: Mapping[str, tuple[float, float]], box: Box, old: Parts) -> Parts:
    side = max(box.w, box.h) * 0.12

    def small_box(p):
        return Box(p[0] - side / 2, p[1] - side / 4, side, side / 2)

    mouth = None
    if "mouth_left" in anchors and "mouth_right" in anchors:
        a, b = np.asarray(anchors["mouth_left"]), np.asarray(anchors["mouth_right"])
        c = (a + b) / 2
        w = max(float(np.linalg.norm(b - a)), 1.0)
        mouth = Box(c[0] - w / 2, c[1] - w / 8, w, w / 4)
    return Parts(
        left_eye=small_box(anchors["left_eye"]) if "left_eye" in anchors else old.left_eye,
        right_eye=small_box(anchors["right_eye"]) if "right_eye" in anchors else old.right_eye,
        mouth=mouth or old.mouth,
        nose=tuple(map(float, anchors["nose"])) if "nose" in anchors else old.nose,
        chin=tuple(map(float, anchors["chin"])) if "chin" in anchors else old.chin,
    )


def fit_to_anchors(face: Face, anchors: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """(68, 2) points through the anchors (see the module docstring)."""
    unknown = set(anchors) - set(ANCHORS)
    if unknown:
        raise ValueError(f"unknown anchor(s) {sorted(unknown)}; known: {', '.join(ANCHORS)}")
    fit = fit_template(load_face_model(), face.box, _parts(anchors, face.box, face.parts), p_female_of(face))
    pts = fit.points.copy()
    for name, (eye, brow) in EYES.items():
        if name in anchors:
            d = np.asarray(anchors[name], np.float64) - pts[list(eye)].mean(0)
            pts[list(eye)] += d
            pts[list(brow)] += d
    if "mouth_left" in anchors and "mouth_right" in anchors:
        m = similarity(pts[[48, 54]], np.array([anchors["mouth_left"], anchors["mouth_right"]], np.float64))
        pts[48:68] = pts[48:68] @ m[:, :2].T + m[:, 2]
    for name in ("nose", "mouth_left", "mouth_right"):
        if name in anchors and not (name.startswith("mouth") and "mouth_left" in anchors and "mouth_right" in anchors):
            i = ANCHOR_POINTS[name]
            group = range(27, 36) if name == "nose" else range(48, 68)
            pts[list(group)] += np.asarray(anchors[name], np.float64) - pts[i]
    if "chin" in anchors:
        d = np.asarray(anchors["chin"], np.float64) - pts[8]
        weight = 1.0 - np.abs(np.arange(17) - 8) / 8.0  # 1 at the chin, 0 at the ears
        pts[0:17] += weight[:, None] * d
    return pts


def corrected_face(face: Face, anchors: Mapping[str, tuple[float, float]]) -> tuple[Face, Provenance]:
    """The face with its points refitted to the anchors and the provenance to store with it (the anchors
    become the person's points, added to the points they placed before; pass it as the store's
    ``update_face(restore=...)`` in one edit: one undo step)."""
    pts = fit_to_anchors(face, anchors)
    keep = face.human_points if len(face.landmarks) == 68 else frozenset()
    old = np.asarray([p[:2] for p in face.landmarks], np.float64) if keep else None
    vis = [int(p[2]) if len(face.landmarks) == 68 else 2 for p in face.landmarks] or [2] * 68
    mine = anchor_indices(anchors)
    landmarks = []
    for i in range(68):
        if i in keep and i not in mine and old is not None:  # points a person placed earlier stay put
            landmarks.append((float(old[i, 0]), float(old[i, 1]), vis[i]))
        else:
            landmarks.append((float(pts[i, 0]), float(pts[i, 1]), 2 if i in mine else max(1, vis[i])))
    prov = Provenance(face.human_fields | {"landmarks"}, keep | mine)
    return replace(face, landmarks=tuple(landmarks)), prov
