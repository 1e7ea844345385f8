"""The static face data in f2a_studio/resources/ (package data): the mean 3D cartoon face (per sex) and
how animeface's parts sit relative to it. Loaded once per process and cached.

Canonical frame (shared with pose.py): unit = jaw width (points 0–16), origin midway between the eye
centres, x to the image right, y down, z towards the viewer. A pose rotates by ``Rz(roll) Rx(pitch)
Ry(yaw)``: yaw > 0 turns the nose to the image right, pitch > 0 lifts the chin, roll > 0 is clockwise.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError

# What animeface reports, and which template points it corresponds to.
ANCHORS = ("left_eye", "right_eye", "nose", "mouth", "chin", "box_center")
ANCHOR_POINTS: dict[str, tuple[int, ...]] = {
    "left_eye": tuple(range(36, 42)),
    "right_eye": tuple(range(42, 48)),
    "nose": (30,),
    "mouth": tuple(range(48, 60)),
    "chin": (8,),
}
BOX_CENTER_Y = 0.21  # the face box centre sits about this far (jaw widths) below the eyes (see synth/truth.py)


def resources_dir() -> Path:
    """The package's resources/ (installed as package data, so a wheel has them too), or $F2A_RESOURCES."""
    env = os.environ.get("F2A_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "resources"


@dataclass(frozen=True)
class AnchorStats:
    """Where the detector reports a part relative to its template point (canonical units), and how much
    it scatters: the weight of that part in the fit."""

    dx: float = 0.0
    dy: float = 0.0
    sigma: float = 0.05


@dataclass(frozen=True)
class SexModel:
    points: np.ndarray  # (68, 3)
    anchors: dict[str, AnchorStats] = field(default_factory=dict)
    box_side_per_width: float = 1.05  # animeface's box side / jaw width
    box_side_sigma: float = 0.12  # relative

    def anchor_point(self, name: str) -> np.ndarray:
        """The 3D template point of an anchor, with the detector's mean offset added."""
        if name == "box_center":
            base = np.array([0.0, BOX_CENTER_Y, self.points[30, 2] * 0.5])
        else:
            base = self.points[list(ANCHOR_POINTS[name])].mean(axis=0)
        stats = self.anchors.get(name, AnchorStats())
        return base + np.array([stats.dx, stats.dy, 0.0])


@dataclass(frozen=True)
class FaceModel:
    female: SexModel
    male: SexModel
    mean: np.ndarray  # (68, 3)
    source: str

    def for_sex(self, sex: str) -> SexModel:
        return self.female if sex == "female" else self.male


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rz(roll) · Rx(pitch) · Ry(yaw), angles in degrees (see the module docstring)."""
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _points(data: dict, key: str, path: Path) -> np.ndarray:
    arr = np.asarray(data.get(key), dtype=np.float64)
    if arr.shape != (68, 3) or not np.isfinite(arr).all():
        raise F2AError(f"{path}: '{key}' must be 68 finite [x, y, z] points, got shape {arr.shape}")
    return arr


def _anchors(data: dict | None) -> dict[str, AnchorStats]:
    out = {}
    for name, row in (data or {}).items():
        out[name] = AnchorStats(float(row["dx"]), float(row["dy"]), max(1e-3, float(row["sigma"])))
    return out


@cache
def load_face_model(folder: Path | None = None) -> FaceModel:
    folder = folder or resources_dir()
    mean_path = folder / "mean_face_3d.json"
    parts_path = folder / "detector_parts.json"
    try:
        mean = json.loads(mean_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise F2AError(f"cannot read the mean face {mean_path}: {exc}") from exc
    parts: dict = {}
    if parts_path.exists():  # optional: without it the detector's parts are taken at face value
        try:
            parts = json.loads(parts_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise F2AError(f"cannot read {parts_path}: {exc}") from exc

    def sex_model(sex: str) -> SexModel:
        p = parts.get(sex, {})
        return SexModel(
            points=_points(mean, sex, mean_path),
            anchors=_anchors(p.get("anchors")),
            box_side_per_width=float(p.get("box_side_per_width", 1.05)),
            box_side_sigma=float(p.get("box_side_sigma", 0.12)),
        )

    return FaceModel(sex_model("female"), sex_model("male"), _points(mean, "mean", mean_path), str(mean_path))
