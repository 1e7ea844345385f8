"""The landmark backend protocol: one small class per backend, found on disk or not, no downloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from f2a_studio.core.models import Box, Parts


@dataclass(frozen=True)
class LandmarkResult:
    points: np.ndarray  # (68, 2) image pixels, iBUG-68, "left" = image-left
    backend: str
    confidence: np.ndarray | None = None  # (68,) in 0..1 where the backend knows it
    p_female: float | None = None  # the sex posterior the fit used, when it used one
    pose: tuple[float, float, float] | None = None  # yaw, pitch, roll when the backend fits a 3D face


class LandmarkBackend(Protocol):
    """`available` is cheap (a file check on the search path, core.search_path); `load` does the heavy work
    once per process."""

    name: str

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool: ...

    def load(self) -> None: ...

    def predict(self, pixels: np.ndarray, box: Box, parts: Parts, p_female: float = 0.5) -> LandmarkResult: ...

    def unload(self) -> None: ...
