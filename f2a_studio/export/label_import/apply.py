"""Apply face boxes read from label files to a project: the core the COCO, labelme and YOLO readers share.

Two phases, so a bad input never leaves a half import:

1. *Plan* (nothing written): every image is found (the shared lookup in images.py) and decoded, every box
   put in pixels and checked against its image, duplicates found (in the files and against the faces the
   project has), and the landmarks fitted to each box by the landmark backend the studio uses for a box
   drawn by hand (detect/refit.py: the project's learned model first, the shipped one, the template fit).
2. *Write*: new images go in through core/importer.py as whole cuts (never split: the boxes are on the
   whole picture), then every face in one transaction (`ProjectStore.add_labelled_faces`).

Faces become accepted, human-drawn faces: their box and status are a person's (re-detection keeps them
whole, trainers learn from them), their landmarks the model's (a refit may replace them). Importing the
same files again finds each box already there and adds nothing. Whatever is left out is reported with why.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import ImageError
from f2a_studio.core.imageio import IMAGE_SUFFIXES, encode_png, flatten_alpha, load_image, read_image
from f2a_studio.core.importer import ImportReport, PreparedCut, PreparedFile, commit_file, import_sources
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus, ImageRecord, Landmark, Pose
from f2a_studio.core.provenance import is_human_work
from f2a_studio.core.search_path import model_search_path
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions, parse_source_name
from f2a_studio.export.label_import.images import ImageFacts, facts_of, find_by_stem, find_file
from f2a_studio.export.label_import.model import FaceLabel, ImageRef, LabelImportReport, LabelSet, Skip

Progress = Callable[[int, int, str], None]
ACTOR = "label-import"
# Two boxes this much alike are one face: the rule re-detection uses to keep a corrected face unduplicated.
DUPLICATE_IOU = 0.5
SAME_BOX_PX = 1e-3  # a re-import gives back exactly the stored box; this only absorbs float round trips
MIN_SIDE_PX = 1.0  # a box thinner than a pixel has nothing in it to fit
MAX_SIZE = 3.0  # a box this many image sizes across is a unit or scale mistake, not a face
Fit = tuple[tuple[Landmark, ...], Pose | None]


@dataclass
class _Plan:
    """One image's share of the import, fully checked; `record` None: `path` or `embedded` is imported."""

    where: str
    facts: ImageFacts
    record: ImageRecord | None
    path: Path | None = None
    embedded: bytes | None = None
    name: str = ""
    label_file: Path | None = None
    faces: list[Face] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    labels: list[FaceLabel] = field(default_factory=list)
    supersede: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Opened:
    pixels: np.ndarray
    facts: ImageFacts
    record: ImageRecord | None
    path: Path | None
    embedded: bytes | None


def import_labels(store: ProjectStore, labels: LabelSet, *, progress: Progress | None = None,
                  search_path: list[Path] | None = None) -> LabelImportReport:
    """Plan everything, then write (module docstring). `search_path`: where the landmark model is looked
    for (default: the project's checkpoints, then the usual search path)."""
    report = LabelImportReport(files=len(labels.files), skipped=list(labels.skipped))
    models = model_search_path(store.root) if search_path is None else search_path
    plans: dict[str, _Plan] = {}  # by content hash: two entries naming one picture share its faces
    total = len(labels.images)
    for n, item in enumerate(labels.images):
        if progress:
            progress(n, 2 * total, item.image.where)  # a guess at the total until the images are known
        if not item.faces:
            continue
        opened = _open(store, item.image, report)
        if opened is None:
            continue
        plan = plans.get(opened.facts.digest)
        if plan is None:
            plan = _Plan(item.image.where, opened.facts, opened.record, opened.path, opened.embedded,
                         item.image.name, item.image.label_file)
            plans[opened.facts.digest] = plan
        existing = store.faces(opened.record.id) if opened.record is not None else []
        for label in item.faces:
            face = _checked_face(label, opened.facts, existing, plan, report)
            if face is not None:
                plan.faces.append(face)
                plan.labels.append(label)
                plan.fits.append(_fit(opened.pixels, face, models))
    _write(store, list(plans.values()), report, progress, total)
    return report


