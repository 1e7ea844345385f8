"""Malformed label files for `f2a import-labels` (box-only COCO, labelme, YOLO): refused with the file and
what is wrong named, and nothing written even when a good file comes first in the same import.

Part of the `test_bad_inputs_*.py` family. To add a case: add a (mutation, expected message) row to the
format's table below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import noise_image, write_png
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.errors import ValidationError
from f2a_studio.core.store import ProjectStore, is_project
from f2a_studio.export.label_import import import_label_files

RNG = np.random.default_rng(11)
W, H = 160, 120


def assert_nothing_written(root: Path) -> None:
    with ProjectStore.open(root, read_only=True) as store:
        assert store.image_count() == 0 and store.face_count() == 0
    assert [p for p in (root / "cuts").rglob("*") if p.is_file()] == []


def refused(tmp_path: Path, folder: Path, fmt: str, bad: Path, message: str) -> str:
    """Import the whole folder (a good file sorts first); the error names `bad` and matches `message`."""
    root = tmp_path / "p"
    with (ProjectStore.open(root) if is_project(root) else ProjectStore.create(root)) as store, \
            pytest.raises(ValidationError) as info:
        import_label_files(store, [folder], fmt)
    text = str(info.value)
    assert text.startswith(str(bad)) and re.search(message, text), text
    assert_nothing_written(tmp_path / "p")
    return text


# ---------------------------------------------------------------- labelme


def labelme_good() -> dict[str, Any]:
    return {"shapes": [{"label": "face", "shape_type": "rectangle", "points": [[20, 20], [80, 90]]}],
            "imagePath": "a.png", "imageData": None, "imageWidth": W, "imageHeight": H}


def _lm(path: str, value: Any):
    def mutate(doc: dict[str, Any]) -> Any:
        if path == "":
            return value
        keys = path.split(".")
        target: Any = doc
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return doc
    return mutate


LABELME_BAD = [
    (_lm("", [1, 2]), "a labelme file is a JSON object, got list"),
    (_lm("shapes", KeyError), "labelme key 'shapes' is missing or not a list"),
    (_lm("shapes", {"label": "face"}), "'shapes' is missing or not a list"),
    (_lm("shapes.0", "face"), "shape 0: a shape is a JSON object"),
    (_lm("shapes.0.label", 3), "shape 0: label must be a string"),
    (_lm("shapes.0.label", KeyError), "shape 0: label must be a string, got None"),
    (_lm("shapes.0.points", KeyError), "shape 0: 'points' is missing"),
    (_lm("shapes.0.points", "20,20 80,90"), r"shape 0: points must be a list of \[x, y\] points"),
    (_lm("shapes.0.points", [[20, "20"], [80, 90]]), r"shape 0: points\[0\].y must be a number, got str"),
    (_lm("shapes.0.points", [[20, float("nan")], [80, 90]]), r"shape 0: points\[0\].y must be finite"),
    (_lm("shapes.0.points", [[20, 20, 1], [80, 90]]), r"shape 0: points\[0\] must be \[x, y\]"),
    (_lm("shapes.0.points", [[20, 20], [80, 90], [5, 5]]), "shape 0: a rectangle has 2 .or 4. points, got 3"),
    (_lm("shapes.0.shape_type", ["rectangle"]), "shape 0: shape_type must be a string"),
    (_lm("imagePath", 5), "imagePath must be a string"),
    (_lm("imageData", "not base64!"), "imageData is not valid base64"),
    (_lm("imageWidth", -5), "imageWidth must be a positive integer, got -5"),
    (_lm("imageHeight", "120"), "imageHeight must be a positive integer"),
    (_lm("imagePath", KeyError), "neither imagePath nor imageData"),
]


@pytest.mark.parametrize(("mutate", "message"), LABELME_BAD)
def test_malformed_labelme_files_are_refused_and_nothing_is_written(tmp_path: Path, mutate, message: str) -> None:
    folder = tmp_path / "lm"
    write_png(folder / "a.png", noise_image(RNG, H, W))
    (folder / "a_good.json").write_text(json.dumps(labelme_good()))
    bad = folder / "b_bad.json"
    bad.write_text(json.dumps(mutate(labelme_good())))
    refused(tmp_path, folder, "labelme", bad, message)


def test_a_labelme_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lm"
    write_png(folder / "a.png", noise_image(RNG, H, W))
    (folder / "a_good.json").write_text(json.dumps(labelme_good()))
    (folder / "b_bad.json").write_text('{"shapes": [')
    refused(tmp_path, folder, "labelme", folder / "b_bad.json", "not JSON")
    (folder / "b_bad.json").write_bytes(b"\xff\xfe\x00junk")
    refused(tmp_path, folder, "labelme", folder / "b_bad.json", "not UTF-8 text")


# ---------------------------------------------------------------- YOLO


YOLO_BAD = [
    ("0 0.5 0.5 1.3 0.2", r"line 2: w must be within 0–1, got 1.3 \(YOLO boxes are fractions of the image size"),
    ("0 120 80 30 30", "line 2: cx must be within 0–1, got 120"),
    ("0 0.5 0.5 -0.1 0.2", r"line 2: w must be within 0–1, got -0.1 \(a negative size\)"),
    ("face 0.5 0.5 0.1 0.1", "line 2: the class must be a whole number ≥ 0, got 'face'"),
    ("-1 0.5 0.5 0.1 0.1", "line 2: the class must be a whole number"),
    ("0 0.5 0.5 0.1", "line 2: expected `class cx cy w h` .5 values. or a polygon .*, got 4 values"),
    ("0", "line 2: expected `class cx cy w h`"),
    ("0 0.5 abc 0.1 0.1", "line 2: cy must be a number, got 'abc'"),
    ("0 nan 0.5 0.1 0.1", "line 2: cx must be finite"),
    ("0 0.1 0.1 0.2 0.1 0.3 1.5", "line 2: y3 must be within 0–1"),  # a segmentation polygon
    ("0 0.1 0.1 0.2 0.1 0.3 0.3 0.5", r"line 2: .* or a polygon .*, got 8 values"),
]


@pytest.mark.parametrize(("line", "message"), YOLO_BAD)
def test_malformed_yolo_lines_are_refused_and_nothing_is_written(tmp_path: Path, line: str, message: str) -> None:
    folder = tmp_path / "y"
    for stem in ("a", "b"):
        write_png(folder / f"{stem}.png", noise_image(RNG, H, W))
    (folder / "a.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    bad = folder / "b.txt"
    bad.write_text(f"0 0.3 0.3 0.2 0.2\n{line}\n")
    refused(tmp_path, folder, "yolo", bad, message)


def test_yolo_class_name_files_without_names_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "y"
    write_png(folder / "a.png", noise_image(RNG, H, W))
    (folder / "a.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    (folder / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 1\n")
    with ProjectStore.create(tmp_path / "p") as store, pytest.raises(ValidationError) as info:
        import_label_files(store, [folder], "yolo")
    assert str(info.value).startswith(str(folder / "data.yaml")) and "no class names found" in str(info.value)
    assert_nothing_written(tmp_path / "p")


@pytest.mark.parametrize("spelling", ["names: ['face', \"hand\"]", "names:\n  - face\n  - hand",
                                      "names:\n  0: face # the face\n  1: hand"])
def test_yolo_data_yaml_names_in_each_spelling(tmp_path: Path, spelling: str) -> None:
    """The three ways YOLO's data.yaml writes its names, read without a YAML library."""
    from f2a_studio.export.label_import.yolo import yaml_names

    (tmp_path / "data.yaml").write_text(f"path: ../ds\n{spelling}\nnc: 2\n")
    assert yaml_names(tmp_path / "data.yaml") == {0: "face", 1: "hand"}


