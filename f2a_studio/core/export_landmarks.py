"""landmarks.json of an aligned export: each face file's 68 landmarks in its own aligned-crop pixels.

The pix2pix A image and concat4's 4th channel are drawings of these points, but a drawing cannot be read
back into exact points; the trainer's landmark figure (the detector's error on generated faces against the
keypoints the generator was given) needs the points themselves. The file also keeps the face box mapped
into the crop (what a face finder would have handed the landmark detector) and P(female), the two other
inputs of the learned landmark model. Written by the exporter (export/runner.py), read here so the trainer
needs nothing but core. Compact JSON: 68 × 3 numbers a face."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from f2a_studio.core.align import alignment_matrix, matrix_scale, transform_points
from f2a_studio.core.errors import ImageError
from f2a_studio.core.files import open_regular, regular_file_problem
from f2a_studio.core.manifest import MAX_MANIFEST_BYTES, ManifestError
from f2a_studio.core.models import Face, Sex

LANDMARKS_NAME = "landmarks.json"
LANDMARKS_FORMAT = "f2a-export-landmarks"
LANDMARKS_VERSION = 1


@dataclass(frozen=True)
class ExportedFace:
    path: str  # the face file, relative to the export, with /
    landmarks: np.ndarray  # (68, 3) x, y in the aligned crop's pixels (corner convention), visibility
    box: tuple[float, float, float, float] | None  # x, y, w, h in the crop; None for a photo without one
    p_female: float  # 0.5 when unknown


def p_female(face: Face) -> float:
    if face.sex is Sex.UNKNOWN:
        return 0.5
    prob = 1.0 if face.sex_prob is None else float(face.sex_prob)
    return prob if face.sex is Sex.FEMALE else 1.0 - prob


def aligned_entry(path: str, landmarks: Any, size: int, margin: float,
                  box: tuple[float, float, float, float] | None, sex: float) -> dict[str, Any]:
    """One face's record: landmarks and box through the same similarity transform as its pixels. The box is
    kept upright about its mapped centre (the transform only rotates and scales)."""
    matrix = alignment_matrix(landmarks, size, margin)
    pts = transform_points(landmarks, matrix)
    out: dict[str, Any] = {"path": path, "p_female": round(float(sex), 4),
                           "landmarks": [[round(float(x), 3), round(float(y), 3), int(v)] for x, y, v in pts]}
    if box is not None:
        x, y, w, h = (float(v) for v in box)
        cx, cy = matrix[:, :2] @ np.array([x + w / 2, y + h / 2]) + matrix[:, 2]
        s = matrix_scale(matrix)
        out["box"] = [round(float(cx - w * s / 2), 3), round(float(cy - h * s / 2), 3),
                      round(w * s, 3), round(h * s, 3)]
    return out


def landmarks_document(size: int, margin: float, entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"format": LANDMARKS_FORMAT, "version": LANDMARKS_VERSION, "size": int(size), "margin": float(margin),
            "faces": sorted(entries, key=lambda e: e["path"])}


def _face(path: Path, n: int, entry: Any) -> ExportedFace:
    where = f"{path}: faces[{n}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise ManifestError(f"{where} has no path")
    try:
        pts = np.asarray(entry["landmarks"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{where} ({entry['path']}) has no readable landmarks") from exc
    if pts.shape != (68, 3) or not np.isfinite(pts).all():
        raise ManifestError(f"{where} ({entry['path']}): landmarks must be 68 finite [x, y, v], got shape "
                            f"{pts.shape}")
    box = entry.get("box")
    if box is not None:
        if (not isinstance(box, list) or len(box) != 4
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0):
            raise ManifestError(f"{where} ({entry['path']}): box must be [x, y, w, h] with w, h > 0, got {box!r}")
        box = tuple(float(v) for v in box)
    sex = entry.get("p_female", 0.5)
    if not isinstance(sex, int | float) or not 0.0 <= float(sex) <= 1.0:
        raise ManifestError(f"{where} ({entry['path']}): p_female must be within [0, 1], got {sex!r}")
    return ExportedFace(entry["path"], pts, box, float(sex))


def read_landmarks(folder: Path | str) -> dict[str, ExportedFace]:
    """Face file path (relative, with /) → its aligned landmarks. Raises ManifestError naming the problem;
    exports written before this file existed have none (the message says to export again)."""
    path = Path(folder) / LANDMARKS_NAME
    problem = regular_file_problem(path)
    if problem == "file not found":
        raise ManifestError(f"{folder} has no {LANDMARKS_NAME} (an export written before F2A Studio kept the "
                            f"aligned landmarks, or not an aligned format): export it again")
    if problem is not None:
        raise ManifestError(f"{path} cannot be read: {problem}")
    try:
        with open_regular(path) as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        data = json.loads(raw.decode("utf-8"))
    except ImageError as exc:
        raise ManifestError(f"{path} cannot be read: {exc.reason}") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise ManifestError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != LANDMARKS_FORMAT or not isinstance(data.get("faces"), list):
        raise ManifestError(f"{path} is not an F2A export landmarks file")
    version = data.get("version")
    if not isinstance(version, int) or version > LANDMARKS_VERSION:
        raise ManifestError(f"{path} has version {version!r}; this F2A Studio reads up to {LANDMARKS_VERSION}")
    faces = [_face(path, n, e) for n, e in enumerate(data["faces"])]
    return {f.path: f for f in faces}
