"""Import COCO keypoints (68 iBUG points per face) into a project: the way back from the coco export.

Images are found in the project by content hash (an F2A export records it), else by file (next to the
JSON, in its images/ folder, or in a folder given) and imported as cuts unchanged. Each annotation
becomes a face with its box, landmarks and, where present, the F2A attributes (sex, colours, pose,
status, score...). A face identical to one already on the image is not added twice, so importing the
same file again changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import ImageError, ValidationError
from f2a_studio.core.ibug68 import N_POINTS
from f2a_studio.core.imageio import content_hash, load_image
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import (
    Box,
    Colors,
    Face,
    FaceSource,
    FaceStatus,
    ImageRecord,
    Parts,
    Pose,
    Sex,
    parse_score_features,
)
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions
from f2a_studio.export.formats.coco import IMAGES_DIR

Progress = Callable[[int, int, str], None]


@dataclass
class CocoImportReport:
    images_added: int = 0
    images_matched: int = 0
    faces_added: int = 0
    faces_present: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "images_added": self.images_added,
            "images_matched": self.images_matched,
            "faces_added": self.faces_added,
            "faces_present": self.faces_present,
            "problems": list(self.problems),
        }


def load_coco(path: Path) -> dict[str, Any]:
    """Read and check the COCO layout; ValidationError naming the first thing wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValidationError(f"{path}: a COCO file is a JSON object, got {type(doc).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise ValidationError(f"{path}: COCO key '{key}' is missing or not a list")
    if not face_categories(doc):
        raise ValidationError(f"{path}: no category with {N_POINTS} keypoints (iBUG-68 faces)")
    return doc


def face_categories(doc: dict[str, Any]) -> set[int]:
    return {
        int(c["id"]) for c in doc["categories"]
        if isinstance(c, dict) and "id" in c and len(c.get("keypoints") or []) == N_POINTS
    }


def face_from_annotation(ann: dict[str, Any], image_id: int) -> Face:
    """One COCO annotation → a Face on `image_id` (ValidationError naming the annotation if malformed)."""
    where = f"annotation {ann.get('id', '?')}"
    kp = ann.get("keypoints")
    if not isinstance(kp, list) or len(kp) != 3 * N_POINTS:
        got = len(kp) if isinstance(kp, list) else type(kp).__name__
        raise ValidationError(f"{where}: keypoints must be {3 * N_POINTS} numbers ({N_POINTS} × [x, y, v]), got {got}")
    try:
        points = [(float(kp[i]), float(kp[i + 1]), int(kp[i + 2])) for i in range(0, len(kp), 3)]
        extra = ann.get("f2a") or {}
        for index, x, y in extra.get("unlabeled_points") or []:
            points[int(index)] = (float(x), float(y), 0)
        has_landmarks = extra.get("has_landmarks", any(v > 0 for _, _, v in points))
        if "bbox" in ann:
            box = Box.from_list(ann["bbox"])
        else:
            labelled = [(x, y) for x, y, v in points if v > 0]
            if not labelled:
                raise ValidationError(f"{where}: no bbox and no labelled keypoint")
            xs, ys = [p[0] for p in labelled], [p[1] for p in labelled]
            box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        attrs = ann.get("attributes") or {}
        prov = extra.get("provenance") or {}  # an F2A export's: kept, so a round trip keeps who set what
        return Face(
            human_fields=frozenset(prov.get("human_fields") or ()),
            human_points=frozenset(prov.get("human_points") or ()),
            finder=str(prov.get("finder") or ""),
            finder_model=str(prov.get("finder_model") or ""),
            finder_sha256=str(prov.get("finder_sha256") or ""),
            raw_score=prov.get("raw_score"),
            score_features=parse_score_features(prov.get("score_features")),
            image_id=image_id,
            box=box,
            score=float(attrs.get("score", 1.0)),
            source=FaceSource(attrs.get("source", FaceSource.HUMAN.value)),
            status=FaceStatus(attrs.get("status", FaceStatus.UNREVIEWED.value)),
            sex=Sex(attrs.get("sex", Sex.UNKNOWN.value)),
            sex_prob=attrs.get("sex_prob"),
            colors=Colors.from_json(attrs.get("colors")),
            parts=Parts.from_json(attrs.get("parts")),
            landmarks=tuple(points) if has_landmarks else (),
            pose=Pose.from_json(attrs.get("pose")),
        )
    except ValidationError as exc:
        if str(exc).startswith(where):
            raise
        raise ValidationError(f"{where}: {exc}") from exc
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ValidationError(f"{where}: {exc}") from exc


def _same_face(a: Face, b: Face) -> bool:
    if not all(math.isclose(p, q, abs_tol=1e-6) for p, q in zip(a.box.to_list(), b.box.to_list(), strict=True)):
        return False
    if len(a.landmarks) != len(b.landmarks):
        return False
    return all(
        pa[2] == pb[2] and math.isclose(pa[0], pb[0], abs_tol=1e-6) and math.isclose(pa[1], pb[1], abs_tol=1e-6)
        for pa, pb in zip(a.landmarks, b.landmarks, strict=True)
    )


def _resolve_image(store: ProjectStore, entry: dict[str, Any], folders: list[Path],
                   report: CocoImportReport) -> ImageRecord | None:
    digest = (entry.get("f2a") or {}).get("hash")
    if digest and (found := store.image_by_hash(digest)) is not None:
        report.images_matched += 1
        return found
    name = str(entry.get("file_name", ""))
    candidates = [folder / name for folder in folders] if name else []
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        report.problems.append(f"image {entry.get('id')}: file {name!r} not found "
                               f"(looked in {', '.join(str(f) for f in folders)})")
        return None
    try:
        digest = content_hash(load_image(path).pixels)
    except ImageError as exc:
        report.problems.append(f"image {entry.get('id')}: {exc.reason} ({path})")
        return None
    if (found := store.image_by_hash(digest)) is not None:
        report.images_matched += 1
        return found
    result = import_sources(store, [path], split=SplitOptions(min_aspect=float("inf")))
    report.problems.extend(f"image {entry.get('id')}: {p.reason} ({p.path})" for p in result.problems)
    found = store.image_by_hash(digest)
    if found is not None:
        report.images_added += 1
    return found


def import_coco(store: ProjectStore, json_path: Path | str, *, images_dir: Path | str | None = None,
                progress: Progress | None = None) -> CocoImportReport:
    json_path = Path(json_path)
    doc = load_coco(json_path)
    cats = face_categories(doc)
    folders = [Path(images_dir)] if images_dir else []
    folders += [json_path.parent / IMAGES_DIR, json_path.parent]
    report = CocoImportReport()
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for ann in doc["annotations"]:
        if not isinstance(ann, dict):
            raise ValidationError(f"{json_path}: an annotation is not a JSON object")
        if ann.get("category_id") not in cats:
            report.problems.append(f"annotation {ann.get('id')}: category {ann.get('category_id')} "
                                   f"has no {N_POINTS} keypoints, skipped")
            continue
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    entries = {e.get("id"): e for e in doc["images"] if isinstance(e, dict)}
    missing = [k for k in by_image if k not in entries]
    if missing:
        raise ValidationError(f"{json_path}: annotations refer to image ids not in 'images': {missing[:5]}")
    # check every annotation before writing anything
    for anns in by_image.values():
        for ann in anns:
            face_from_annotation(ann, 0)
    todo = list(by_image)  # file order: the project's new face ids follow the file
    for n, image_key in enumerate(todo):
        entry = entries[image_key]
        if progress:
            progress(n, len(todo), str(entry.get("file_name", "")))
        record = _resolve_image(store, entry, folders, report)
        if record is None:
            continue
        existing = store.faces(record.id)
        new = []
        for ann in by_image[image_key]:
            face = face_from_annotation(ann, record.id)
            if any(_same_face(face, old) for old in existing + new):
                report.faces_present += 1
            else:
                new.append(face)
        if new:
            store.add_faces(new, actor="coco-import")
            report.faces_added += len(new)
    if progress:
        progress(len(todo), len(todo), "")
    return report
