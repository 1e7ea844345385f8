"""labelme JSON (also what X-AnyLabeling writes): one file per image, face boxes as shapes.

A rectangle's points are two opposite corners (X-AnyLabeling writes all four), a polygon's points give its
bounding box; points, lines and circles are no boxes and are skipped. Labels are chosen with `labels`
(default: any label with "face" in it). The image is `imagePath`, resolved beside the JSON (or in the
images folder given; a Windows path's backslashes are read as folders); when that file is not there the
picture embedded in `imageData` (base64) is used.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path, PurePosixPath
from typing import Any

from f2a_studio.core.errors import ValidationError
from f2a_studio.export.label_import.checks import face_like, points_box, read_json
from f2a_studio.export.label_import.images import unsafe_name
from f2a_studio.export.label_import.model import FaceLabel, ImageRef, LabelledImage, LabelSet, Skip

BOX_SHAPES = ("rectangle", "polygon")


def collect(paths: list[Path]) -> list[Path]:
    """The .json files named, and those in folders named (recursively)."""
    out: list[Path] = []
    for path in paths:
        out += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return out


def _image_name(where: str, doc: dict[str, Any]) -> str:
    name = doc.get("imagePath")
    if name is None:
        return ""
    if not isinstance(name, str):
        raise ValidationError(f"{where}: imagePath must be a string, got {type(name).__name__}")
    return str(PurePosixPath(name.replace("\\", "/")))  # labelme on Windows writes "..\\images\\a.jpg"


def _embedded(where: str, doc: dict[str, Any]) -> bytes | None:
    data = doc.get("imageData")
    if data is None:
        return None
    if not isinstance(data, str):
        raise ValidationError(f"{where}: imageData must be a base64 string or null, got {type(data).__name__}")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{where}: imageData is not valid base64 ({exc})") from exc


def _size(where: str, doc: dict[str, Any]) -> tuple[int, int] | None:
    w, h = doc.get("imageWidth"), doc.get("imageHeight")
    if w is None and h is None:
        return None
    for key, value in (("imageWidth", w), ("imageHeight", h)):
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise ValidationError(f"{where}: {key} must be a positive integer, got {value!r:.40}")
    return int(w), int(h)  # type: ignore[arg-type]


def read(path: Path, labels: frozenset[str], images_dir: Path | None) -> LabelSet:
    """One labelme file; ValidationError naming the file and the shape and field if it is malformed."""
    doc = read_json(path)
    where = str(path)
    if not isinstance(doc, dict):
        raise ValidationError(f"{where}: a labelme file is a JSON object, got {type(doc).__name__}")
    shapes = doc.get("shapes")
    if not isinstance(shapes, list):
        raise ValidationError(f"{where}: labelme key 'shapes' is missing or not a list")
    name = _image_name(where, doc)
    embedded = _embedded(where, doc)
    size = _size(where, doc)
    if not name and embedded is None:
        raise ValidationError(f"{where}: neither imagePath nor imageData: no image to put the boxes on")
    out = LabelSet(files=[path])
    faces: list[FaceLabel] = []
    for n, shape in enumerate(shapes):
        face = _face(where, n, shape, labels, out)
        if face is not None:
            faces.append(face)
    folders = [images_dir] if images_dir is not None else []
    folders.append(path.parent)
    if images_dir is not None and unsafe_name(name):
        # "../images/a.jpg" may not be followed out of the JSON's folder, but the folder given is where
        # the user says the pictures are: look for the bare file name there
        name = PurePosixPath(name).name
        folders = [images_dir]
    ref = ImageRef(f"{where} (image {name or 'embedded'})", path, tuple(folders), name=name, embedded=embedded,
                   size=size)
    out.images.append(LabelledImage(ref, tuple(faces)))
    return out


def _face(where: str, n: int, shape: Any, labels: frozenset[str], out: LabelSet) -> FaceLabel | None:
    at = f"{where} shape {n}"
    if not isinstance(shape, dict):
        raise ValidationError(f"{at}: a shape is a JSON object, got {type(shape).__name__}")
    label = shape.get("label")
    if not isinstance(label, str):
        raise ValidationError(f"{at}: label must be a string, got {label!r:.40}")
    kind = shape.get("shape_type") or "polygon"  # labelme's own default
    if not isinstance(kind, str):
        raise ValidationError(f"{at}: shape_type must be a string, got {kind!r:.40}")
    if "points" not in shape:
        raise ValidationError(f"{at}: 'points' is missing")
    points = shape["points"]
    x, y, w, h = points_box(at, "points", points)  # checked for every shape: a bad file is bad throughout
    if kind == "rectangle" and len(points) not in (2, 4):
        raise ValidationError(f"{at}: a rectangle has 2 (or 4) points, got {len(points)}")
    if kind == "polygon" and len(points) < 3:
        raise ValidationError(f"{at}: a polygon has at least 3 points, got {len(points)}")
    if not (label in labels if labels else face_like(label)):
        wanted = ", ".join(sorted(labels)) if labels else "a name with 'face' in it"
        out.skipped.append(Skip(at, f"non-face label {label!r} (taking {wanted}; choose with --label)"))
        return None
    if kind not in BOX_SHAPES:
        out.skipped.append(Skip(at, f"a {kind} is not a face box (rectangles and polygons are)"))
        return None
    return FaceLabel(x, y, w, h, at, label)
