"""Generators on disk that the preview can offer, along core.search_path: the project's checkpoints/,
F2A_MODELS, the shipped models.

Only file names are looked at (no loading), so listing is cheap enough to redo whenever the picker opens.
A trainer run shows up as its checkpoints (`step-N.safetensors`); an ONNX export as its `.onnx` file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from f2a_studio.core.search_path import CHECKOUT_MODELS, PACKAGE_MODELS, model_search_path
from f2a_studio.preview.loader import is_generator_file

SUFFIXES = (".safetensors", ".onnx")
MAX_DEPTH = 4  # PROJECT/checkpoints/RUN/checkpoints/step-N.safetensors


@dataclass(frozen=True)
class CatalogEntry:
    path: Path
    origin: str  # "project", "F2A_MODELS", "shipped", "file"

    @property
    def label(self) -> str:
        parts = self.path.parts
        tail = "/".join(p for p in parts[-3:] if p != "checkpoints")
        return f"{tail} ({self.origin})"


def search_path(project_checkpoints: Path | None) -> list[tuple[str, Path]]:
    """core.search_path's folders (the one model search path), each with where it comes from."""
    places: list[tuple[str, Path]] = []
    if project_checkpoints is not None:
        places.append(("project", Path(project_checkpoints)))
    for folder in model_search_path(None, existing_only=False):
        shipped = folder in (CHECKOUT_MODELS, PACKAGE_MODELS)
        places.append(("shipped" if shipped else "F2A_MODELS", folder))
    return places


def _walk(folder: Path, depth: int) -> Iterable[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue  # partial exports and temp files
        if child.is_dir() and depth > 0:
            yield from _walk(child, depth - 1)
        elif child.suffix in SUFFIXES and child.is_file() and is_generator_file(child):
            yield child


def find_generators(project_checkpoints: Path | None = None) -> list[CatalogEntry]:
    """Every generator file on the search path: newest first within each place, places in search order."""
    seen: set[Path] = set()
    out: list[CatalogEntry] = []
    for origin, folder in search_path(project_checkpoints):
        found = [p for p in _walk(folder, MAX_DEPTH) if p.resolve() not in seen]
        found.sort(key=lambda p: (-p.stat().st_mtime, str(p)))
        for path in found:
            seen.add(path.resolve())
            out.append(CatalogEntry(path, origin))
    return out
