"""The landmark detector the quality figure runs (trainer/quality.py): the studio's landmark backend
registry (f2a_studio.detect.landmarks), its first available anime backend — the learned model shipped in
f2a_studio/resources/models, or a project's fine-tuned one on the search path.

The one place trainer reaches past f2a_studio.core (tests/test_lint.py names it): the figure is defined as
"the detector's error", so it must be the studio's detector, not a copy. Imported only when the figure is
computed; training runs without it (the figure is then left out with the reason)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainer.quality import Landmarker


class LandmarkerUnavailable(RuntimeError):
    """No landmark detector can be loaded: the figure is left out, the message says why."""


def studio_landmarker(models: Path | Sequence[Path] | None = None,
                      backend: str | None = None) -> tuple[Landmarker, str]:
    """(detector, its name: backend + model folder). `models`: a folder or search path (None: the default
    search path); `backend`: a registry name (None: the first available for anime faces)."""
    try:
        from f2a_studio.core.errors import F2AError
        from f2a_studio.core.models import Box, Parts
        from f2a_studio.detect.landmarks import REGISTRY, load_backend
    except ImportError as exc:
        raise LandmarkerUnavailable(f"the studio's landmark detectors cannot be imported: {exc}") from exc
    if backend is not None and backend not in REGISTRY:
        raise LandmarkerUnavailable(f"unknown landmark backend {backend!r}; known: {', '.join(REGISTRY)}")
    try:
        chosen, fallback_note = load_backend(models, backend, domain="anime")
    except F2AError as exc:
        raise LandmarkerUnavailable(str(exc)) from exc
    folder = getattr(chosen, "folder", None)
    name = chosen.name + (f" ({Path(folder).name}/)" if folder else "")
    if fallback_note:
        name += f"; {fallback_note}"

    def detect(pixels: np.ndarray, box: tuple[float, float, float, float], p_female: float) -> np.ndarray:
        return np.asarray(chosen.predict(pixels, Box(*box), Parts(), p_female).points, np.float64)

    return detect, name


def prepare(val_layout, direction: str, models: Path | Sequence[Path] | None = None,
            backend: str | None = None) -> tuple[list | None, Landmarker | None, str, str | None]:
    """What `quality.evaluate` needs for the landmark figure on `val_layout` (a paired ExportLayout or
    None): (faces in dataset order, detector, detector name, None), or (None, None, "", why not)."""
    from f2a_studio.core.export_landmarks import read_landmarks
    from f2a_studio.core.manifest import ManifestError
    from trainer.quality import landmark_faces

    if val_layout is None:
        return None, None, "", "no validation pairs"
    if direction != "AtoB":
        return None, None, "", "the landmark figure is for keypoints → face (direction AtoB)"
    try:
        faces = landmark_faces(val_layout, read_landmarks(val_layout.folder))
        detect, name = studio_landmarker(models, backend)
    except (ManifestError, ValueError, LandmarkerUnavailable) as exc:
        return None, None, "", str(exc)
    return faces, detect, name, None
