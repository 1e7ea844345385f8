"""Finding the image a label file names, shared by every label importer (COCO keypoints included).

A label file comes from anywhere, so the names in it are not trusted: a name is looked up only inside the
folders the import searches (the `--images` folder first, then the folders beside the label file), and a
name that could reach outside them (absolute, `..`, a link that leads out) is refused before anything is
looked up, so the message is the same whether or not such a file exists. A found file is decoded once
(`ImageCache`) for its content hash and size; nothing is written here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

import numpy as np

from f2a_studio.core.errors import ImageError
from f2a_studio.core.files import regular_file_problem
from f2a_studio.core.imageio import content_hash, load_image


def inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def unsafe_name(name: str) -> bool:
    """A name that could reach outside the folder it is looked up in (POSIX or Windows spelling)."""
    rel = PurePath(name)
    return (rel.is_absolute() or PureWindowsPath(name).is_absolute() or ".." in rel.parts
            or ".." in PureWindowsPath(name).parts)


def find_file(name: str, folders: list[Path], *, missing: str = "no file name") -> tuple[Path | None, str | None]:
    """(path, None) for a regular file inside one of `folders`, else (None, why). See the module docstring."""
    if not name:
        return None, missing
    if unsafe_name(name):
        return None, f"file name {name!r} points outside the images folder; refused"
    rel = PurePath(name)
    for folder in folders:
        candidate = folder / rel
        if not os.path.lexists(candidate):
            continue
        if not inside(candidate, folder):
            return None, f"file {name!r} is a link that leads outside {folder}; refused"
        if regular_file_problem(candidate) is None:
            return candidate, None
    return None, f"file {name!r} not found (looked in {', '.join(str(f) for f in folders)})"


def find_by_stem(stem: str, folders: list[Path], suffixes: frozenset[str]) -> tuple[Path | None, str | None]:
    """The image named `stem` + one of `suffixes` (any case) directly in one of `folders` (YOLO's rule:
    a label file and its image share a stem)."""
    if unsafe_name(stem) or "/" in stem or "\\" in stem:
        return None, f"file name {stem!r} points outside the images folder; refused"
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            candidate = folder / name
            if candidate.stem != stem or candidate.suffix.lower() not in suffixes:
                continue
            if not inside(candidate, folder):
                return None, f"file {name!r} is a link that leads outside {folder}; refused"
            if regular_file_problem(candidate) is None:
                return candidate, None
    return None, f"no image named {stem!r} ({', '.join(sorted(suffixes))}) in {', '.join(map(str, folders))}"


@dataclass(frozen=True)
class ImageFacts:
    """What the import needs of an image file: its content hash (the project's key) and size."""

    digest: str
    width: int
    height: int


class ImageCache:
    """Decodes each file once; a file that cannot be decoded is remembered with its reason."""

    def __init__(self) -> None:
        self._facts: dict[Path, ImageFacts | str] = {}

    def facts(self, path: Path) -> ImageFacts | str:
        """The file's facts, or the reason it cannot be read as an image."""
        if path not in self._facts:
            try:
                self._facts[path] = facts_of(load_image(path).pixels)
            except ImageError as exc:
                self._facts[path] = exc.reason
        return self._facts[path]


def facts_of(pixels: np.ndarray) -> ImageFacts:
    return ImageFacts(content_hash(pixels), int(pixels.shape[1]), int(pixels.shape[0]))
