"""Import COCO keypoints (68 iBUG points per face) into a project: the way back from the coco export.

Images are found in the project by content hash (an F2A export records it), else by file (next to the
JSON, in its images/ folder, or in a folder given) and imported as cuts unchanged. Each annotation
becomes a face with its box, landmarks and, where present, the F2A attributes (sex, colours, pose,
status, score...). A face identical to one already on the image is not added twice, so importing the
same file again changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.ibug68 import N_POINTS
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
from f2a_studio.export.coco_checks import check_annotation_types, check_category, check_image_entry, check_in_image
from f2a_studio.export.formats.coco import IMAGES_DIR
from f2a_studio.export.label_import import coco as box_coco
from f2a_studio.export.label_import.apply import import_labels
from f2a_studio.export.label_import.checks import read_json
from f2a_studio.export.label_import.coco import check_layout
from f2a_studio.export.label_import.images import ImageCache, find_file
from f2a_studio.export.label_import.model import LabelImportReport

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


def read_coco(path: Path) -> dict[str, Any]:
    """Read and check the COCO layout, categories and image entries (not the annotations); ValidationError
    naming the first thing wrong."""
    doc = read_json(path)
    check_layout(path, doc)
    try:
        for n, cat in enumerate(doc["categories"]):
            check_category(cat, n)
        for n, entry in enumerate(doc["images"]):
            check_image_entry(entry, n)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from exc
    return doc


def load_coco(path: Path) -> dict[str, Any]:
    """A keypoint COCO file (`read_coco`) with a 68-point face category, else ValidationError."""
    doc = read_coco(path)
    if not face_categories(doc):
        raise ValidationError(f"{path}: no category with {N_POINTS} keypoints (iBUG-68 faces)")
    return doc


def face_categories(doc: dict[str, Any]) -> set[Any]:
    return {c["id"] for c in doc["categories"] if len(c.get("keypoints") or []) == N_POINTS}


def face_from_annotation(ann: dict[str, Any], image_id: int, *, checked: bool = False) -> Face:
    """One COCO annotation → a Face on `image_id` (ValidationError naming the annotation and field if
    malformed). The types are checked first (coco_checks; `checked`: already done), so nothing below can
    crash on a list where a number belongs."""
    if not checked:
        check_annotation_types(ann, 0)
    where = f"annotation {ann.get('id', '?')}"
    kp = ann["keypoints"]
    try:
        points = [(float(kp[i]), float(kp[i + 1]), int(kp[i + 2])) for i in range(0, len(kp), 3)]
        extra = ann.get("f2a") or {}
        for index, x, y in extra.get("unlabeled_points") or []:
            points[index] = (float(x), float(y), 0)
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
            score=float(attrs.get("score") if attrs.get("score") is not None else 1.0),
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


class _FaceIndex:
    """Faces of one image, bucketed by their box and points rounded to whole pixels, so that finding a
    duplicate is a dict look-up, not a scan of every face so far (11k annotations on one image took 125 s).
    Faces within 1e-6 of each other land in one bucket unless a rounded value sits that close to a half
    pixel; such a near-duplicate is then added once more, never lost."""

    def __init__(self, faces: list[Face]) -> None:
        self._buckets: dict[tuple, list[Face]] = {}
        for face in faces:
            self.add(face)

    @staticmethod
    def _key(face: Face) -> tuple:
        # the box and the sums of the points, whole pixels: cheap, and faces that differ only in their
        # landmarks still fall into different buckets
        points = face.landmarks
        return (*(round(v) for v in face.box.to_list()), round(sum(p[0] for p in points)),
                round(sum(p[1] for p in points)), sum(p[2] for p in points))

    def has(self, face: Face) -> bool:
        return any(_same_face(face, other) for other in self._buckets.get(self._key(face), ()))

    def add(self, face: Face) -> None:
        self._buckets.setdefault(self._key(face), []).append(face)


@dataclass(frozen=True)
class _Found:
    """Where an annotated image is: already in the project (`record`) or a file to import (`path`)."""

    record: ImageRecord | None
    path: Path | None
    digest: str
    width: int
    height: int


def _locate(store: ProjectStore, entry: dict[str, Any], folders: list[Path], report: CocoImportReport,
            cache: ImageCache) -> _Found | None:
    """Find an annotated image without writing anything: by hash in the project, else by file."""
    digest = (entry.get("f2a") or {}).get("hash")
    if digest and (found := store.image_by_hash(digest)) is not None:
        return _Found(found, None, found.hash, found.width, found.height)
    name = entry.get("file_name") or ""
    path, why = find_file(name, folders, missing="no file_name, and its f2a.hash is not in the project")
    if path is None:
        report.problems.append(f"image {entry.get('id')}: {why}")
        return None
    facts = cache.facts(path)
    if isinstance(facts, str):
        report.problems.append(f"image {entry.get('id')}: {facts} ({path})")
        return None
    found = store.image_by_hash(facts.digest)
    return _Found(found, None if found else path, facts.digest, facts.width, facts.height)


def import_coco(store: ProjectStore, json_path: Path | str, *, images_dir: Path | str | None = None,
                progress: Progress | None = None, labels: Iterable[str] = ()) -> CocoImportReport | LabelImportReport:
    """All or nothing: the whole file is checked (types, values, images found and sized) before anything is
    written; then the new images are imported and every new face is added in one transaction.

    A file with no 68-keypoint category is box-only COCO (CVAT, X-AnyLabeling...): its boxes in the
    categories `labels` names (default: named like a face) become accepted human faces with fitted
    landmarks (export/label_import), and the report is that importer's."""
    json_path = Path(json_path)
    doc = read_coco(json_path)
    cats = face_categories(doc)
    if not cats:
        images = Path(images_dir) if images_dir is not None else None
        return import_labels(store, box_coco.read_doc(json_path, doc, frozenset(labels), images),
                             progress=progress)
    folders = [Path(images_dir)] if images_dir else []
    folders += [json_path.parent / IMAGES_DIR, json_path.parent]
    report = CocoImportReport()
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for n, ann in enumerate(doc["annotations"]):
        try:
            check_annotation_types(ann, n)
        except ValidationError as exc:
            raise ValidationError(f"{json_path}: {exc}") from exc
        if ann["category_id"] not in cats:
            report.problems.append(f"annotation {ann.get('id')}: category {ann.get('category_id')} "
                                   f"has no {N_POINTS} keypoints, skipped")
            continue
        by_image.setdefault(ann["image_id"], []).append(ann)
    entries = {e["id"]: e for e in doc["images"]}
    missing = [k for k in by_image if k not in entries]
    if missing:
        raise ValidationError(f"{json_path}: annotations refer to image ids not in 'images': {missing[:5]}")
    faces: dict[int, Face] = {}  # id(annotation) → its face (image id 0 until the image is known)
    for anns in by_image.values():  # every annotation on its own, before any image is looked at
        for ann in anns:
            faces[id(ann)] = face_from_annotation(ann, 0, checked=True)
    todo = list(by_image)  # file order: the project's new face ids follow the file
    located: dict[Any, _Found] = {}
    cache = ImageCache()
    for n, image_key in enumerate(todo):
        entry = entries[image_key]
        if progress:
            progress(n, 2 * len(todo), str(entry.get("file_name", "")))
        found = _locate(store, entry, folders, report, cache)
        if found is None:
            continue
        for ann in by_image[image_key]:
            face = faces[id(ann)]
            check_in_image(ann, found.width, found.height, box=face.box.to_list(), points=list(face.landmarks))
        located[image_key] = found
    # everything checked: now write
    new_faces: list[Face] = []
    for n, image_key in enumerate(todo):
        if image_key not in located:
            continue
        if progress:
            progress(len(todo) + n, 2 * len(todo), str(entries[image_key].get("file_name", "")))
        record = _materialise(store, located[image_key], image_key, report)
        if record is None:
            continue
        index = _FaceIndex(store.faces(record.id))
        for ann in by_image[image_key]:
            face = replace(faces[id(ann)], image_id=record.id)
            if index.has(face):
                report.faces_present += 1
            else:
                index.add(face)
                new_faces.append(face)
    if new_faces:
        store.add_faces(new_faces, actor="coco-import")
        report.faces_added += len(new_faces)
    if progress:
        progress(2 * len(todo), 2 * len(todo), "")
    return report


def _materialise(store: ProjectStore, found: _Found, image_key: Any, report: CocoImportReport) -> ImageRecord | None:
    """The project's record of a located image, importing its file first when it is new."""
    record = found.record or store.image_by_hash(found.digest)
    if record is not None:
        report.images_matched += 1
        return record
    assert found.path is not None
    result = import_sources(store, [found.path], split=SplitOptions(min_aspect=float("inf")))
    report.problems.extend(f"image {image_key}: {p.reason} ({p.path})" for p in result.problems)
    record = store.image_by_hash(found.digest)
    if record is not None:
        report.images_added += 1
    return record
