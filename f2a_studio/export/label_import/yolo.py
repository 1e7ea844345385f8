"""YOLO txt: one .txt per image, one `class cx cy w h` line per box, all fractions of the image's size.

Also read: a sixth value (a confidence, as YOLO writes predictions) and segmentation lines
(`class x1 y1 x2 y2 ...`, the polygon's bounding box is taken). Class names come from `classes.txt` /
`obj.names` (one per line) or the `names:` of `data.yaml` / `dataset.yaml`, in the label file's folder or
up to three folders above. The face classes are chosen with `labels` (names or numbers; default: any name
with "face" in it, or class 0 when there are no names). The image has the label file's stem and any image
suffix, in the images folder given, beside the .txt, or in YOLO's mirror folder (`labels/` → `images/`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from f2a_studio.core.errors import ValidationError
from f2a_studio.export.label_import.checks import face_like, read_text
from f2a_studio.export.label_import.model import FaceLabel, ImageRef, LabelledImage, LabelSet, Skip

NAME_FILES = ("classes.txt", "obj.names")
YAML_FILES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
NOT_LABELS = frozenset(NAME_FILES) | {"readme.txt", "license.txt", "labels.txt"}
UP = 3


def collect(paths: list[Path]) -> list[Path]:
    """The .txt label files named, and those in folders named (recursively; class-name files left out)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.txt") if p.name.lower() not in NOT_LABELS)
        else:
            out.append(path)
    return out


def _above(folder: Path) -> list[Path]:
    return [folder, *list(folder.parents)[:UP]]


def class_names(label_file: Path) -> tuple[dict[int, str] | None, Path | None]:
    """The class names that apply to `label_file`, and the file they came from (None, None: no names)."""
    for folder in _above(label_file.parent):
        for name in NAME_FILES:
            if (folder / name).is_file():
                lines = [ln.strip() for ln in read_text(folder / name).splitlines()]
                return {i: n for i, n in enumerate(n for n in lines if n)}, folder / name
        for name in YAML_FILES:
            if (folder / name).is_file():
                return yaml_names(folder / name), folder / name
    return None, None


_FLOW = re.compile(r"^names\s*:\s*\[(?P<items>.*)\]\s*$")
_KEYED = re.compile(r"^\s+(?P<key>\d+)\s*:\s*(?P<name>.+?)\s*$")
_LISTED = re.compile(r"^\s*-\s*(?P<name>.+?)\s*$")


def _unquote(text: str) -> str:
    text = text.split(" #", 1)[0].strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def yaml_names(path: Path) -> dict[int, str]:
    """The `names:` of a YOLO data.yaml in its three spellings (a [flow, list], a block list, or a
    `0: face` mapping); only that key is read, so no YAML library is needed."""
    lines = read_text(path).splitlines()
    for n, line in enumerate(lines):
        flow = _FLOW.match(line)
        if flow:
            items = [_unquote(s) for s in flow.group("items").split(",") if s.strip()]
            return dict(enumerate(items))
        if re.match(r"^names\s*:\s*(#.*)?$", line):
            names: dict[int, str] = {}
            for below in lines[n + 1 :]:
                if not below.strip() or below.lstrip().startswith("#"):
                    continue
                if keyed := _KEYED.match(below):
                    names[int(keyed.group("key"))] = _unquote(keyed.group("name"))
                elif (listed := _LISTED.match(below)) and below[:1] in " -":
                    names[len(names)] = _unquote(listed.group("name"))
                else:
                    break
            if names:
                return names
    raise ValidationError(f"{path}: no class names found (expected `names: [face, ...]`, a list or "
                          "`0: face` lines under `names:`)")


def image_folders(label_file: Path, images_dir: Path | None) -> list[Path]:
    folders = [images_dir] if images_dir is not None else []
    folders.append(label_file.parent)
    parts = label_file.parent.parts
    if "labels" in parts:  # YOLO's layout: dataset/labels/train/a.txt ↔ dataset/images/train/a.jpg
        i = len(parts) - 1 - parts[::-1].index("labels")
        folders.append(Path(*parts[:i], "images", *parts[i + 1 :]))
    return folders


def _wanted(cls: int, names: dict[int, str] | None, labels: frozenset[str]) -> str | None:
    """None when class `cls` is a face class to import, else why it is skipped."""
    name = names.get(cls) if names is not None else None
    if names is not None and name is None:
        return f"unknown class {cls} (the class names list {len(names)})"
    if labels:
        if str(cls) in labels or (name is not None and name in labels):
            return None
        return f"non-face class {name or cls!r} (taking {', '.join(sorted(labels))})"
    if names is None:
        return None if cls == 0 else (f"class {cls}: there are no class names (classes.txt, data.yaml) and no "
                                      "--class, so only class 0 is taken")
    return None if face_like(name or "") else (f"non-face class {name!r} (taking names with 'face' in them; "
                                               "choose with --class)")


def _fraction(at: str, what: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"{at}: {what} must be a number, got {text!r:.40}") from None
    if not math.isfinite(value):
        raise ValidationError(f"{at}: {what} must be finite, got {text!r}")
    if not 0.0 <= value <= 1.0:
        hint = " (a negative size)" if what in ("w", "h") and value < 0 else \
            " (YOLO boxes are fractions of the image size, not pixels)" if value > 1 else ""
        raise ValidationError(f"{at}: {what} must be within 0–1, got {text}{hint}")
    return value


def _box(at: str, values: list[str]) -> tuple[float, float, float, float]:
    if len(values) in (4, 5):  # cx cy w h [confidence]
        cx, cy, w, h = (_fraction(at, k, v) for k, v in zip(("cx", "cy", "w", "h"), values[:4], strict=True))
        return cx - w / 2, cy - h / 2, w, h
    if len(values) >= 6 and len(values) % 2 == 0:  # a segmentation polygon: x1 y1 x2 y2 ...
        xs = [_fraction(at, f"x{i // 2 + 1}", v) for i, v in enumerate(values) if i % 2 == 0]
        ys = [_fraction(at, f"y{i // 2 + 1}", v) for i, v in enumerate(values) if i % 2 == 1]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    raise ValidationError(f"{at}: expected `class cx cy w h` (5 values) or a polygon `class x1 y1 x2 y2 x3 y3 "
                          f"...`, got {len(values) + 1} values")


def read(path: Path, labels: frozenset[str], images_dir: Path | None) -> LabelSet:
    """One YOLO label file; ValidationError naming the file, line and value if it is malformed."""
    names, _ = class_names(path)
    out = LabelSet(files=[path])
    faces: list[FaceLabel] = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        at = f"{path} line {n}"
        fields = text.split()
        if not re.fullmatch(r"\d+", fields[0]):
            raise ValidationError(f"{at}: the class must be a whole number ≥ 0, got {fields[0]!r:.40}")
        cls = int(fields[0])
        x, y, w, h = _box(at, fields[1:])  # checked for every line: a bad file is refused as a whole
        why = _wanted(cls, names, labels)
        if why is not None:
            out.skipped.append(Skip(at, why))
            continue
        faces.append(FaceLabel(x, y, w, h, at, (names or {}).get(cls, str(cls)), normalised=True))
    ref = ImageRef(f"{path} (image {path.stem}.*)", path, tuple(image_folders(path, images_dir)), stem=path.stem)
    out.images.append(LabelledImage(ref, tuple(faces)))
    return out
