"""Reading a label file and checking its values: every error is a ValidationError naming the file and what
is wrong, so a malformed file stops the import before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import ImageError, ValidationError
from f2a_studio.core.files import open_regular
from f2a_studio.export.coco_checks import finite_number

MAX_LABEL_BYTES = 1 << 30  # a label file this big is a mistake (a video named .json), not labels


def read_bytes(path: Path) -> bytes:
    try:
        with open_regular(path) as handle:  # a FIFO named x.json must not block the import
            data = handle.read(MAX_LABEL_BYTES + 1)
    except ImageError as exc:
        raise ValidationError(f"{path}: {exc.reason}") from exc
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_LABEL_BYTES:
        raise ValidationError(f"{path}: larger than {MAX_LABEL_BYTES >> 20} MiB; not a label file")
    return data


def read_text(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not JSON ({exc})") from exc
    except RecursionError as exc:
        raise ValidationError(f"{path}: nested too deeply to be a label file") from exc


# One number check for every label reader (COCO keypoints, box-only COCO, labelme, YOLO).
number = finite_number


def points_box(where: str, what: str, points: Any) -> tuple[float, float, float, float]:
    """The bounding box [x, y, w, h] of a list of [x, y] points (a polygon or a rectangle's corners)."""
    if not isinstance(points, list) or not points:
        raise ValidationError(f"{where}: {what} must be a list of [x, y] points, got {points!r:.60}")
    xs, ys = [], []
    for n, point in enumerate(points):
        if not (isinstance(point, list) and len(point) == 2):
            raise ValidationError(f"{where}: {what}[{n}] must be [x, y], got {point!r:.40}")
        xs.append(number(where, f"{what}[{n}].x", point[0]))
        ys.append(number(where, f"{what}[{n}].y", point[1]))
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def face_like(name: str) -> bool:
    """The default choice of label: any name with "face" in it (face, anime_face, Face, head_face...)."""
    return "face" in name.lower()