# ---------------------------------------------------------------- box-only COCO


def coco_good() -> dict[str, Any]:
    return {"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
            "categories": [{"id": 1, "name": "face"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [20, 20, 60, 70], "iscrowd": 0}]}


COCO_BAD = [
    (_lm("", "faces"), "a COCO file is a JSON object, got str"),
    (_lm("annotations", KeyError), "COCO key 'annotations' is missing or not a list"),
    (_lm("annotations.0.bbox", [20, 20, -60, 70]), r"annotation 1: bbox size must not be negative, got -60×70"),
    (_lm("annotations.0.bbox", "20 20 60 70"), r"annotation 1: bbox must be \[x, y, w, h\]"),
    (_lm("annotations.0.bbox", [20, 20, "60", 70]), "annotation 1: bbox w must be a number, got str"),
    (_lm("annotations.0.bbox", [20, 20, float("inf"), 70]), "annotation 1: bbox w must be finite"),
    (_lm("annotations.0.bbox", KeyError), "annotation 1: neither a bbox nor a segmentation polygon"),
    (_lm("annotations.0.segmentation", [[1, 2, 3, 4]]), r"annotation 1: segmentation\[0\] must be x, y pairs"),
    (_lm("annotations.0.segmentation", "poly"), "annotation 1: segmentation must be a list of polygons"),
    (_lm("annotations.0.iscrowd", 2), "annotation 1: iscrowd must be 0 or 1, got 2"),
    (_lm("annotations.0.image_id", 9), "annotation 1: image_id 9 is not in 'images'"),
    (_lm("annotations.0.image_id", [1]), "annotation 1: image_id must be an integer"),
    (_lm("annotations.0.category_id", KeyError), "annotation 1: category_id must be an integer, got None"),
    (_lm("annotations.0", 7), "annotation #0: an annotation is a JSON object"),
    (_lm("categories.0.name", 3), "category 1: name must be a string"),
    (_lm("categories.0.name", "person"), r"no category with 68 keypoints .* categories here: 1 'person'"),
    (_lm("images.0.width", "160"), "image 1: width must be a positive integer"),
    (_lm("images.0.file_name", 4), "image 1: file_name must be a string"),
]


