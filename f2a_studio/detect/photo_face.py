"""The face in one photo, found and landmarked in this process: for the preview's dropped photo.

The same components `f2a detect` runs on human-domain images (the photo finder, its calibration, the
first human-domain landmark backend: MediaPipe's face mesh when installed, else the template), so a
dropped photo is aligned exactly as the cyclegan export aligns trainA. Loaded once, then reused; callers
run it off the GUI thread (the cascade takes about 0.4 s on a 512 px photo, see benchmarks/human_bench.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Domain, Parts
from f2a_studio.detect.analyze import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class PhotoFace:
    box: Box
    landmarks: tuple[tuple[float, float, int], ...]  # 68 [x, y, v], iBUG, image pixels
    score: float
    backend: str  # the landmark backend that drew the points


class PhotoFaceFinder:
    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.search_path = list(search_path)
        self._lock = threading.Lock()
        self._loaded: tuple | None = None

    def _load(self) -> tuple:
        from f2a_studio.detect.finders.photo import PhotoCalibration, PhotoFinder
        from f2a_studio.detect.landmarks import load_backend

        finder = PhotoFinder(self.search_path)
        finder.load()
        landmarks, _note = load_backend(self.search_path, None, Domain.HUMAN.value)
        return finder, PhotoCalibration(), landmarks

    def find(self, pixels: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> PhotoFace | None:
        """The best-scoring face at or above `threshold`, or None when the photo shows none."""
        rgb = np.ascontiguousarray(pixels[..., :3]) if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
        with self._lock:  # one finder, one mesh: not shared between threads at once
            if self._loaded is None:
                self._loaded = self._load()
            finder, calibration, landmarks = self._loaded
            scored = [(calibration.score_hit(h, rgb, None, 0.0)[0], h) for h in finder.find(rgb)]
            scored = [(s, h) for s, h in scored if s >= threshold]
            if not scored:
                return None
            score, hit = max(scored, key=lambda sh: (sh[0], sh[1].box.w))
            result = landmarks.predict(rgb, hit.box, Parts())
        points = tuple((float(x), float(y), 2) for x, y in result.points)
        return PhotoFace(hit.box, points, float(score), result.backend)
