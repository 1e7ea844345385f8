"""COCO keypoints: the layout (checked field by field and by pycocotools), and export → import round trips."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_export_data import build_project, draw_panel, project_fixture  # noqa: F401  (fixture)
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core import ibug68
from f2a_studio.core.errors import ValidationError
from f2a_studio.core.imageio import content_hash, load_image
from f2a_studio.core.models import Face, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, FaceFilter, plan_export, run_export
from f2a_studio.export.coco_import import import_coco

IGNORED = ("id", "image_id", "revision", "updated_at")


def coco_export(root: Path, out: Path, **options) -> Path:
    with ProjectStore.open(root, read_only=True) as store:
        run_export(plan_export(store, ExportOptions(format="coco", **options)), out)
    return out / "annotations.json"


def check_coco_keypoints_layout(doc: dict) -> None:
    """The COCO keypoint annotation format (cocodataset.org/#format-data), field by field."""
    assert set(doc) >= {"info", "images", "annotations", "categories"}
    image_ids = set()
    for img in doc["images"]:
        assert isinstance(img["id"], int) and isinstance(img["file_name"], str)
        assert isinstance(img["width"], int) and isinstance(img["height"], int)
        image_ids.add(img["id"])
    assert len(image_ids) == len(doc["images"])
    cats = {c["id"]: c for c in doc["categories"]}
    for cat in cats.values():
        assert isinstance(cat["name"], str) and isinstance(cat["supercategory"], str)
        k = len(cat["keypoints"])
        assert all(isinstance(n, str) for n in cat["keypoints"]) and len(set(cat["keypoints"])) == k
        for a, b in cat["skeleton"]:
            assert 1 <= a <= k and 1 <= b <= k and a != b  # 1-based, as COCO's person skeleton
    ann_ids = set()
    for ann in doc["annotations"]:
        assert ann["image_id"] in image_ids and ann["category_id"] in cats
        k = len(cats[ann["category_id"]]["keypoints"])
        kp = ann["keypoints"]
        assert len(kp) == 3 * k and all(isinstance(v, (int, float)) for v in kp)
        triples = [kp[i : i + 3] for i in range(0, len(kp), 3)]
        assert all(v in (0, 1, 2) for _, _, v in triples)
        assert all(x == 0 and y == 0 for x, y, v in triples if v == 0)
        assert ann["num_keypoints"] == sum(1 for *_, v in triples if v > 0)
        _, _, w, h = ann["bbox"]
        assert w >= 0 and h >= 0 and ann["area"] == pytest.approx(w * h)
        assert ann["iscrowd"] in (0, 1)
        ann_ids.add(ann["id"])
    assert len(ann_ids) == len(doc["annotations"])


def comparable(face) -> dict:
    data = face.to_json()
    return {k: v for k, v in data.items() if k not in IGNORED}


def test_coco_export_has_the_keypoint_layout_names_skeleton_and_attributes(project, tmp_path):
    path = coco_export(project.root, tmp_path / "coco")
    doc = json.loads(path.read_text())
    check_coco_keypoints_layout(doc)
    (cat,) = doc["categories"]
    assert cat["keypoints"] == list(ibug68.NAMES) and len(cat["keypoints"]) == 68
    assert cat["skeleton"] == [[a + 1, b + 1] for a, b in ibug68.skeleton()]
    assert len(doc["annotations"]) == len(project.faces)
    ann = doc["annotations"][0]
    face = next(f for f in project.faces if f.id == ann["id"])
    assert ann["bbox"] == face.box.to_list()
    assert ann["attributes"]["sex"] == face.sex.value and ann["attributes"]["colors"] == face.colors.to_json()
    assert ann["attributes"]["pose"] == face.pose.to_json()
    for img in doc["images"]:
        assert (path.parent / "images" / img["file_name"]).is_file()
        assert img["f2a"]["split"] in ("train", "val", "test")


def test_coco_export_scores_as_worked_out_by_hand_in_pycocotools(project, tmp_path):
    """Predictions made from the project's own faces (not from the file under test), every point moved by
    a distance d chosen so that each face's OKS is exactly 0.72: OKS = exp(-d² / (2 · area · (2σ)²)) with
    area = box w·h. Matched at IoU thresholds 0.50 … 0.70 (5 of 10), missed at 0.75 … 0.95, so
    AP@[.5:.95] = 0.5, AP@.5 = 1, AP@.75 = 0. Wrong keypoints, order, area or ids in the export move these."""
    coco_mod = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    path = coco_export(project.root, tmp_path / "coco")
    gt = coco_mod.COCO(str(path))
    assert len(gt.getAnnIds()) == len(project.faces) and gt.getCatIds() == [1]
    sigma, target = 0.025, 0.72
    image_of = {a["id"]: a["image_id"] for a in gt.loadAnns(gt.getAnnIds())}
    results = []
    for face in project.faces:
        d = math.sqrt(-math.log(target) * 2 * face.box.w * face.box.h * (2 * sigma) ** 2)
        kp = [v for x, y, vis in face.landmarks for v in (x + d, y, vis)]
        results.append({"image_id": image_of[face.id], "category_id": 1, "keypoints": kp, "score": 1.0})
    ev = cocoeval.COCOeval(gt, gt.loadRes(results), "keypoints")
    ev.params.kpt_oks_sigmas = np.full(68, sigma)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(0.5) and ev.stats[1] == pytest.approx(1.0) and ev.stats[2] == pytest.approx(0)
    best = np.concatenate([np.asarray(m).max(axis=1) for m in ev.ious.values() if len(m)])
    assert len(best) == len(project.faces) and np.allclose(best, target)  # each prediction's OKS with its face


def test_export_then_import_gives_back_the_same_faces(tmp_path):
    built = build_project(tmp_path / "a", titles=("31",), episodes=2, cuts=1, faces_per_cut=2, seed=4)
    with ProjectStore.open(built.root) as store:
        # faces that exercise every field: edited, unlabelled points, no landmarks, other statuses
        f0 = store.face(built.faces[0].id)
        store.update_face(f0.with_landmark(5, 1.25, 2.5, v=0))
        f1 = store.face(built.faces[1].id)
        store.update_face(Face.from_json({**f1.to_json(), "landmarks": [], "pose": None}))
        f2 = store.face(built.faces[2].id)
        store.update_face(Face.from_json({**f2.to_json(), "status": "rejected", "sex_prob": None}))
        before = sorted((comparable(f) for f in store.all_faces()), key=json.dumps)
    path = coco_export(built.root, tmp_path / "coco", filters=FaceFilter(statuses=("accepted", "rejected")))
    with ProjectStore.create(tmp_path / "b") as target:
        report = import_coco(target, path)
        assert report.faces_added == len(before) and report.images_added == 2 and not report.problems
        after = sorted((comparable(f) for f in target.all_faces()), key=json.dumps)
        with ProjectStore.open(built.root, read_only=True) as source:
            assert [(i.hash, i.name) for i in target.images()] == [(i.hash, i.name) for i in source.images()]
        again = import_coco(target, path)  # importing twice adds nothing
        assert again.faces_added == 0 and again.faces_present == len(before) and again.images_matched == 2
        assert target.face_count() == len(before)
    assert after == before


def test_import_into_the_same_project_matches_images_by_hash(project, tmp_path):
    path = coco_export(project.root, tmp_path / "coco")
    (tmp_path / "coco" / "images").rename(tmp_path / "moved")  # files gone: the hash finds the cuts
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy)
    with ProjectStore.open(copy) as store:
        report = import_coco(store, path)
    assert report.images_added == 0 and report.faces_added == 0 and report.faces_present == len(project.faces)