@pytest.mark.parametrize(("mutate", "message"), COCO_BAD)
def test_malformed_box_only_coco_files_are_refused_and_nothing_is_written(tmp_path: Path, mutate,
                                                                          message: str) -> None:
    folder = tmp_path / "coco"
    write_png(folder / "a.png", noise_image(RNG, H, W))
    (folder / "a_good.json").write_text(json.dumps(coco_good()))
    bad = folder / "b_bad.json"
    bad.write_text(json.dumps(mutate(coco_good())))
    refused(tmp_path, folder, "coco", bad, message)


# ---------------------------------------------------------------- paths and the command line


@pytest.mark.parametrize("fmt", ["coco", "labelme", "yolo"])
def test_missing_files_and_empty_folders_are_named(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "empty").mkdir()
    with ProjectStore.create(tmp_path / "p") as store:
        with pytest.raises(ValidationError, match=f"{tmp_path / 'nope.json'}: file not found"):
            import_label_files(store, [tmp_path / "nope.json"], fmt)
        with pytest.raises(ValidationError, match=f"no {fmt} label files in {tmp_path / 'empty'}"):
            import_label_files(store, [tmp_path / "empty"], fmt)


def test_yolo_image_stems_cannot_reach_outside_and_a_link_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "y"
    write_png(tmp_path / "secret" / "a.png", noise_image(RNG, H, W))
    folder.mkdir()
    (folder / "a.png").symlink_to(tmp_path / "secret" / "a.png")
    (folder / "a.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "yolo")
        assert report.faces_added == 0 and store.image_count() == 0
        assert "is a link that leads outside" in report.skipped[0].why


def test_the_cli_refuses_a_malformed_file_by_name_and_creates_no_project(tmp_path: Path) -> None:
    folder = tmp_path / "y"
    write_png(folder / "a.png", noise_image(RNG, H, W))
    (folder / "a.txt").write_text("0 0.5 0.5 [0.4] 0.4\n")
    result = CliRunner().invoke(app, ["import-labels", str(tmp_path / "p"), str(folder), "--format", "yolo"])
    assert result.exit_code == 2
    assert f"{folder / 'a.txt'} line 1: w must be a number, got '[0.4]'" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and not is_project(tmp_path / "p")
