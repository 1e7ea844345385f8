"""Landmark backends, best first; the first whose files are on disk is used (see base.py)."""

from __future__ import annotations

from pathlib import Path

from f2a_studio.core.errors import F2AError
from f2a_studio.detect.landmarks.base import LandmarkBackend, LandmarkResult
from f2a_studio.detect.landmarks.fan import FanBackend
from f2a_studio.detect.landmarks.template import TemplateBackend

# Preference order. A landmark model trained on a project's corrected faces goes first when it exists.
REGISTRY: dict[str, type] = {
    "fan": FanBackend,
    "template": TemplateBackend,
}


def default_models_dir() -> Path:
    """models/ beside the package (source checkout), or $F2A_MODELS."""
    import os

    env = os.environ.get("F2A_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "models"


def available_backends(models_dir: Path | None = None) -> list[str]:
    folder = models_dir or default_models_dir()
    return [name for name, cls in REGISTRY.items() if cls.available(folder)]


def choose_backend(models_dir: Path | None = None, name: str | None = None) -> LandmarkBackend:
    """The named backend (an error if its files are missing), or the first available one."""
    folder = models_dir or default_models_dir()
    if name is not None:
        if name not in REGISTRY:
            raise F2AError(f"unknown landmark backend {name!r}; known: {', '.join(REGISTRY)}")
        if not REGISTRY[name].available(folder):
            raise F2AError(f"landmark backend {name!r} is not available: its files are not in {folder}")
        return REGISTRY[name](folder)
    for cls in REGISTRY.values():
        if cls.available(folder):
            return cls(folder)
    raise F2AError("no landmark backend is available")  # unreachable: the template always is


def load_backend(models_dir: Path | None = None, name: str | None = None) -> tuple[LandmarkBackend, str | None]:
    """`choose_backend` + `load`. When the backend chosen by itself (no name given) fails to load (a bad
    weights file, say), the template fit takes over and the second value says why; detection goes on."""
    backend = choose_backend(models_dir, name)
    try:
        backend.load()
        return backend, None
    except F2AError as exc:
        if name is not None or backend.name == TemplateBackend.name:
            raise
        fallback = TemplateBackend(models_dir or default_models_dir())
        fallback.load()
        return fallback, f"{backend.name} landmarks could not be loaded, the template fit is used instead: {exc}"


__all__ = ["REGISTRY", "LandmarkBackend", "LandmarkResult", "available_backends", "choose_backend",
           "load_backend"]
