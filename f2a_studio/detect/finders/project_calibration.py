"""A finder's scores refitted from one project's review decisions (`f2a calibrate`).

The finders' own calibrations are fitted elsewhere (animeface's on synthetic strips, the learned finder's on
its held-back cuts); on a real title they can be far off (the finder issue: animeface's synthetic fit
rejects half the real webtoon faces). What the annotators accepted and rejected is the truth for *this*
project, so `f2a calibrate` fits, per finder, an isotonic map from the finder's calibrated score to "a person
accepts it", and writes it to PROJECT/checkpoints/calibration-<finder>.json. Detection then scores each hit
through the finder's own calibration and this map, and keeps the finder's score as the feature
"base_score", so the next refit starts from the same scale (refitting never compounds).

A map is tied to the model file it was fitted on (its sha256): a retrained finder scores differently, so an
old map is ignored (and `f2a calibrate` says so) until it is refitted on decisions about the new model's hits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.files import write_bytes_atomic
from f2a_studio.core.models import Face, FaceSource, FaceStatus
from f2a_studio.core.search_path import find_model_file
from f2a_studio.core.store import ProjectStore, utc_now
from f2a_studio.detect.colors import FaceFrame
from f2a_studio.detect.finders.base import FinderHit
from f2a_studio.detect.finders.calibration import Features, HitCalibration, ScoreMap
from f2a_studio.detect.finders.score_fit import isotonic_fit

BASE_FEATURE = "base_score"
MIN_ACCEPTED = 8
MIN_REJECTED = 4


def calibration_file_name(finder: str) -> str:
    return f"calibration-{finder}.json"


@dataclass(frozen=True)
class Recalibrated:
    """The finder's own calibration, then the project's map on top of it."""

    base: HitCalibration
    project: ScoreMap

    def score_hit(self, hit: FinderHit, pixels: np.ndarray, frame: FaceFrame, fit_cost: float
                  ) -> tuple[float, Features]:
        score, features = self.base.score_hit(hit, pixels, frame, fit_cost)
        return self.project(score), (*features, (BASE_FEATURE, float(score)))


def project_map(finder: str, model_sha256: str, search_path: Sequence[Path]) -> ScoreMap | None:
    """The project's map for this finder and model, or None (no file, or fitted on another model)."""
    path = find_model_file(calibration_file_name(finder), search_path)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise F2AError(f"cannot read the project's score calibration {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("calibration"), dict):
        raise F2AError(f"{path}: no 'calibration' object; not a score calibration file (refit with f2a calibrate)")
    if data.get("model_sha256", "") != model_sha256:
        return None
    return ScoreMap.from_json(data["calibration"], str(path))


def base_score(face: Face) -> float:
    """The finder's own score of a detection, before any project map (see the module docstring)."""
    return float(dict(face.score_features).get(BASE_FEATURE, face.score))


def is_decided_detection(face: Face) -> bool:
    return face.source is not FaceSource.HUMAN and face.status in (FaceStatus.ACCEPTED, FaceStatus.REJECTED)


@dataclass(frozen=True)
class Decisions:
    scores: list[float]
    accepted: list[bool]
    other_models: int  # decisions about hits of another model of this finder (not used)


def decisions(store: ProjectStore, finder: str, model_sha256: str) -> Decisions:
    scores, accepted, other = [], [], 0
    for face in store.all_faces():
        if face.finder != finder or not is_decided_detection(face):
            continue
        if face.finder_sha256 != model_sha256:
            other += 1
            continue
        scores.append(base_score(face))
        accepted.append(face.status is FaceStatus.ACCEPTED)
    return Decisions(scores, accepted, other)


def fit_project_calibration(store: ProjectStore, finder: str, model_sha256: str, model_name: str = "") -> dict:
    """Fit and write PROJECT/checkpoints/calibration-<finder>.json; returns what was written. Too few
    decisions: F2AError saying how many there are and how many more to review."""
    got = decisions(store, finder, model_sha256)
    n_acc, n_rej = sum(got.accepted), len(got.accepted) - sum(got.accepted)
    if n_acc < MIN_ACCEPTED or n_rej < MIN_REJECTED:
        older = (f"; {got.other_models} more were made on another {finder} model, detect again to use its hits"
                 if got.other_models else "")
        raise F2AError(f"{store.root}: {n_acc} accepted and {n_rej} rejected {finder} detection(s) of the current "
                       f"model; calibrating needs at least {MIN_ACCEPTED} accepted and {MIN_REJECTED} rejected: "
                       f"review {max(0, MIN_ACCEPTED - n_acc)} and {max(0, MIN_REJECTED - n_rej)} more{older}")
    fit = isotonic_fit(got.scores, got.accepted, source=f"{finder} decisions in {store.root}",
                       min_positives=MIN_ACCEPTED, min_negatives=MIN_REJECTED)
    data = {"finder": finder, "model": model_name, "model_sha256": model_sha256,
            "calibration": fit.to_json(), "fitted_at": utc_now(), "ignored_other_models": got.other_models}
    path = store.checkpoints_dir / calibration_file_name(finder)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    return data | {"file": str(path)}
