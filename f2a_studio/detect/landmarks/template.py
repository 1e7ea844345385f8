"""The always-available landmark backend: the mean 3D cartoon face fitted to the detector's parts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.face_model import FaceModel, load_face_model
from f2a_studio.detect.landmarks.base import LandmarkResult
from f2a_studio.detect.landmarks.template_fit import fit_template


class TemplateBackend:
    name = "template"
    domains = ("anime", "human")  # on a photo there are no parts: the mean face placed in the box

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.model: FaceModel | None = None

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return True

    def load(self) -> None:
        self.model = load_face_model()

    def predict(self, pixels: np.ndarray, box: Box, parts: Parts, p_female: float = 0.5) -> LandmarkResult:
        if self.model is None:
            self.load()
        assert self.model is not None
        fit = fit_template(self.model, box, parts, p_female)
        return LandmarkResult(fit.points, self.name, None, fit.p_female, (fit.yaw, fit.pitch, fit.roll))

    def unload(self) -> None:
        self.model = None
