"""coco: COCO keypoints. `images/NAME.png` (the cuts, copied byte for byte) and `annotations.json`:
one category "face" with the 68 iBUG keypoint names and skeleton (1-based, as COCO wants), one
annotation per face with bbox (the face box), keypoints [x, y, v]×68 in cut pixels, num_keypoints,
area, iscrowd, and the face's colours, sex, pose, status and score under "attributes".

COCO says an unlabelled keypoint (v = 0) is written as 0, 0, 0; where such a point still had
coordinates in the project they are kept in the annotation's "f2a" block, so `import-coco` gives back
exactly the faces that were exported. Each image says its split (train/val/test) in its "f2a" block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from f2a_studio.core import ibug68
from f2a_studio.core.models import Face, ImageRecord
from f2a_studio.export.errors import ExportError
from f2a_studio.export.formats.base import ExportFormat
from f2a_studio.export.manifest import dumps

if TYPE_CHECKING:
    from f2a_studio.export.atomic import AtomicExport
    from f2a_studio.export.plan import ExportPlan

ANNOTATIONS = "annotations.json"
IMAGES_DIR = "images"
CATEGORY_ID = 1


def category() -> dict[str, Any]:
    return {
        "id": CATEGORY_ID,
        "name": "face",
        "supercategory": "face",
        "keypoints": list(ibug68.NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in ibug68.skeleton()],
    }


def image_entry(image: ImageRecord, split: str) -> dict[str, Any]:
    return {
        "id": image.id,
        "file_name": f"{image.name}.png",
        "width": image.width,
        "height": image.height,
        "f2a": {"hash": image.hash, "title_id": image.title_id, "episode": image.episode,
                "cut_index": image.cut_index, "split": split},
    }


def annotation(face: Face) -> dict[str, Any]:
    keypoints: list[float] = []
    unlabeled: list[list[float]] = []
    for i, (x, y, v) in enumerate(face.landmarks):
        if v == 0:
            keypoints.extend([0, 0, 0])
            if x or y:
                unlabeled.append([i, x, y])
        else:
            keypoints.extend([x, y, v])
    if not face.landmarks:
        keypoints = [0] * (3 * ibug68.N_POINTS)
    return {
        "id": face.id,
        "image_id": face.image_id,
        "category_id": CATEGORY_ID,
        "bbox": face.box.to_list(),
        "area": face.box.area,
        "iscrowd": 0,
        "keypoints": keypoints,
        "num_keypoints": sum(1 for p in face.landmarks if p[2] > 0),
        "attributes": {
            "sex": face.sex.value,
            "sex_prob": face.sex_prob,
            "colors": face.colors.to_json(),
            "pose": face.pose.to_json() if face.pose else None,
            "status": face.status.value,
            "score": face.score,
            "source": face.source.value,
            "parts": face.parts.to_json(),
        },
        "f2a": {"face_id": face.id, "revision": face.revision, "unlabeled_points": unlabeled,
                "has_landmarks": bool(face.landmarks),
                # who set what (core/provenance.py) and which finder proposed it: import-coco keeps both
                "provenance": {"human_fields": sorted(face.human_fields), "human_points": sorted(face.human_points),
                               "finder": face.finder, "finder_model": face.finder_model,
                               "finder_sha256": face.finder_sha256, "raw_score": face.raw_score,
                               "score_features": dict(face.score_features)}},
    }


def build_document(plan: ExportPlan) -> dict[str, Any]:
    images: dict[int, dict[str, Any]] = {}
    annotations = []
    for item in plan.items:
        images.setdefault(item.image.id, image_entry(item.image, item.split))
        annotations.append(annotation(item.face))
    return {
        "info": {"description": "F2A Studio export: faces with iBUG-68 keypoints", "version": "1.0"},
        "licenses": [],
        "images": [images[k] for k in sorted(images)],
        "annotations": sorted(annotations, key=lambda a: a["id"]),
        "categories": [category()],
    }


class CocoFormat(ExportFormat):
    name = "coco"
    summary = "COCO keypoints JSON (68 iBUG points, attributes) + the cut images"
    aligned = False

    def face_path(self, split: str, stem: str) -> str:  # no per-face files
        return f"{ANNOTATIONS}#{stem}"

    def finish(self, plan: ExportPlan, sink: AtomicExport, tick: Callable[[int], None]) -> None:
        for items in plan.by_image():
            image = items[0].image
            try:
                data = plan.cut_files[image.id].read_bytes()
            except OSError as exc:
                raise ExportError(f"cannot read cut {plan.cut_files[image.id]} of the project: "
                                  f"{exc.strerror or exc}") from exc
            sink.write(f"{IMAGES_DIR}/{image.name}.png", data, split=items[0].split,
                       faces=tuple(it.key for it in items))
            tick(len(items))
        sink.write(ANNOTATIONS, dumps(build_document(plan), compact=True), faces=tuple(it.key for it in plan.items))