def _open(store: ProjectStore, ref: ImageRef, report: LabelImportReport) -> _Opened | None:
    """The labelled image, decoded, or None with the reason in the report. Looked up by the hash the file
    records, else by name or stem in the folders, else from the bytes embedded in the label file."""
    if ref.hash and (record := store.image_by_hash(ref.hash)) is not None:
        pixels = read_image(store.cut_file(record), with_alpha=True)
        return _Opened(pixels, facts_of(pixels), record, None, None)
    if ref.stem:
        path, why = find_by_stem(ref.stem, list(ref.folders), IMAGE_SUFFIXES)
    else:
        path, why = find_file(ref.name, list(ref.folders))
    embedded = None
    if path is not None:
        try:
            pixels = load_image(path).pixels
        except ImageError as exc:
            report.skipped.append(Skip(ref.where, f"{exc.reason} ({path})"))
            return None
    elif ref.embedded is not None:
        pixels, problem = _decode_embedded(ref.embedded, ref.name)
        if pixels is None:
            report.skipped.append(Skip(ref.where, f"{why}; and its embedded image data: {problem}"))
            return None
        embedded = ref.embedded
    else:
        report.skipped.append(Skip(ref.where, f"missing image: {why}"))
        return None
    facts = facts_of(pixels)
    if ref.size is not None and ref.size != (facts.width, facts.height):
        report.skipped.append(Skip(ref.where, f"the file says the image is {ref.size[0]}×{ref.size[1]} but "
                                   f"{path or 'its embedded image'} is {facts.width}×{facts.height}: its boxes "
                                   "would land in the wrong place"))
        return None
    return _Opened(pixels, facts, store.image_by_hash(facts.digest), path, embedded)


def _decode_embedded(data: bytes, name: str) -> tuple[np.ndarray | None, str]:
    """Decode image bytes with the import's own safe decoder (size limits, odd formats refused)."""
    suffix = Path(name.replace("\\", "/")).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="f2a-embedded-") as folder:
        path = Path(folder) / f"embedded{suffix if suffix in IMAGE_SUFFIXES else ''}"
        path.write_bytes(data)
        try:
            return load_image(path).pixels, ""
        except ImageError as exc:
            return None, exc.reason


def _checked_face(label: FaceLabel, facts: ImageFacts, existing: list[Face], plan: _Plan,
                  report: LabelImportReport) -> Face | None:
    """The label as an accepted human face on this image, or None (skipped, or already there)."""
    x, y, w, h = label.in_pixels(facts.width, facts.height)
    size = f"{facts.width}×{facts.height}"
    if not all(math.isfinite(v) for v in (x, y, w, h)):  # readers check; a normalised product can overflow
        report.skipped.append(Skip(label.where, f"box [{x:g}, {y:g}, {w:g}, {h:g}] is not finite"))
        return None
    if w < MIN_SIDE_PX or h < MIN_SIDE_PX:
        report.skipped.append(Skip(label.where, f"zero-size box ({w:g}×{h:g} px)"))
        return None
    if w > MAX_SIZE * facts.width or h > MAX_SIZE * facts.height:
        report.skipped.append(Skip(label.where, f"box {w:g}×{h:g} is far larger than the {size} image"))
        return None
    if x >= facts.width or y >= facts.height or x + w <= 0 or y + h <= 0:
        report.skipped.append(Skip(label.where, f"box [{x:g}, {y:g}, {w:g}, {h:g}] lies outside the {size} image"))
        return None
    box = Box(x, y, w, h)
    for other in existing:
        if _same_box(box, other.box) and is_human_work(other):
            report.faces_present += 1
            return None
        iou = box.iou(other.box)
        if iou >= DUPLICATE_IOU:
            if is_human_work(other):
                report.skipped.append(Skip(label.where, f"duplicate: overlaps face {other.id} (IoU {iou:.2f}), "
                                           "which a person drew or reviewed"))
                return None
            if other.id is not None and other.id not in plan.supersede:
                plan.supersede.append(other.id)  # a detection of this face: the person's box replaces it
    for earlier, earlier_label in zip(plan.faces, plan.labels, strict=True):
        iou = box.iou(earlier.box)
        if iou >= DUPLICATE_IOU:
            report.skipped.append(Skip(label.where, f"duplicate of {earlier_label.where} (IoU {iou:.2f})"))
            return None
    return Face(image_id=0, box=box, score=1.0, source=FaceSource.HUMAN, status=FaceStatus.ACCEPTED)


