"""One image, start to finish: find, calibrate, merge, then parts, landmarks, colours, visibility, pose.

This is the heavy part; it runs inside worker processes (worker.py), never in the studio's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Colors, Face, FaceSource, Pose
from f2a_studio.detect.animeface_backend import RawFace
from f2a_studio.detect.calibrate import Calibrator, features, load_calibrator
from f2a_studio.detect.colors import FaceFrame, estimate_colors, face_frame
from f2a_studio.detect.face_model import FaceModel, load_face_model
from f2a_studio.detect.finder import Detector, find_raw
from f2a_studio.detect.landmarks import LandmarkBackend, load_backend
from f2a_studio.detect.landmarks.template_fit import TemplateFit, fit_template
from f2a_studio.detect.landmarks.visibility import visibility
from f2a_studio.detect.nms import nms
from f2a_studio.detect.pose import estimate_pose

DEFAULT_THRESHOLD = 0.3


@dataclass(frozen=True)
class AnalyzeOptions:
    threshold: float = DEFAULT_THRESHOLD  # on the calibrated score, 0..1
    min_face_px: float = 24.0  # smallest face looked for (drives the up-scaled pass)
    budget_s: float | None = None  # soft time budget for the up-scaled pass (see finder.find_raw)
    landmarks: str | None = None  # a backend name, or None for the first available
    models_dir: str | None = None


@dataclass(frozen=True)
class Candidate:
    hit: RawFace
    fit: TemplateFit
    frame: FaceFrame
    score: float


@dataclass
class Analysis:
    faces: list[Face]
    notes: list[str]
    landmark_backend: str
    detector_colors: list[Colors]  # the detector's own colours of each face, for comparison


class Analyzer:
    """Holds what one process loads once: the face model, the calibration, the landmark backend."""

    def __init__(self, options: AnalyzeOptions, detect: Detector | None = None) -> None:
        self.options = options
        self.model: FaceModel = load_face_model()
        self.calibrator: Calibrator = load_calibrator()
        models_dir = Path(options.models_dir) if options.models_dir else None
        self.landmarks: LandmarkBackend
        self.landmarks, self.landmark_note = load_backend(models_dir, options.landmarks)  # note: a fallback
        self.detect = detect

    def candidates(self, pixels: np.ndarray, hits: list[RawFace]) -> list[Candidate]:
        """Every hit, scored. The template fit done here for the geometry check is reused for landmarks."""
        out = []
        for hit in hits:
            fit = fit_template(self.model, hit.box, hit.parts)
            frame = face_frame(fit.points, self.model.mean)
            feats = features(hit, pixels, frame, fit.cost)
            out.append(Candidate(hit, fit, frame, self.calibrator.score(feats)))
        return out

    def analyze(self, pixels: np.ndarray, threshold: float | None = None) -> Analysis:
        threshold = self.options.threshold if threshold is None else threshold
        pixels = np.ascontiguousarray(pixels[:, :, :3])
        kwargs = {"detect": self.detect} if self.detect is not None else {}
        found = find_raw(pixels, min_face_px=self.options.min_face_px, budget_s=self.options.budget_s, **kwargs)
        notes = [self.landmark_note] if self.landmark_note else []
        if found.skipped_tiles:
            notes.append(f"small-face pass skipped on {found.skipped_tiles} of {found.tiles} tiles (time budget)")
        kept = nms(self.candidates(pixels, found.hits), lambda c: c.hit.box, lambda c: c.score)
        kept = [c for c in kept if c.score >= threshold]
        faces = [self.finish(pixels, c) for c in kept]
        return Analysis(faces, notes, self.landmarks.name, [c.hit.colors for c in kept])

    def finish(self, pixels: np.ndarray, c: Candidate) -> Face:
        h, w = pixels.shape[:2]
        box = c.hit.box.clipped(w, h)
        if self.landmarks.name == "template":
            points, confidence, p_female = c.fit.points, None, c.fit.p_female
        else:
            result = self.landmarks.predict(pixels, c.hit.box, c.hit.parts, c.fit.p_female)
            points, confidence, p_female = result.points, result.confidence, c.fit.p_female
        colors = estimate_colors(pixels, c.hit.box, c.hit.parts, points, self.model.mean, c.hit.colors)
        vis = visibility(points, pixels, colors, confidence)
        shape = self.model.female.points if p_female >= 0.5 else self.model.male.points
        pose = estimate_pose(points, shape, visible=vis > 0) or Pose(c.fit.yaw, c.fit.pitch, c.fit.roll)
        landmarks = tuple((float(x), float(y), int(v)) for (x, y), v in zip(points, vis, strict=True))
        return Face(
            image_id=0,
            box=Box(round(box.x, 2), round(box.y, 2), round(box.w, 2), round(box.h, 2)),
            score=round(min(1.0, max(0.0, c.score)), 4),
            source=FaceSource.DETECTOR,
            colors=colors,
            parts=c.hit.parts,
            landmarks=landmarks,
            pose=pose,
        )