def test_import_of_foreign_coco_uses_defaults_and_finds_images_beside_the_json(tmp_path):
    pixels, truths = draw_panel(np.random.default_rng(2), 1)
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "scene.png"), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    kp = [v for x, y in truths[0].points() for v in (x, y, 2)]
    doc = {"images": [{"id": 7, "file_name": "scene.png", "width": 480, "height": 360}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "keypoints": kp, "num_keypoints": 68}],
           "categories": [{"id": 3, "name": "face", "keypoints": [f"p{i}" for i in range(68)], "skeleton": []}]}
    (tmp_path / "faces.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, tmp_path / "faces.json", images_dir=tmp_path / "imgs")
        (face,) = store.all_faces()
    assert report.faces_added == 1 and report.images_added == 1
    assert face.status is FaceStatus.UNREVIEWED and face.source.value == "human"
    assert face.box.w > 0 and len(face.landmarks) == 68 and face.pose is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "JSON object"),
        ({"images": [], "annotations": []}, "'categories' is missing"),
        ({"images": [], "annotations": [], "categories": [{"id": 1, "keypoints": ["nose"] * 17}]}, "68 keypoints"),
        ({"images": [{"id": 1, "file_name": "x.png"}], "categories": [{"id": 1, "keypoints": ["k"] * 68}],
          "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "keypoints": [0] * 51}]}, "annotation 9"),
        ({"images": [], "categories": [{"id": 1, "keypoints": ["k"] * 68}],
          "annotations": [{"id": 9, "image_id": 5, "category_id": 1, "keypoints": [0] * 204}]}, "image ids"),
        ({"images": [{"id": 1, "file_name": "x.png"}], "categories": [{"id": 1, "keypoints": ["k"] * 68}],
          "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "keypoints": [1, 1, 7] * 68}]}, "visibility"),
    ],
)
def test_bad_coco_files_are_refused_with_a_clear_message(tmp_path, doc, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        with pytest.raises(ValidationError, match=message):
            import_coco(store, path)
        assert store.face_count() == 0 and store.image_count() == 0
    (tmp_path / "notjson.json").write_text("{oops")
    with ProjectStore.open(tmp_path / "p") as store, pytest.raises(ValidationError, match="not JSON"):
        import_coco(store, tmp_path / "notjson.json")


def test_cli_export_coco_then_import_coco(project, tmp_path):
    out = tmp_path / "coco"
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(project.root), str(out), "-f", "coco",
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["faces"] == len(project.faces)
    target = tmp_path / "fresh"
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "import-coco", str(target),
                           str(out / "annotations.json"), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["faces_added"] == len(project.faces) and report["problems"] == []
    missing = str(tmp_path / "no.json")
    bad = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "import-coco", str(target), missing],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no.json: file not found" in bad.stderr


# ---------------------------------------------------------------- where the import finds a foreign file's images


def write_scene(path: Path, seed: int) -> tuple[str, list[float]]:
    """A drawn one-face panel saved at `path`; returns (the content hash a project files it under, keypoints)."""
    pixels, truths = draw_panel(np.random.default_rng(seed), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return content_hash(load_image(path).pixels), [v for x, y in truths[0].points() for v in (x, y, 2)]


def foreign_doc(entries: list[tuple[int, str, list[float]]]) -> dict:
    """A COCO file as another tool writes it: no F2A hash, so images are found by file name."""
    return {"images": [{"id": i, "file_name": name, "width": 480, "height": 360} for i, name, _ in entries],
            "annotations": [{"id": 100 + i, "image_id": i, "category_id": 1, "keypoints": kp, "num_keypoints": 68}
                            for i, _, kp in entries],
            "categories": [{"id": 1, "name": "face", "keypoints": [f"p{k}" for k in range(68)], "skeleton": []}]}


def test_import_finds_images_beside_the_json_and_in_its_images_folder_and_reports_a_missing_one(tmp_path):
    """Guards the mutations "no longer looks beside the JSON" and "no longer looks in images/ beside it",
    and "a missing file stops the import" (it is reported, the other images still go in)."""
    folder = tmp_path / "dataset"
    beside, kp1 = write_scene(folder / "scene.png", seed=2)
    inside, kp2 = write_scene(folder / "images" / "other.png", seed=3)
    (folder / "faces.json").write_text(json.dumps(foreign_doc([(1, "scene.png", kp1), (2, "other.png", kp2),
                                                               (3, "gone.png", kp1)])))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, folder / "faces.json")
        hashes = {store.image(f.image_id).hash for f in store.all_faces()}
        assert store.image_count() == 2
    assert hashes == {beside, inside}  # one face on each file that was found, none for the missing one
    assert report.images_added == 2 and report.faces_added == 2
    (problem,) = report.problems
    assert problem.startswith("image 3: file 'gone.png' not found")
    assert str(folder / "images") in problem and str(folder) in problem  # says where it looked


def test_images_folder_given_wins_over_a_same_named_file_beside_the_json(tmp_path):
    """Two different pictures named scene.png: the one in --images is the one meant. Guards "the --images
    folder is ignored" and "the folders are searched in the wrong order"; checked through the CLI option."""
    folder = tmp_path / "dataset"
    beside, kp = write_scene(folder / "scene.png", seed=4)
    given, _ = write_scene(tmp_path / "elsewhere" / "scene.png", seed=5)
    assert beside != given
    (folder / "faces.json").write_text(json.dumps(foreign_doc([(1, "scene.png", kp)])))
    result = CliRunner().invoke(app, ["import-coco", str(tmp_path / "p"), str(folder / "faces.json"),
                                      "--images", str(tmp_path / "elsewhere"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images_added"] == 1
    with ProjectStore.open(tmp_path / "p", read_only=True) as store:
        assert [i.hash for i in store.images()] == [given]
    with ProjectStore.create(tmp_path / "q") as store:  # without --images the file beside the JSON is used
        import_coco(store, folder / "faces.json")
        assert [i.hash for i in store.images()] == [beside]


def one_annotation(tmp_path: Path, **changes) -> Path:
    """A foreign file with one annotation on scene.png (beside it), changed as given."""
    _, kp = write_scene(tmp_path / "scene.png", seed=2)
    doc = foreign_doc([(1, "scene.png", kp)])
    doc["annotations"][0].update(changes)
    path = tmp_path / "faces.json"
    path.write_text(json.dumps(doc))
    return path


def test_visibility_decides_landmarks_and_the_box_when_there_is_no_bbox(tmp_path):
    """v = 1 (labelled, hidden) counts as labelled; all v = 0 means no landmarks; without a bbox the box is
    the labelled points' extent. Guards `v > 0` → `v >= 0` / `v > 1` in has_landmarks and in the box."""
    _, kp = write_scene(tmp_path / "scene.png", seed=2)
    hidden = [v if k % 3 != 2 else 1 for k, v in enumerate(kp)]
    xs, ys = hidden[0::3], hidden[1::3]
    unlabelled = [0] * len(kp)
    doc = foreign_doc([(1, "scene.png", hidden)])
    doc["annotations"].append({"id": 2, "image_id": 1, "category_id": 1, "keypoints": unlabelled,
                               "bbox": [5, 6, 70, 80]})
    (tmp_path / "faces.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        import_coco(store, tmp_path / "faces.json")
        first, second = store.all_faces()
    assert len(first.landmarks) == 68 and {p[2] for p in first.landmarks} == {1}
    assert first.box.to_list() == pytest.approx([min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])
    assert second.landmarks == () and second.box.to_list() == [5, 6, 70, 80]
    with ProjectStore.create(tmp_path / "q") as store, pytest.raises(ValidationError,
                                                                     match="annotation 101: no bbox and no labelled"):
        import_coco(store, one_annotation(tmp_path, keypoints=unlabelled))


@pytest.mark.parametrize(("changes", "message"), [
    ({"keypoints": [1, 2, 2] * 17}, r"annotation 101: keypoints must be 204 numbers \(68 × \[x, y, v\]\), got 51"),
    ({"attributes": {"status": "bogus"}}, r"annotation 101: 'bogus' is not a valid FaceStatus"),
    ({"bbox": [0, 0, -5, 10]}, r"annotation 101: bbox size must be positive, got -5×10"),
])
def test_a_bad_annotation_is_named_in_the_error(tmp_path, changes, message):
    """Guards the re-raise and the `annotation N:` wrapping of face_from_annotation's errors."""
    with ProjectStore.create(tmp_path / "p") as store:
        with pytest.raises(ValidationError, match=message):
            import_coco(store, one_annotation(tmp_path, **changes))
        assert store.face_count() == 0


def test_faces_differing_in_box_or_one_point_are_both_kept_and_a_reimport_matches_by_pixels(tmp_path):
    """Guards _same_face: `return False` → True for a different box, `and` → `or` over a point's values;
    and the images_matched count when a foreign file's pixels are already in the project."""
    _, kp = write_scene(tmp_path / "scene.png", seed=2)
    moved = list(kp)
    moved[30] += 0.001  # point 10's x, a thousandth of a pixel: a different face for the import
    doc = foreign_doc([(1, "scene.png", kp)])
    doc["annotations"][0]["bbox"] = [10, 10, 50, 50]
    doc["annotations"] += [{"id": 2, "image_id": 1, "category_id": 1, "keypoints": kp, "bbox": [11, 10, 50, 50]},
                           {"id": 3, "image_id": 1, "category_id": 1, "keypoints": moved, "bbox": [10, 10, 50, 50]}]
    (tmp_path / "faces.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        first = import_coco(store, tmp_path / "faces.json")
        again = import_coco(store, tmp_path / "faces.json")
        assert store.face_count() == 3
    assert (first.faces_added, first.images_added, first.images_matched) == (3, 1, 0)
    assert (again.faces_added, again.faces_present, again.images_added, again.images_matched) == (0, 3, 0, 1)


def test_a_file_that_is_not_an_image_is_reported_and_the_import_goes_on(tmp_path):
    """Guards the deleted `report.problems.append` for an undecodable file in _resolve_image."""
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    _, kp = write_scene(tmp_path / "scene.png", seed=2)
    doc = foreign_doc([(1, "junk.png", kp), (3, "scene.png", kp)])
    (tmp_path / "faces.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, tmp_path / "faces.json")
        assert store.face_count() == 1
    (junk,) = report.problems
    assert junk.startswith("image 1: ") and str(tmp_path / "junk.png") in junk


@pytest.mark.parametrize("kind", ["dotdot", "absolute"])
def test_image_names_cannot_reach_outside_the_dataset_folders(tmp_path, kind):
    """A COCO file names its images; a name with `../` or an absolute path must not pull in a picture from
    elsewhere on the disk. Either the file is refused as a whole, or that image is skipped as a problem."""
    folder = tmp_path / "dataset"
    _, kp = write_scene(tmp_path / "outside.png", seed=2)
    name = "../outside.png" if kind == "dotdot" else str(tmp_path / "outside.png")
    (folder / "images").mkdir(parents=True)
    (folder / "faces.json").write_text(json.dumps(foreign_doc([(1, name, kp)])))
    with ProjectStore.create(tmp_path / "p") as store:
        try:
            report = import_coco(store, folder / "faces.json")
        except ValidationError:
            report = None
        assert store.image_count() == 0 and store.face_count() == 0
    assert report is None or (report.images_added == 0 and len(report.problems) == 1)
