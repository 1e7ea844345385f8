"""Calibrated face scores: is this detector hit a face? A score in 0..1, not animeface's likelihood.

animeface's likelihood never goes below 0.5 and some false hits (backs of heads, badges, wheels) score
above 0.9, so on its own it is a poor filter. The score combines it with checks a false hit fails:

* parts geometry: how well the mean face fits the reported eyes, nose, mouth and chin (the template
  fit's cost; a wheel's "eyes" do not sit where eyes sit);
* colour: a flat skin area under the eyes, dark features in the eye boxes that stand out from that skin,
  hair above that differs from it (the back of a head is hair all over).

Labelled false hits are rare (synthetic strips give almost none, and there is no labelled real data yet),
so the model is one-class: each feature is measured against its spread over true faces (median and IQR
from synthetic strips, f2a_studio/resources/detect_calibration.json, made by tools/fit_calibration.py), only
the unlike-a-face direction counts, and only beyond a margin of normal variation; the weights are set by
hand (the priors below). A typical face scores about 0.95; one clearly failing a check drops below 0.5.
A project's accepted and rejected faces are the data to fit real weights on later.
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
from f2a_studio.detect.colors import HAIR_REGION, SKIN_REGION, FaceFrame, region_pixels
from f2a_studio.detect.face_model import resources_dir
from f2a_studio.detect.finders.base import FinderHit

FEATURES = ("likelihood", "fit_cost", "skin_flat", "eye_contrast", "hair_vs_skin")
SIGNS = np.array([1.0, -1.0, 1.0, 1.0, 1.0])  # +1: larger is more face-like
WEIGHTS = np.array([0.8, 1.4, 1.0, 1.4, 0.6])  # priors: geometry and dark eyes are the strongest tells
BIAS = 3.0  # a face within the usual spread of every feature scores sigmoid(3) ≈ 0.95
MARGIN = 1.0  # spreads below the typical value that still cost nothing (faces vary)
# Used without the resource file: rough centres and spreads of true faces on synthetic strips.
FALLBACK_CENTER = np.array([4.6, 1.1, 0.94, 0.76, 0.47])
FALLBACK_SPREAD = np.array([1.5, 0.5, 0.15, 0.15, 0.15])
# Floors on the spreads: features that hardly vary on synthetic faces (flat fills, black ink) vary more on
# real pages, and must not make every real face look atypical.
MIN_SPREAD = np.array([1.5, 0.5, 0.15, 0.15, 0.12])


@dataclass(frozen=True)
class Calibrator:
    center: np.ndarray
    spread: np.ndarray
    source: str

    def z(self, features: np.ndarray) -> np.ndarray:
        """How many spreads each feature is on the unlike-a-face side of typical (negative: worse)."""
        return SIGNS * (np.asarray(features, dtype=np.float64) - self.center) / self.spread

    def score(self, features: np.ndarray) -> float:
        penalties = np.minimum(0.0, self.z(features) + MARGIN)  # only departures beyond the margin count
        t = float(BIAS + penalties @ WEIGHTS)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, t))))


@cache
def load_calibrator(folder: Path | None = None) -> Calibrator:
    path = (folder or resources_dir()) / "detect_calibration.json"
    if not path.exists():
        return Calibrator(FALLBACK_CENTER, FALLBACK_SPREAD, "built-in fallback")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        center = np.array([float(data["center"][f]) for f in FEATURES])
        spread = np.maximum(np.array([float(data["spread"][f]) for f in FEATURES]), MIN_SPREAD)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise F2AError(f"cannot read the score calibration {path}: {exc}") from exc
    return Calibrator(center, spread, str(path))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def features(hit: FinderHit, pixels: np.ndarray, frame: FaceFrame, fit_cost: float) -> np.ndarray:
    """The feature vector of one hit (order: FEATURES)."""
    lik = min(max((hit.raw_score - 0.5) / 0.5, 0.01), 0.99)  # animeface's likelihood: 0.5..1
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
        skin_flat,
        eye_contrast,
        hair_vs_skin,
    ])


@dataclass(frozen=True)
class PartsColourCalibration:
    """animeface's calibration as a finder calibration (detect/finders/calibration.py): the features
    above, scored by the one-class model. The features are kept on each face for refitting later."""

    calibrator: Calibrator

    def score_hit(self, hit: FinderHit, pixels: np.ndarray, frame: FaceFrame,
                  fit_cost: float) -> tuple[float, tuple[tuple[str, float], ...]]:
        feats = features(hit, pixels, frame, fit_cost)
        named = tuple((name, round(float(v), 6)) for name, v in zip(FEATURES, feats, strict=True))
        return self.calibrator.score(feats), named
