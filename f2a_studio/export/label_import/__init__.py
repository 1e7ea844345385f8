"""Face boxes labelled in other tools → accepted human faces with fitted landmarks (apply.py).

One reader per format, in a registry (name → module with `collect(paths)` and `read(path, labels,
images_dir) -> LabelSet`), all sharing the image lookup (images.py) and the import core (apply.py).
Keypoint COCO with 68 iBUG points keeps its own importer (export/coco_import.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.store import ProjectStore
from f2a_studio.export.label_import import coco, labelme, yolo
from f2a_studio.export.label_import.apply import Progress, import_labels
from f2a_studio.export.label_import.model import LabelImportReport, LabelSet

READERS: dict[str, ModuleType] = {"coco": coco, "labelme": labelme, "yolo": yolo}


def reader(fmt: str) -> ModuleType:
    if fmt not in READERS:
        raise ValidationError(f"unknown label format {fmt!r}; known: {', '.join(READERS)}")
    return READERS[fmt]


def read_labels(paths: Iterable[Path | str], fmt: str, *, labels: Iterable[str] = (),
                images_dir: Path | str | None = None) -> LabelSet:
    """Every label file named (or found in the folders named), read and checked; nothing written. The
    first malformed file raises ValidationError naming it and what is wrong."""
    module = reader(fmt)
    chosen = frozenset(labels)
    images = Path(images_dir) if images_dir is not None else None
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise ValidationError(f"{path}: file not found")
    files = module.collect(paths)
    if not files:
        raise ValidationError(f"no {fmt} label files in {', '.join(map(str, paths))}")
    out = LabelSet()
    for path in files:
        out.extend(module.read(path, chosen, images))
    return out


def import_label_files(store: ProjectStore, paths: Iterable[Path | str], fmt: str, *, labels: Iterable[str] = (),
                       images_dir: Path | str | None = None, progress: Progress | None = None) -> LabelImportReport:
    """Read and check every file first, then import (all or nothing for malformed input)."""
    return import_labels(store, read_labels(paths, fmt, labels=labels, images_dir=images_dir), progress=progress)


__all__ = ["READERS", "LabelImportReport", "LabelSet", "import_label_files", "import_labels", "read_labels"]
