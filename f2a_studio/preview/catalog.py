"""Generators on disk that the preview can offer, along core.search_path: the project's checkpoints/,
F2A_MODELS, the shipped models.

Only file names are looked at (no loading), so listing is cheap enough to redo whenever the picker opens.
A trainer run shows up as its checkpoints (`step-N.safetensors`); an ONNX export as its `.onnx` file. A
model with a card beside it (`NAME.md`, first line `# NAME (what it does)`) is listed by what it does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from f2a_studio.core.search_path import CHECKOUT_MODELS, PACKAGE_MODELS, model_search_path
from f2a_studio.preview.loader import is_generator_file

SUFFIXES = (".safetensors", ".onnx")
MAX_DEPTH = 4  # PROJECT/checkpoints/RUN/checkpoints/step-N.safetensors
# What the dock loads when the user has chosen nothing and the project has no checkpoint of its own: it draws
# from keypoints, so it works on every face with landmarks, and it ships inside the package (no download).
DEFAULT_MODEL = "pix2pix-keypoints-demo.safetensors"
CARD_TITLE_CHARS = 200  # only a card's first line is read


@dataclass(frozen=True)
class CatalogEntry:
    path: Path
    origin: str  # "project", "F2A_MODELS", "shipped", "file"
    title: str = ""  # from the model card, when there is one

    @property
    def label(self) -> str:
        if self.title:
            return f"{self.title} ({self.origin})"
        parts = self.path.parts
        tail = "/".join(p for p in parts[-3:] if p != "checkpoints")
        return f"{tail} ({self.origin})"


def card_title(path: Path) -> str:
    """What a model does, from the first line of its card `NAME.md` ("# NAME (what it does)"); "" without one."""
    try:
        with path.with_suffix(".md").open(encoding="utf-8") as handle:
            line = handle.readline(CARD_TITLE_CHARS).strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if not line.startswith("# "):
        return ""
    heading = line[2:].strip()
    # "name (keypoint drawing → anime face, 128²)": the part in brackets says it best
    if heading.endswith(")") and " (" in heading:
        return heading[heading.index(" (") + 2:-1]
    return heading


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
            out.append(CatalogEntry(path, origin, card_title(path)))
    return out


def default_entry(entries: list[CatalogEntry]) -> CatalogEntry | None:
    """The model to show before the user picks one: the project's newest own checkpoint (trained for this
    project), else the shipped keypoints demo, else the first found."""
    for entry in entries:
        if entry.origin == "project":
            return entry  # entries come newest first within a place
    for entry in entries:
        if entry.origin == "shipped" and entry.path.name == DEFAULT_MODEL:
            return entry
    return entries[0] if entries else None
