"""Landmark backends, best first; the first whose files are on disk is used (see base.py).

Each backend serves some image domains (its `domains`, core.models.Domain values; anime only without
one): anime images get the learned model, FAN or the template fit; human photos get MediaPipe's face mesh
when installed, else the template fit (the mean face placed in the box). The domain is a filter here, so
callers never branch on it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from f2a_studio.core.errors import F2AError
from f2a_studio.core.search_path import model_search_path
from f2a_studio.detect.landmarks.base import LandmarkBackend, LandmarkResult
from f2a_studio.detect.landmarks.fan import FanBackend
from f2a_studio.detect.landmarks.learned import LearnedLandmarkBackend
from f2a_studio.detect.landmarks.mediapipe_mesh import MediaPipeBackend
from f2a_studio.detect.landmarks.template import TemplateBackend

# Preference order: the learned model (a project's fine-tuned one, else the shipped one) when its file is on
# the search path, then FAN, then the template fit.
REGISTRY: dict[str, type] = {
    "learned": LearnedLandmarkBackend,
    "fan": FanBackend,
    "mediapipe": MediaPipeBackend,  # human photos only
    "template": TemplateBackend,
}
DEFAULT_DOMAINS = ("anime",)


SearchPath = Path | Sequence[Path] | None


def search_path_of(models: SearchPath) -> list[Path]:
    """One folder, a search path, or None for the default search path (core.search_path)."""
    if models is None:
        return model_search_path()
    if isinstance(models, str | Path):
        return [Path(models)]
    return [Path(p) for p in models]


def backend_domains(name: str) -> tuple[str, ...]:
    return tuple(getattr(REGISTRY[name], "domains", DEFAULT_DOMAINS))


def serves(name: str, domain: str) -> bool:
    return domain in backend_domains(name)


def available_backends(models: SearchPath = None, domain: str = "anime") -> list[str]:
    path = search_path_of(models)
    return [name for name, cls in REGISTRY.items() if serves(name, domain) and cls.available(path)]


def choose_backend(models: SearchPath = None, name: str | None = None, domain: str = "anime") -> LandmarkBackend:
    """The named backend (an error if its files are missing), or the first available one for `domain`."""
    path = search_path_of(models)
    if name is not None:
        if name not in REGISTRY:
            raise F2AError(f"unknown landmark backend {name!r}; known: {', '.join(REGISTRY)}")
        if not REGISTRY[name].available(path):
            problem = getattr(REGISTRY[name], "problem", None)
            if callable(problem):
                raise F2AError(f"landmark backend {name!r} is not available: {problem()}")
            where = ", ".join(map(str, path)) or "(an empty search path)"
            raise F2AError(f"landmark backend {name!r} is not available: its files are not in {where}")
        return REGISTRY[name](path)
    for key, cls in REGISTRY.items():
        if serves(key, domain) and cls.available(path):
            backend = cls(path)
            if cls is LearnedLandmarkBackend:
                try:
                    backend.load()  # a model file that does not load gives way to the next backend
                except F2AError:
                    continue
            return backend
    raise F2AError("no landmark backend is available")  # unreachable: the template always is


def load_backend(models: SearchPath = None, name: str | None = None,
                 domain: str = "anime") -> tuple[LandmarkBackend, str | None]:
    """`choose_backend` + `load`. When the backend chosen by itself (no name given) fails to load (a bad
    weights file, say), the template fit takes over and the second value says why; detection goes on.
    A named backend that does not serve `domain` is not used for it: that domain's first available is."""
    if name is not None and name in REGISTRY and not serves(name, domain):  # unknown: choose_backend says so
        name = None
    backend = choose_backend(models, name, domain)
    try:
        backend.load()
        return backend, None
    except F2AError as exc:
        if name is not None or backend.name == TemplateBackend.name:
            raise
        fallback = TemplateBackend(search_path_of(models))
        fallback.load()
        return fallback, f"{backend.name} landmarks could not be loaded, the template fit is used instead: {exc}"


__all__ = ["REGISTRY", "LandmarkBackend", "LandmarkResult", "available_backends", "backend_domains",
           "choose_backend", "load_backend", "serves"]
