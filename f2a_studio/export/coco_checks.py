"""Checks of a COCO keypoints document before anything of it is written: every field's type, then its value.

A COCO file comes from anywhere (another tool, a hand edit), so nothing in it is trusted: an id that is a
list, keypoints as an int, a visibility of 1.7, an index of −1 (which Python reads as point 67), NaN in a
pose or a box 1e300 wide would otherwise crash the import half-way or be stored and break the studio's
layout. Each check raises ValidationError naming the annotation (or image, or category) and the field.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.ibug68 import N_POINTS

# Coordinates may reach one image size beyond each edge (a face cut by the border has points outside);
# anything further is a unit or scale mistake.
SLACK = 1.0
MAX_POSE_DEG = 180.0
HASH = re.compile(r"[0-9a-f]{64}")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_id(value: Any) -> bool:
    """COCO ids are integers; strings are accepted too (some tools write them), nothing else (no lists)."""
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def finite_number(where: str, field: str, value: Any) -> float:
    """A finite number (not a bool), else ValidationError naming `where` and `field`."""
    if not is_number(value):
        raise ValidationError(f"{where}: {field} must be a number, got {type(value).__name__} {value!r:.40}")
    if not math.isfinite(value):
        raise ValidationError(f"{where}: {field} must be finite, got {value!r}")
    return float(value)


def _dict_or_none(where: str, field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: {field} must be a JSON object, got {type(value).__name__}")
    return value


def check_category(cat: Any, index: int) -> None:
    where = f"category #{index}"
    if not isinstance(cat, dict):
        raise ValidationError(f"{where}: a category is a JSON object, got {type(cat).__name__}")
    if "id" not in cat or not is_id(cat["id"]):
        raise ValidationError(f"{where}: id must be an integer, got {cat.get('id')!r:.40}")
    kp = cat.get("keypoints")
    if kp is not None and not (isinstance(kp, list) and all(isinstance(k, str) for k in kp)):
        raise ValidationError(f"category {cat['id']}: keypoints must be a list of names, got {kp!r:.40}")


def check_image_entry(entry: Any, index: int) -> None:
    where = f"image #{index}"
    if not isinstance(entry, dict):
        raise ValidationError(f"{where}: an image entry is a JSON object, got {type(entry).__name__}")
    if "id" not in entry or not is_id(entry["id"]):
        raise ValidationError(f"{where}: id must be an integer, got {entry.get('id')!r:.40}")
    where = f"image {entry['id']}"
    if "file_name" in entry and not isinstance(entry["file_name"], str):
        raise ValidationError(f"{where}: file_name must be a string, got {type(entry['file_name']).__name__}")
    for key in ("width", "height"):
        if key in entry and not (isinstance(entry[key], int) and not isinstance(entry[key], bool) and entry[key] > 0):
            raise ValidationError(f"{where}: {key} must be a positive integer, got {entry[key]!r:.40}")
    extra = _dict_or_none(where, "f2a", entry.get("f2a"))
    digest = extra.get("hash")
    if digest is not None and not (isinstance(digest, str) and HASH.fullmatch(digest)):
        raise ValidationError(f"{where}: f2a.hash must be 64 hex digits, got {digest!r:.40}")


def _keypoints_fine(kp: list[Any]) -> bool:
    """The common case in one numpy pass (the per-value loop below costs ~1 ms an annotation)."""
    if not all(type(v) is int or type(v) is float for v in kp):  # exact types: a bool is no number here
        return False
    arr = np.asarray(kp, dtype=np.float64).reshape(-1, 3)
    return bool(np.isfinite(arr).all() and np.isin(arr[:, 2], (0, 1, 2)).all())


def _name_bad_keypoint(where: str, kp: list[Any]) -> None:
    for i in range(N_POINTS):
        x, y, v = kp[3 * i : 3 * i + 3]
        finite_number(where, f"keypoints[{i}].x", x)
        finite_number(where, f"keypoints[{i}].y", y)
        if not is_number(v) or v not in (0, 1, 2):
            raise ValidationError(f"{where}: keypoints[{i}] visibility must be 0, 1 or 2, got {v!r:.40}")
    raise ValidationError(f"{where}: keypoints hold a value that is not a finite number")  # pragma: no cover


def check_annotation_types(ann: Any, index: int) -> None:
    """Types and value ranges that do not need the image's size."""
    if not isinstance(ann, dict):
        raise ValidationError(f"annotation #{index}: an annotation is a JSON object, got {type(ann).__name__}")
    if "id" in ann and not is_id(ann["id"]):
        raise ValidationError(f"annotation #{index}: id must be an integer, got {ann['id']!r:.40}")
    where = f"annotation {ann.get('id', f'#{index}')}"
    for key in ("image_id", "category_id"):
        if not is_id(ann.get(key)):
            raise ValidationError(f"{where}: {key} must be an integer, got {ann.get(key)!r:.40}")
    kp = ann.get("keypoints")
    if not isinstance(kp, list) or len(kp) != 3 * N_POINTS:
        got = len(kp) if isinstance(kp, list) else type(kp).__name__
        raise ValidationError(f"{where}: keypoints must be {3 * N_POINTS} numbers ({N_POINTS} × [x, y, v]), got {got}")
    if not _keypoints_fine(kp):
        _name_bad_keypoint(where, kp)
    if "bbox" in ann:
        box = ann["bbox"]
        if not isinstance(box, list) or len(box) != 4:
            raise ValidationError(f"{where}: bbox must be [x, y, w, h], got {box!r:.60}")
        for name, value in zip("xywh", box, strict=True):
            finite_number(where, f"bbox {name}", value)
        if box[2] <= 0 or box[3] <= 0:
            raise ValidationError(f"{where}: bbox size must be positive, got {box[2]}×{box[3]}")
    extra = _dict_or_none(where, "f2a", ann.get("f2a"))
    unlabeled = extra.get("unlabeled_points") or []
    if not isinstance(unlabeled, list):
        raise ValidationError(f"{where}: f2a.unlabeled_points must be a list, got {type(unlabeled).__name__}")
    for item in unlabeled:
        if not (isinstance(item, list) and len(item) == 3):
            raise ValidationError(f"{where}: f2a.unlabeled_points entries are [index, x, y], got {item!r:.40}")
        idx = item[0]
        if not (isinstance(idx, int) and not isinstance(idx, bool) and 0 <= idx < N_POINTS):
            raise ValidationError(f"{where}: f2a.unlabeled_points index must be 0–{N_POINTS - 1}, got {idx!r:.40}")
        finite_number(where, f"f2a.unlabeled_points[{idx}].x", item[1])
        finite_number(where, f"f2a.unlabeled_points[{idx}].y", item[2])
    if "has_landmarks" in extra and not isinstance(extra["has_landmarks"], bool):
        raise ValidationError(f"{where}: f2a.has_landmarks must be true or false")
    attrs = _dict_or_none(where, "attributes", ann.get("attributes"))
    for key in ("score", "sex_prob"):
        if attrs.get(key) is not None:
            value = finite_number(where, f"attributes.{key}", attrs[key])
            if not 0.0 <= value <= 1.0:
                raise ValidationError(f"{where}: attributes.{key} must be within [0, 1], got {value}")
    for key in ("sex", "status", "source"):
        if key in attrs and not isinstance(attrs[key], str):
            raise ValidationError(f"{where}: attributes.{key} must be a string, got {attrs[key]!r:.40}")
    colors = _dict_or_none(where, "attributes.colors", attrs.get("colors"))
    for key, value in colors.items():
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{where}: attributes.colors.{key} must be a colour string, got {value!r:.40}")
    pose = _dict_or_none(where, "attributes.pose", attrs.get("pose"))
    if pose:
        for key in ("yaw", "pitch", "roll"):
            value = finite_number(where, f"attributes.pose.{key}", pose.get(key))
            if abs(value) > MAX_POSE_DEG:
                raise ValidationError(f"{where}: attributes.pose.{key} must be within ±{MAX_POSE_DEG:g}°, "
                                      f"got {value}")
    parts = _dict_or_none(where, "attributes.parts", attrs.get("parts"))
    for key, value in parts.items():
        if not value:
            continue
        size = 4 if key in ("left_eye", "right_eye", "mouth") else 2
        if not (isinstance(value, list) and len(value) == size):
            raise ValidationError(f"{where}: attributes.parts.{key} must be {size} numbers, got {value!r:.60}")
        for n, v in enumerate(value):
            finite_number(where, f"attributes.parts.{key}[{n}]", v)


