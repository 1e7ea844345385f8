"""Calibrated face scores: is this detector hit a face? A probability, not animeface's likelihood.

animeface's likelihood never goes below 0.5 and some false hits (backs of heads, badges, wheels) score
above 0.9, so on its own it is a poor filter. The calibrated score is a logistic model over:

* the likelihood itself;
* parts geometry: how well the mean face fits the reported eyes, nose, mouth and chin (the template fit's
  cost; a wheel's "eyes" do not sit where eyes sit);
* support: how many tiles and scales found the same face;
* colour: a flat skin area under the eyes, dark features in the eye boxes that stand out from that skin,
  hair above that differs from it (the back of a head is hair all over).

The weights come from resources/detect_calibration.json (fitted on synthetic strips by
resources/fit_calibration.py); without that file a hand-set fallback is used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.detect.animeface_backend import RawFace
from f2a_studio.detect.colors import HAIR_REGION, SKIN_REGION, FaceFrame, region_pixels
from f2a_studio.detect.face_model import resources_dir

FEATURES = ("likelihood", "fit_cost", "support", "skin_flat", "eye_contrast", "hair_vs_skin", "size")
# Fallback (hand-set, used only without the resource file): trusts parts geometry and support.
FALLBACK = {
    "bias": -1.0,
    "weights": {"likelihood": 1.0, "fit_cost": -0.8, "support": 1.2, "skin_flat": 2.0, "eye_contrast": 2.0,
                "hair_vs_skin": 1.0, "size": 0.0},
    "mean": dict.fromkeys(FEATURES, 0.0),
    "std": dict.fromkeys(FEATURES, 1.0),
}


@dataclass(frozen=True)
class Calibrator:
    bias: float
    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    source: str

    def score(self, features: np.ndarray) -> float:
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.std
        t = float(self.bias + z @ self.weights)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, t))))


def _calibrator(data: dict, source: str) -> Calibrator:
    try:
        return Calibrator(
            float(data["bias"]),
            np.array([float(data["weights"][f]) for f in FEATURES]),
            np.array([float(data["mean"][f]) for f in FEATURES]),
            np.array([max(1e-6, float(data["std"][f])) for f in FEATURES]),
            source,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise F2AError(f"{source}: not a valid score calibration ({exc})") from exc


@cache
def load_calibrator(folder: Path | None = None) -> Calibrator:
    path = (folder or resources_dir()) / "detect_calibration.json"
    if not path.exists():
        return _calibrator(FALLBACK, "built-in fallback")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise F2AError(f"cannot read the score calibration {path}: {exc}") from exc
    return _calibrator(data, str(path))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def features(hit: RawFace, pixels: np.ndarray, frame: FaceFrame, fit_cost: float, support: int) -> np.ndarray:
    """The feature vector of one hit (order: FEATURES)."""
    lik = min(max((hit.likelihood - 0.5) / 0.5, 0.01), 0.99)
    skin = region_pixels(pixels, [frame.to_image(SKIN_REGION)], [])
    hair = region_pixels(pixels, [frame.to_image(HAIR_REGION)], [])
    skin_flat, skin_lab = 0.0, None
    if len(skin.rgb) >= 8:
        lab = _lab(skin.rgb)
        skin_lab = np.median(lab, axis=0)
        skin_flat = float(np.mean(np.linalg.norm(lab - skin_lab, axis=1) < 8.0))
    eye_contrast = 0.0
    if skin_lab is not None:
        darks = []
        for eye in (hit.parts.left_eye, hit.parts.right_eye):
            if eye is None or eye.w < 1 or eye.h < 1:
                continue
            x0, y0 = max(0, int(eye.x)), max(0, int(eye.y))
            x1, y1 = min(pixels.shape[1], math.ceil(eye.x2)), min(pixels.shape[0], math.ceil(eye.y2))
            if x1 > x0 and y1 > y0:
                lab = _lab(pixels[y0:y1, x0:x1, :3])
                darks.append(float(skin_lab[0] - np.percentile(lab[:, 0], 10)) / 100.0)
        eye_contrast = float(np.mean(darks)) if darks else 0.0
    hair_vs_skin = 0.0
    if skin_lab is not None and len(hair.rgb) >= 8:
        hair_vs_skin = float(np.linalg.norm(np.median(_lab(hair.rgb), axis=0) - skin_lab)) / 100.0
    return np.array([
        math.log(lik / (1 - lik)),
        math.log1p(max(0.0, fit_cost)),
        math.log(max(1, support)),
        skin_flat,
        eye_contrast,
        hair_vs_skin,
        math.log(max(8.0, hit.box.w)),
    ])
