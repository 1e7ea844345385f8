"""Per-finder calibration: a finder's raw score → a 0..1 "is a face" score, so one threshold serves all.

A finder that checks its hits itself (animeface: parts geometry and colours, detect/calibrate.py) offers
`calibration()`. Any other finder's raw score goes through a `ScoreMap` read from the JSON beside its
weights (`finder-learned.safetensors` → `finder-learned.json`, key "calibration"), or through the identity
when there is none. Each detection keeps its raw score and the features the calibration used, so the map
can be refitted later from the accept/reject decisions (see core.provenance.human_faces).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.search_path import find_model_file
from f2a_studio.detect.colors import FaceFrame
from f2a_studio.detect.finders.base import FinderHit

Features = tuple[tuple[str, float], ...]


class HitCalibration(Protocol):
    def score_hit(
        self, hit: FinderHit, pixels: np.ndarray, frame: FaceFrame, fit_cost: float
    ) -> tuple[float, Features]:
        """(calibrated score 0..1, the named features it was computed from)."""
        ...


@dataclass(frozen=True)
class ScoreMap:
    """raw score → probability: "identity" (clipped to 0..1), "logistic" (sigmoid(a·raw + b)), "platt"
    (sigmoid(a·logit(raw) + b), for a raw score that is itself a probability; score_fit.platt_fit) or
    "piecewise" (linear between [raw, p] knots, sorted by raw; flat beyond the ends)."""

    kind: str = "identity"
    a: float = 1.0
    b: float = 0.0
    knots: tuple[tuple[float, float], ...] = ()
    source: str = "identity"

    def __post_init__(self) -> None:
        if self.kind not in ("identity", "logistic", "platt", "piecewise"):
            raise F2AError(f"unknown score calibration kind {self.kind!r} in {self.source}")
        if self.kind == "piecewise" and len(self.knots) < 2:
            raise F2AError(f"a piecewise score calibration needs at least two knots ({self.source})")

    def __call__(self, raw: float) -> float:
        if self.kind in ("logistic", "platt"):
            x = raw if self.kind == "logistic" else logit(raw)
            t = max(-40.0, min(40.0, self.a * x + self.b))
            p = 1.0 / (1.0 + math.exp(-t))
        elif self.kind == "piecewise":
            xs, ys = zip(*self.knots, strict=True)
            p = float(np.interp(raw, xs, ys))
        else:
            p = raw
        return min(1.0, max(0.0, float(p)))

    def score_hit(
        self, hit: FinderHit, pixels: np.ndarray, frame: FaceFrame, fit_cost: float
    ) -> tuple[float, Features]:
        return self(hit.raw_score), (("raw_score", float(hit.raw_score)),)

    @classmethod
    def from_json(cls, data: dict, source: str) -> ScoreMap:
        try:
            knots = tuple(sorted((float(x), float(y)) for x, y in data.get("knots", ())))
            return cls(str(data.get("kind", "identity")), float(data.get("a", 1.0)), float(data.get("b", 0.0)),
                       knots, source)
        except (TypeError, ValueError) as exc:
            raise F2AError(f"cannot read the score calibration in {source}: {exc}") from exc


def logit(p: float, eps: float = 1e-4) -> float:
    p = min(1.0 - eps, max(eps, float(p)))
    return math.log(p / (1.0 - p))


def side_file_calibration(model_name: str | None, search_path: Sequence[Path]) -> ScoreMap:
    """The "calibration" of the JSON beside a finder's weights file, or the identity."""
    if not model_name:
        return ScoreMap()
    path = find_model_file(Path(model_name).with_suffix(".json").name, search_path)
    if path is None:
        return ScoreMap()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise F2AError(f"cannot read {path}: {exc}") from exc
    block = data.get("calibration") if isinstance(data, dict) else None
    return ScoreMap.from_json(block, str(path)) if isinstance(block, dict) else ScoreMap(source=f"{path} (none)")


def calibration_for(finder: object, search_path: Sequence[Path]) -> HitCalibration:
    """The finder's own calibration when it has one, else the side file's map (see the module docstring);
    then, when the search path holds one for this finder and model, the project's map fitted on its review
    decisions (project_calibration.py, `f2a calibrate`)."""
    from f2a_studio.detect.finders.project_calibration import Recalibrated, project_map

    own = getattr(finder, "calibration", None)
    model = finder.model_file() if hasattr(finder, "model_file") else None  # type: ignore[attr-defined]
    base = own() if callable(own) else side_file_calibration(model.name if model else None, search_path)
    name = str(getattr(finder, "name", ""))
    mapped = project_map(name, model.sha256 if model else "", search_path) if name else None
    return Recalibrated(base, mapped) if mapped is not None else base