def check_in_image(ann: dict[str, Any], width: int, height: int, *, box: list[float],
                   points: list[tuple[float, float, int]]) -> None:
    """The annotation's box, points and parts against the image's size: on or near the image, sane sizes."""
    where = f"annotation {ann.get('id', '?')}"
    lo_x, hi_x = -SLACK * width, (1 + SLACK) * width
    lo_y, hi_y = -SLACK * height, (1 + SLACK) * height
    x, y, w, h = box
    if w > (1 + 2 * SLACK) * width or h > (1 + 2 * SLACK) * height:
        raise ValidationError(f"{where}: bbox {w:g}×{h:g} is absurdly large for a {width}×{height} image")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValidationError(f"{where}: bbox [{x:g}, {y:g}, {w:g}, {h:g}] lies off the {width}×{height} image")
    for i, (px, py, v) in enumerate(points):
        if (v > 0 or px or py) and not (lo_x <= px <= hi_x and lo_y <= py <= hi_y):
            raise ValidationError(f"{where}: keypoints[{i}] ({px:g}, {py:g}) lies far off the "
                                  f"{width}×{height} image")
    parts = ((ann.get("attributes") or {}).get("parts")) or {}
    for key, value in parts.items():
        if not value:
            continue
        far = not (lo_x <= value[0] <= hi_x and lo_y <= value[1] <= hi_y)
        if len(value) == 4:  # a box: its size too
            far = far or not (0 <= value[2] <= (1 + 2 * SLACK) * width and 0 <= value[3] <= (1 + 2 * SLACK) * height)
        if far:
            raise ValidationError(f"{where}: attributes.parts.{key} {value} lies far off the "
                                  f"{width}×{height} image")
