"""What a label reader hands the import: face boxes per image, and what it left out and why.

Readers (coco.py, labelme.py, yolo.py) only parse and check their format; they never touch the project.
A malformed file raises ValidationError naming the file and what is wrong; anything well-formed that is
not a face box to import (another label, a point, a crowd region...) becomes a `Skip` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FaceLabel:
    """One face box as the file gives it. `normalised`: x, y, w, h are fractions of the image's size
    (YOLO); otherwise pixels. `where` names it in messages ("faces.json shape 3")."""

    x: float
    y: float
    w: float
    h: float
    where: str
    label: str = ""
    normalised: bool = False

    def in_pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        if self.normalised:
            return self.x * width, self.y * height, self.w * width, self.h * height
        return self.x, self.y, self.w, self.h


@dataclass(frozen=True)
class ImageRef:
    """How to find the labelled image: by file `name` (a relative path) in `folders`, or by `stem` (any
    image suffix), or from bytes embedded in the label file (labelme's imageData) when the file is missing.
    `hash`: the content hash when the file records one (an F2A export)."""

    where: str
    label_file: Path
    folders: tuple[Path, ...]
    name: str = ""
    stem: str = ""
    embedded: bytes | None = None
    hash: str | None = None
    size: tuple[int, int] | None = None  # (width, height) the file states, checked against the image


@dataclass(frozen=True)
class LabelledImage:
    image: ImageRef
    faces: tuple[FaceLabel, ...]


@dataclass(frozen=True)
class Skip:
    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass
class LabelSet:
    """Everything read from one or more label files, before any image is looked at."""

    images: list[LabelledImage] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def extend(self, other: LabelSet) -> None:
        self.images.extend(other.images)
        self.skipped.extend(other.skipped)
        self.files.extend(other.files)


@dataclass
class LabelImportReport:
    files: int = 0
    images_added: int = 0
    images_matched: int = 0
    faces_added: int = 0
    faces_present: int = 0  # already in the project (a re-import): not added again
    detections_replaced: int = 0  # model-only faces of the same face, replaced by the person's box
    skipped: list[Skip] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [str(s) for s in self.skipped]

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "images_added": self.images_added,
            "images_matched": self.images_matched,
            "faces_added": self.faces_added,
            "faces_present": self.faces_present,
            "detections_replaced": self.detections_replaced,
            "skipped": [{"where": s.where, "why": s.why} for s in self.skipped],
        }
