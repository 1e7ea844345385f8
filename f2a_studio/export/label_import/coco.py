"""Box-only COCO (what CVAT, X-AnyLabeling and most tools export for faces): a bbox per annotation, or a
segmentation polygon whose bounding box is taken, and no 68 keypoints (those files go through
export/coco_import.py, unchanged).

Categories are chosen with `labels` (names or ids; default: any name with "face" in it). Crowd regions
(`iscrowd: 1`, many faces in one box) and RLE masks without a bbox are skipped with the reason. Images are
found as for keypoint COCO: by the F2A hash when the file records one, else by `file_name` in the images
folder given, `images/` beside the JSON, or beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from f2a_studio.core.errors import ValidationError
from f2a_studio.export.coco_checks import check_image_entry, is_id
from f2a_studio.export.label_import.checks import face_like, number, read_json
from f2a_studio.export.label_import.model import FaceLabel, ImageRef, LabelledImage, LabelSet, Skip

IMAGES_DIR = "images"  # as export/formats/coco.py writes them


def collect(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out += sorted(path.glob("*.json")) if path.is_dir() else [path]
    return out


def check_layout(path: Path, doc: Any) -> None:
    """The COCO top level: an object with lists of images, annotations and categories."""
    if not isinstance(doc, dict):
        raise ValidationError(f"{path}: a COCO file is a JSON object, got {type(doc).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise ValidationError(f"{path}: COCO key '{key}' is missing or not a list")


def chosen_categories(path: Path, doc: dict[str, Any], labels: frozenset[str]) -> dict[Any, str]:
    """{id: name} of the categories to import; ValidationError listing the file's categories if none is."""
    names: dict[Any, str] = {}
    for n, cat in enumerate(doc["categories"]):
        if not isinstance(cat, dict) or not is_id(cat.get("id")):
            raise ValidationError(f"{path}: category #{n}: a category is an object with an integer id, "
                                  f"got {cat!r:.60}")
        name = cat.get("name", "")
        if not isinstance(name, str):
            raise ValidationError(f"{path}: category {cat['id']}: name must be a string, got {name!r:.40}")
        names[cat["id"]] = name
    chosen = {k: v for k, v in names.items() if (v in labels or str(k) in labels if labels else face_like(v))}
    if not chosen:
        listed = ", ".join(f"{k} {v!r}" for k, v in names.items()) or "none"
        wanted = f"named {', '.join(sorted(labels))}" if labels else "named like a face"
        raise ValidationError(f"{path}: no category with 68 keypoints (iBUG-68 faces) and no box category "
                              f"{wanted}; categories here: {listed} (choose with --label)")
    return chosen


def _polygon_box(where: str, seg: Any) -> tuple[float, float, float, float] | None:
    """The bounding box of COCO polygons [[x1, y1, x2, y2, ...], ...]; None for an RLE mask (a dict)."""
    if isinstance(seg, dict):
        return None
    if not (isinstance(seg, list) and seg and all(isinstance(p, list) for p in seg)):
        raise ValidationError(f"{where}: segmentation must be a list of polygons [[x1, y1, ...], ...] or an "
                              f"RLE object, got {seg!r:.60}")
    xs: list[float] = []
    ys: list[float] = []
    for n, poly in enumerate(seg):
        if len(poly) < 6 or len(poly) % 2:
            raise ValidationError(f"{where}: segmentation[{n}] must be x, y pairs of at least 3 points, "
                                  f"got {len(poly)} numbers")
        values = [number(where, f"segmentation[{n}][{i}]", v) for i, v in enumerate(poly)]
        xs += values[0::2]
        ys += values[1::2]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _annotation_box(where: str, ann: dict[str, Any]) -> tuple[float, float, float, float] | str:
    """The annotation's box in pixels, or why it is skipped; ValidationError if it is malformed."""
    crowd = ann.get("iscrowd", 0)
    if crowd not in (0, 1) or isinstance(crowd, bool | float):
        raise ValidationError(f"{where}: iscrowd must be 0 or 1, got {crowd!r:.40}")
    box = None
    if ann.get("bbox") is not None:
        raw = ann["bbox"]
        if not isinstance(raw, list) or len(raw) != 4:
            raise ValidationError(f"{where}: bbox must be [x, y, w, h], got {raw!r:.60}")
        x, y, w, h = (number(where, f"bbox {k}", v) for k, v in zip("xywh", raw, strict=True))
        if w < 0 or h < 0:
            raise ValidationError(f"{where}: bbox size must not be negative, got {w:g}×{h:g}")
        box = (x, y, w, h)
    seg_box = _polygon_box(where, ann["segmentation"]) if ann.get("segmentation") else None
    if crowd == 1:
        return "a crowd region (iscrowd 1), not one face"
    if box is None:
        box = seg_box
    if box is None:
        if isinstance(ann.get("segmentation"), dict):
            return "an RLE mask without a bbox (give the bbox, or polygons)"
        raise ValidationError(f"{where}: neither a bbox nor a segmentation polygon")
    return box


def read_doc(path: Path, doc: dict[str, Any], labels: frozenset[str], images_dir: Path | None) -> LabelSet:
    """A checked box-only COCO document (see check_layout) → its face boxes per image."""
    cats = chosen_categories(path, doc, labels)
    known = set()
    try:
        for n, entry in enumerate(doc["images"]):
            check_image_entry(entry, n)
            known.add(entry["id"])
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from exc
    all_cats = {c["id"]: c.get("name", "") for c in doc["categories"]}
    out = LabelSet(files=[path])
    by_image: dict[Any, list[FaceLabel]] = {}
    for n, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict):
            raise ValidationError(f"{path}: annotation #{n}: an annotation is a JSON object, "
                                  f"got {type(ann).__name__}")
        if "id" in ann and not is_id(ann["id"]):
            raise ValidationError(f"{path}: annotation #{n}: id must be an integer, got {ann['id']!r:.40}")
        where = f"{path} annotation {ann.get('id', f'#{n}')}"
        for key in ("image_id", "category_id"):
            if not is_id(ann.get(key)):
                raise ValidationError(f"{where}: {key} must be an integer, got {ann.get(key)!r:.40}")
        if ann["image_id"] not in known:
            raise ValidationError(f"{where}: image_id {ann['image_id']!r} is not in 'images'")
        box = _annotation_box(where, ann)  # checked for every annotation: a bad file is refused whole
        cat = ann["category_id"]
        if cat not in all_cats:
            out.skipped.append(Skip(where, f"unknown category {cat!r} (not in 'categories')"))
        elif cat not in cats:
            out.skipped.append(Skip(where, f"non-face category {all_cats[cat]!r}"))
        elif isinstance(box, str):
            out.skipped.append(Skip(where, box))
        else:
            by_image.setdefault(ann["image_id"], []).append(FaceLabel(*box, where, cats[cat]))
    folders = [images_dir] if images_dir is not None else []
    folders += [path.parent / IMAGES_DIR, path.parent]
    for entry in doc["images"]:
        faces = by_image.get(entry["id"])
        if not faces:
            continue
        size = (entry["width"], entry["height"]) if "width" in entry and "height" in entry else None
        ref = ImageRef(f"{path} image {entry['id']}", path, tuple(folders), name=entry.get("file_name") or "",
                       hash=(entry.get("f2a") or {}).get("hash"), size=size)
        out.images.append(LabelledImage(ref, tuple(faces)))
    return out


def read(path: Path, labels: frozenset[str], images_dir: Path | None) -> LabelSet:
    doc = read_json(path)
    check_layout(path, doc)
    return read_doc(path, doc, labels, images_dir)
