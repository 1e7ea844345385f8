"""Generators on disk that the preview can offer: the project's checkpoints/, F2A_MODELS, the shipped models/.

Only file names are looked at (no loading), so listing is cheap enough to redo whenever the picker opens.
A trainer run shows up as its checkpoints (`step-N.safetensors`); an ONNX export as its `.onnx` file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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


def shipped_models_dir() -> Path:
    """The repository's models/ folder (beside the f2a_studio package in a source checkout)."""
    return Path(__file__).resolve().parents[2] / "models"


def search_path(project_checkpoints: Path | None) -> list[tuple[str, Path]]:
    places: list[tuple[str, Path]] = []
    if project_checkpoints is not None:
        places.append(("project", project_checkpoints))
    env = os.environ.get("F2A_MODELS")
    if env:
        places.append(("F2A_MODELS", Path(env)))
    places.append(("shipped", shipped_models_dir()))
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
