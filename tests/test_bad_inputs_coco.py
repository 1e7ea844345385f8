"""Bad COCO files for `f2a import-coco`: refused up front with the annotation (or image) and field named,
nothing read outside the images folder, nothing written unless the whole file is good.

Part of the `test_bad_inputs_*.py` family (see test_bad_inputs_import.py). To add a case: add a
(mutation, expected message) row to BAD_VALUES or WRONG_TYPES below, or a test of its own when it needs files.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import noise_image, write_png

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import coco_import
from f2a_studio.export.coco_import import import_coco

RNG = np.random.default_rng(3)
W, H = 120, 100


def face_annotation(ann_id: int, image_id: int, dx: float = 0.0) -> dict[str, Any]:
    kp = []
    for i in range(68):
        kp += [30 + dx + (i % 10) * 5, 30 + (i // 10) * 5, 2]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [25 + dx, 25, 60, 45], "keypoints": kp,
            "attributes": {"pose": {"yaw": 1.0, "pitch": 2.0, "roll": 3.0}, "parts": {"nose": [50 + dx, 40]}},
            "f2a": {"unlabeled_points": []}}


def coco_doc(n_images: int = 2) -> dict[str, Any]:
    return {
        "images": [{"id": i + 1, "file_name": f"img{i + 1}.png", "width": W, "height": H} for i in range(n_images)],
        "annotations": [face_annotation(10 + i, i + 1) for i in range(n_images)],
        "categories": [{"id": 1, "name": "face", "keypoints": [f"p{i}" for i in range(68)]}],
    }


@pytest.fixture
def coco_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "coco"
    for i in range(2):
        write_png(folder / f"img{i + 1}.png", noise_image(RNG, H, W))
    return folder


def write_doc(folder: Path, doc: dict[str, Any], name: str = "faces.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def assert_nothing_written(root: Path) -> None:
    with ProjectStore.open(root, read_only=True) as store:
        assert store.image_count() == 0 and store.face_count() == 0
    assert [p for p in (root / "cuts").rglob("*") if p.is_file()] == []


# ---------------------------------------------------------------- case 2: path traversal


@pytest.mark.parametrize("outside_exists", [True, False])
@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_image_files_outside_the_images_folder_are_refused_alike(tmp_path: Path, coco_dir: Path, kind: str,
                                                                 outside_exists: bool) -> None:
    secret = tmp_path / "secret" / "private.png"
    if outside_exists:
        write_png(secret, noise_image(RNG, H, W))
    name = {"dotdot": "../secret/private.png", "absolute": str(secret), "symlink": "link.png"}[kind]
    if kind == "symlink":
        (coco_dir / "link.png").symlink_to(secret)
    doc = coco_doc(1)
    doc["images"][0]["file_name"] = name
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, write_doc(coco_dir, doc))
        assert store.image_count() == 0 and store.face_count() == 0
    (problem,) = report.problems
    assert problem.startswith("image 1: ") and "refused" in problem and "outside" in problem
    # the same words whether the outside file exists or not: the message reveals nothing about it
    assert str(secret.parent) not in problem.replace(name, "")


def test_image_files_in_subfolders_of_the_images_folder_are_found(tmp_path: Path, coco_dir: Path) -> None:
    (coco_dir / "sub").mkdir()
    (coco_dir / "img1.png").rename(coco_dir / "sub" / "img1.png")
    doc = coco_doc(1)
    doc["images"][0]["file_name"] = "sub/img1.png"
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, write_doc(coco_dir, doc))
        assert report.images_added == 1 and report.faces_added == 1 and report.problems == []


# ---------------------------------------------------------------- case 6: wrong types


def _set(path: str, value: Any):
    def mutate(doc: dict[str, Any]) -> None:
        keys = path.split(".")
        target: Any = doc
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return mutate


WRONG_TYPES = [
    (_set("images.0.id", [1]), "image #0: id must be an integer"),
    (_set("images.1.id", {"a": 1}), "image #1: id must be an integer"),
    (_set("annotations.0.image_id", [1]), "annotation 10: image_id must be an integer"),
    (_set("annotations.1.category_id", {"x": 1}), "annotation 11: category_id must be an integer"),
    (_set("categories.0.keypoints", 68), "category 1: keypoints must be a list of names"),
    (_set("categories.0.id", [1]), "category #0: id must be an integer"),
    (_set("images.1.f2a", {"hash": ["ab"]}), "image 2: f2a.hash must be 64 hex digits"),
    (_set("images.0.file_name", 7), "image 1: file_name must be a string"),
    (_set("annotations.1.keypoints.4", "12"), r"annotation 11: keypoints\[1\].y must be a number"),
    (_set("annotations.1.bbox", "0 0 10 10"), "annotation 11: bbox must be"),
    (_set("annotations.1.attributes", [1]), "annotation 11: attributes must be a JSON object"),
    (_set("annotations.1.attributes.pose", {"yaw": "left", "pitch": 0, "roll": 0}),
     "annotation 11: attributes.pose.yaw must be a number"),
    (_set("annotations.1.attributes.colors", {"hair": 3}), "annotation 11: attributes.colors.hair must be"),
    (_set("annotations.1", "not an object"), "annotation #1: an annotation is a JSON object"),
]


@pytest.mark.parametrize(("mutate", "message"), WRONG_TYPES)
def test_wrong_typed_values_are_refused_before_anything_is_written(tmp_path: Path, coco_dir: Path, mutate,
                                                                   message: str) -> None:
    doc = coco_doc()
    mutate(doc)  # the first image and annotation stay good: nothing of them may be written either
    path = write_doc(coco_dir, doc)
    with ProjectStore.create(tmp_path / "p") as store, pytest.raises(ValidationError, match=message):
        import_coco(store, path)
    assert_nothing_written(tmp_path / "p")


def test_the_cli_refuses_a_wrong_typed_file_without_a_traceback(tmp_path: Path, coco_dir: Path) -> None:
    doc = coco_doc()
    doc["annotations"][1]["image_id"] = [2]
    path = write_doc(coco_dir, doc)
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "import-coco", str(tmp_path / "p"), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "annotation 11: image_id must be an integer" in done.stderr


# ---------------------------------------------------------------- case 8: bad values


BAD_VALUES = [
    (_set("annotations.1.bbox", [5000, 10, 20, 20]), "annotation 11: bbox .* lies off the 120×100 image"),
    (_set("annotations.1.bbox", [0, 0, 1e300, 20]), "annotation 11: bbox .* absurdly large"),
    (_set("annotations.1.bbox", [0, 0, 0, 20]), "annotation 11: bbox size must be positive"),
    (_set("annotations.1.bbox", [0, float("nan"), 10, 20]), "annotation 11: bbox y must be finite"),
    (_set("annotations.1.keypoints.3", 4e13), r"annotation 11: keypoints\[1\] .* lies far off"),
    (_set("annotations.1.keypoints.5", 1.7), r"annotation 11: keypoints\[1\] visibility must be 0, 1 or 2"),
    (_set("annotations.1.keypoints.8", 3), r"annotation 11: keypoints\[2\] visibility must be 0, 1 or 2"),
    (_set("annotations.1.f2a", {"unlabeled_points": [[-1, 5, 5]]}),
     "annotation 11: f2a.unlabeled_points index must be 0–67"),
    (_set("annotations.1.f2a", {"unlabeled_points": [[68, 5, 5]]}),
     "annotation 11: f2a.unlabeled_points index must be 0–67"),
    (_set("annotations.1.f2a", {"unlabeled_points": [[True, 5, 5]]}),
     "annotation 11: f2a.unlabeled_points index must be 0–67"),
    (_set("annotations.1.attributes.pose", {"yaw": float("nan"), "pitch": 0, "roll": 0}),
     "annotation 11: attributes.pose.yaw must be finite"),
    (_set("annotations.1.attributes.pose", {"yaw": 0, "pitch": float("inf"), "roll": 0}),
     "annotation 11: attributes.pose.pitch must be finite"),
    (_set("annotations.1.attributes.pose", {"yaw": 0, "pitch": 0, "roll": 720}),
     "annotation 11: attributes.pose.roll must be within"),
    (_set("annotations.1.attributes.parts", {"nose": [float("inf"), 3]}),
     r"annotation 11: attributes.parts.nose\[0\] must be finite"),
    (_set("annotations.1.attributes.parts", {"mouth": [10, 10, 1e9, 5]}),
     "annotation 11: attributes.parts.mouth .* lies far off"),
    (_set("annotations.1.attributes.score", 3), r"annotation 11: attributes.score must be within \[0, 1\]"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_VALUES)
def test_bad_values_are_refused_naming_the_annotation_and_field(tmp_path: Path, coco_dir: Path, mutate,
                                                                message: str) -> None:
    doc = coco_doc()
    mutate(doc)
    path = write_doc(coco_dir, doc)
    with ProjectStore.create(tmp_path / "p") as store, pytest.raises(ValidationError, match=message):
        import_coco(store, path)
    assert_nothing_written(tmp_path / "p")


def test_points_cut_by_the_image_border_are_still_accepted(tmp_path: Path, coco_dir: Path) -> None:
    doc = coco_doc(1)
    ann = doc["annotations"][0]
    ann["bbox"] = [-20, -10, 60, 50]  # a face partly off the top-left corner
    ann["keypoints"][0:3] = [-15, -5, 1]
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, write_doc(coco_dir, doc))
        (face,) = store.all_faces()
    assert report.faces_added == 1 and face.box.x == -20 and face.landmarks[0] == (-15.0, -5.0, 1)


# ---------------------------------------------------------------- case 11: duplicates in linear time


def test_duplicate_checking_does_not_compare_every_pair(tmp_path: Path, coco_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    n = 1500
    doc = coco_doc(1)
    template = doc["annotations"][0]
    doc["annotations"] = [face_annotation(100 + i, 1, dx=(i % 50) * 0.7) | {"bbox": [25 + i * 0.03, 25, 60, 45]}
                          for i in range(n)]
    doc["annotations"] += [copy.deepcopy(doc["annotations"][i]) | {"id": 9000 + i} for i in range(0, n, 3)]
    assert template["id"] == 10
    path = write_doc(coco_dir, doc)
    calls = 0
    real = coco_import._same_face

    def counting(a, b):  # counts the comparisons the real check makes
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(coco_import, "_same_face", counting)
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, path)
        assert report.faces_added == n and report.faces_present == len(range(0, n, 3))
        assert store.face_count() == n
    assert calls < 10 * len(doc["annotations"]), f"{calls} comparisons for {len(doc['annotations'])} faces"
    with ProjectStore.open(tmp_path / "p") as store:  # and again: every face is found present
        calls = 0
        again = import_coco(store, path)
    assert again.faces_added == 0 and again.faces_present == len(doc["annotations"])
    assert calls < 10 * len(doc["annotations"])


# ---------------------------------------------------------------- case 7: messages are not markup


def test_error_messages_with_brackets_are_printed_whole(tmp_path: Path, coco_dir: Path) -> None:
    doc = coco_doc()
    doc["annotations"][1]["bbox"] = [1, 2, 3]
    path = write_doc(coco_dir, doc)
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "import-coco", str(tmp_path / "p"), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "annotation 11: bbox must be [x, y, w, h], got [1, 2, 3]" in done.stderr.replace("\n", "")


def test_a_refused_coco_file_creates_no_project(tmp_path: Path, coco_dir: Path) -> None:
    doc = coco_doc()
    doc["annotations"][0]["keypoints"][2] = 9
    path = write_doc(coco_dir, doc)
    project = tmp_path / "new"
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "import-coco", str(project), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "annotation 10: keypoints[0] visibility" in done.stderr
    assert not project.exists()


# ---------------------------------------------------------------- extra: the JSON file itself


@pytest.mark.parametrize("kind", ["fifo", "device", "deep"])
def test_an_annotation_file_that_is_no_json_file_is_refused_by_name(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "faces.json"
        os.mkfifo(path)
        expected = "FIFO"
    elif kind == "device":
        path, expected = Path("/dev/zero"), "character device"
    else:
        path = tmp_path / "deep.json"
        path.write_text("[" * 200_000 + "]" * 200_000)
        expected = "nested too deeply"
    with ProjectStore.create(tmp_path / "p") as store, pytest.raises(ValidationError, match=expected) as info:
        import_coco(store, path)
    assert str(path) in str(info.value)
