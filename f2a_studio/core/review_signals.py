"""The review queue's measured signals on disk: PROJECT/checkpoints/review-signals.json.

Landmark-model disagreement needs the learned model and the cut's pixels (detect.review_signals measures
it, in a background job or `python -m f2a_studio.detect.review_signals PROJECT`); the studio's queue only
reads the result, so pressing Space never runs a network. Each entry keeps the box it was measured on:
both fits are made for the box, so a moved box makes the entry stale and it is ignored (not guessed).
Written atomically (temp file, then rename). Qt-free and torch-free.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from f2a_studio.core.files import temp_name
from f2a_studio.core.models import Box

FILE_NAME = "review-signals.json"
VERSION = 1


@dataclass(frozen=True)
class FaceSignal:
    box: tuple[float, float, float, float]  # the box the disagreement was measured for
    landmarks_nme: float

    def holds_for(self, box: Box) -> bool:
        return all(abs(a - b) < 1e-6 for a, b in zip(self.box, (box.x, box.y, box.w, box.h), strict=True))


def signals_path(root: Path | str) -> Path:
    return Path(root) / "checkpoints" / FILE_NAME


def write_signals(root: Path | str, signals: Mapping[int, FaceSignal], model: str) -> Path:
    path = signals_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": VERSION, "model": model,
            "faces": {str(k): {"box": list(s.box), "landmarks_nme": s.landmarks_nme} for k, s in signals.items()}}
    tmp = path.with_name(temp_name(path))
    try:
        tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_cache: dict[Path, tuple[int, dict[int, FaceSignal]]] = {}


def read_signals(root: Path | str) -> dict[int, FaceSignal]:
    """Face id → signal; empty when never measured or unreadable (the queue then goes without it).
    Re-read only when the file changed (the queue asks on every Space)."""
    path = signals_path(root)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        out = {int(k): FaceSignal(tuple(float(v) for v in e["box"]), float(e["landmarks_nme"]))  # type: ignore[arg-type]
               for k, e in body["faces"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        out = {}
    _cache[path] = (stamp, out)
    return out


def disagreement_for(signals: Mapping[int, FaceSignal], faces: Mapping[int, Box]) -> dict[int, float]:
    """Face id → landmark NME, for the faces whose box is still the one it was measured on."""
    return {fid: s.landmarks_nme for fid, s in signals.items() if fid in faces and s.holds_for(faces[fid])}
