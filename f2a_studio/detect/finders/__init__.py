"""Face finders as plug-ins (protocol in base.py): the registry, and choosing and loading by name.

A finder is one class registered here under its name. Every *available* finder runs on each image (a
file check on the search path, core.search_path) unless names are given; their hits are calibrated per
finder and merged by NMS in detect/analyze.py. Finder classes are built as `cls(search_path)`.

Registering from outside the package (a test, a third-party model): `register_finder(cls)` in a module
that worker processes can import, and name that module in `$F2A_PLUGINS` (comma-separated) or in
DetectOptions.plugins; the detection pool imports the plugin modules in every worker (and the fork server
preloads them) before choosing finders, so the workers see the same registry as the caller.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from f2a_studio.core.errors import F2AError
from f2a_studio.detect.finders.animeface import AnimefaceFinder
from f2a_studio.detect.finders.base import DEFAULT_DOMAINS, FaceFinder, FinderHit, ModelFile
from f2a_studio.detect.finders.photo import PhotoFinder

# Name → class, in preference order (ties in NMS go to the earlier finder).
FINDERS: dict[str, type] = {
    "animeface": AnimefaceFinder,
    "photo": PhotoFinder,  # human face photos only (its `domains`)
}
PLUGINS_ENV = "F2A_PLUGINS"


def register_finder(cls: type, name: str | None = None) -> type:
    """Add a finder class under `name` (default `cls.name`); usable as a decorator. Registering another
    class under a taken name is an error (two models must not share the name recorded on faces)."""
    key = name or cls.name
    if key in FINDERS and FINDERS[key] is not cls:
        raise F2AError(f"a face finder named {key!r} is registered already ({FINDERS[key].__module__})")
    FINDERS[key] = cls
    return cls


def unregister_finder(name: str) -> None:
    FINDERS.pop(name, None)


def plugin_modules(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Modules to import before choosing finders: `extra`, then those named in $F2A_PLUGINS."""
    env = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    return tuple(dict.fromkeys([*extra, *env]))


def load_plugins(modules: Iterable[str]) -> None:
    """Import plugin modules (each registers its finders); loud when one cannot be imported."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise F2AError(f"cannot import the plug-in module {module!r}: {exc}") from exc


def available_finders(search_path: Sequence[Path]) -> list[str]:
    return [name for name, cls in FINDERS.items() if cls.available(search_path)]


def default_finders(search_path: Sequence[Path]) -> list[str]:
    """What runs when no finder is named: the available ones whose optional `on_by_default(search_path)`
    does not say no (a model known to hurt on real pages stays opt-in, see finders/learned.py)."""
    out = []
    for name in available_finders(search_path):
        on = getattr(FINDERS[name], "on_by_default", None)
        if not callable(on) or on(search_path):
            out.append(name)
    return out


def finder_domains(name: str) -> tuple[str, ...]:
    """The image domains (core.models.Domain values) a finder runs on: its `domains`, else anime only."""
    return tuple(getattr(FINDERS[name], "domains", DEFAULT_DOMAINS))


def finders_for_domain(names: Sequence[str], domain: str) -> list[str]:
    """Of `names`, those that run on images of `domain`, in the same order (the domain chooses the finders,
    so no caller branches on it)."""
    return [name for name in names if domain in finder_domains(name)]


def choose_finders(names: Sequence[str] | None, search_path: Sequence[Path]) -> list[str]:
    """The names given (each must be registered and available), or the default ones (default_finders)."""
    if names is None:
        chosen = default_finders(search_path)
        if not chosen:
            raise F2AError(f"no face finder is available; registered: {', '.join(FINDERS) or 'none'}")
        return chosen
    chosen = []
    for name in names:
        if name not in FINDERS:
            raise F2AError(f"unknown face finder {name!r}; known: {', '.join(FINDERS)}")
        if not FINDERS[name].available(search_path):
            where = ", ".join(map(str, search_path)) or "an empty search path"
            raise F2AError(f"face finder {name!r} is not available: its files are not on the search path ({where})")
        chosen.append(name)
    if not chosen:
        raise F2AError("no face finder was named")
    return list(dict.fromkeys(chosen))


def finder_problems(names: Sequence[str]) -> list[str]:
    """Why chosen finders cannot run here (their optional `problem()` class method), checked before a run."""
    out = []
    for name in names:
        check = getattr(FINDERS[name], "problem", None)
        problem = check() if callable(check) else None
        if problem:
            out.append(problem)
    return out


def load_finders(names: Sequence[str], search_path: Sequence[Path]) -> list[FaceFinder]:
    """Build and load the named finders (once per worker process)."""
    finders = []
    for name in names:
        if name not in FINDERS:
            raise F2AError(f"unknown face finder {name!r}; known: {', '.join(FINDERS)}")
        finder = FINDERS[name](tuple(search_path))
        finder.load()
        finders.append(finder)
    return finders


def preload_modules(names: Sequence[str]) -> tuple[str, ...]:
    """What a fork server should import for these finders: their modules and their `preload_modules`."""
    out: list[str] = []
    for name in names:
        cls = FINDERS[name]
        out.extend([cls.__module__, *getattr(cls, "preload_modules", ())])
    return tuple(dict.fromkeys(out))


def _register_optional(module: str) -> None:
    """Finder modules that may not exist yet in this checkout (the learned finder): they register
    themselves with register_finder, or define FINDER = their class."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return
        raise
    cls = getattr(mod, "FINDER", None)
    if cls is not None:
        register_finder(cls)


_register_optional("f2a_studio.detect.finders.learned")

__all__ = [
    "FINDERS",
    "FaceFinder",
    "FinderHit",
    "ModelFile",
    "available_finders",
    "choose_finders",
    "default_finders",
    "finder_domains",
    "finder_problems",
    "finders_for_domain",
    "load_finders",
    "load_plugins",
    "plugin_modules",
    "preload_modules",
    "register_finder",
]