def _same_box(a: Box, b: Box) -> bool:
    return all(math.isclose(p, q, abs_tol=SAME_BOX_PX) for p, q in zip(a.to_list(), b.to_list(), strict=True))


def _fit(pixels: np.ndarray, face: Face, search_path: list[Path]) -> Fit:
    from f2a_studio.detect.refit import refit_face  # torch: only when there is something to fit

    rgb = flatten_alpha(pixels) if pixels.ndim == 3 and pixels.shape[2] == 4 else pixels
    fitted = refit_face(rgb, face, search_path=search_path)
    return fitted.landmarks, fitted.pose


def _write(store: ProjectStore, plans: list[_Plan], report: LabelImportReport, progress: Progress | None,
           total: int) -> None:
    faces: list[Face] = []
    fits: list[Fit] = []
    supersede: list[int] = []
    for n, plan in enumerate(plans):
        if progress:
            progress(total + n, total + len(plans), plan.where)
        if not plan.faces:  # every box already there (a re-import), or skipped
            report.images_matched += plan.record is not None
            continue
        record = _materialise(store, plan, report)
        if record is None:
            continue
        faces += [replace(face, image_id=record.id) for face in plan.faces]
        fits += plan.fits
        supersede += plan.supersede
    if faces:
        store.add_labelled_faces(faces, fits, actor=ACTOR, supersede=supersede)
    report.faces_added += len(faces)
    report.detections_replaced += len(supersede)
    if progress:
        progress(total + len(plans), total + len(plans), "")


def _materialise(store: ProjectStore, plan: _Plan, report: LabelImportReport) -> ImageRecord | None:
    """The project's record of a planned image, importing it first when it is new (a whole cut)."""
    record = plan.record or store.image_by_hash(plan.facts.digest)
    if record is not None:
        report.images_matched += 1
        return record
    if plan.path is not None:
        result = import_sources(store, [plan.path], split=SplitOptions(min_aspect=float("inf")))
        problems = [p.reason for p in result.problems]
    else:
        assert plan.embedded is not None
        problems = _import_embedded(store, plan)
    record = store.image_by_hash(plan.facts.digest)
    if record is None:
        why = "; ".join(problems) or ("the file was imported before and split into cuts at its gutters, so "
                                      "boxes on the whole picture cannot be placed")
        report.skipped += [Skip(label.where, f"image not imported: {why}") for label in plan.labels]
        return None
    report.images_added += 1
    return record


def _import_embedded(store: ProjectStore, plan: _Plan) -> list[str]:
    """A picture that exists only inside its label file (labelme's imageData): stored as one cut, its
    source recorded as the label file."""
    assert plan.embedded is not None
    pixels, problem = _decode_embedded(plan.embedded, plan.name)
    if pixels is None:
        return [problem]
    assert plan.label_file is not None
    name = parse_source_name(Path(plan.name.replace("\\", "/")) if plan.name else plan.label_file)
    prepared = PreparedFile(plan.label_file, sha256=hashlib.sha256(plan.embedded).hexdigest(),
                            title_id=name.title_id, episode=name.episode, cut_index=name.cut_index)
    prepared.cuts.append(PreparedCut(plan.facts.digest, encode_png(pixels), plan.facts.width, plan.facts.height,
                                     pixels.shape[2] == 4))
    done = ImportReport()
    commit_file(store, prepared, done)
    return [p.reason for p in done.problems]
