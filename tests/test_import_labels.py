"""Face boxes labelled in other tools (box-only COCO, labelme JSON, YOLO txt) → accepted human faces with
landmarks fitted by the real landmark backend, on real projects and real drawn pictures.

Malformed files are in test_bad_inputs_labels.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_export_data import draw_panel
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.imageio import content_hash, load_image
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus
from f2a_studio.core.provenance import human_faces
from f2a_studio.core.store import ProjectStore, is_project
from f2a_studio.export.coco_import import import_coco
from f2a_studio.export.label_import import import_label_files

W, H = 480, 360  # draw_panel's size
# The learned landmark model fits these drawn faces to within this fraction of their size on average; the
# template fit alone (what a broken backend choice falls back to) is off by about twice as much.
FIT_TOLERANCE = 0.035


def scene(path: Path, seed: int, faces: int = 2) -> list:
    """A drawn panel with `faces` characters written at `path`; its true faces (box + 68 points)."""
    pixels, truths = draw_panel(np.random.default_rng(seed), faces)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return truths


def rect(label: str, box) -> dict:
    x, y, w, h = box
    return {"label": label, "shape_type": "rectangle", "points": [[x + w, y + h], [x, y]], "flags": {}}


def labelme_doc(image: str, shapes: list, data: bytes | None = None) -> dict:
    return {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image,
            "imageData": base64.b64encode(data).decode() if data is not None else None,
            "imageHeight": H, "imageWidth": W}


def yolo_line(cls: int, box) -> str:
    x, y, w, h = box
    return f"{cls} {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}"


def fit_error(face: Face, truth) -> float:
    points = np.array([(x, y) for x, y, _ in face.landmarks])
    return float(np.linalg.norm(points - truth.points(), axis=1).mean() / max(truth.box[2], truth.box[3]))


def check_imported(store: ProjectStore, truths_by_hash: dict[str, list]) -> list[Face]:
    """Every face is an accepted human box whose landmarks the model fitted (not human), near the truth."""
    faces = store.all_faces()
    errors = []
    for face in faces:
        assert face.source is FaceSource.HUMAN and face.status is FaceStatus.ACCEPTED
        assert face.human_fields == frozenset({"box", "status"}) and face.human_points == frozenset()
        truths = truths_by_hash[store.image(face.image_id).hash]
        truth = max(truths, key=lambda t: face.box.iou(Box(*t.box)))
        assert face.box.iou(Box(*truth.box)) > 0.95
        assert len(face.landmarks) == 68 and face.pose is not None
        errors.append(fit_error(face, truth))
        # the log says who did what: the person's box (the importer), then the model's fit
        assert [(e.op, e.actor) for e in store.edits(face_id=face.id)] == [("add", "label-import"),
                                                                          ("update", "model")]
    assert errors and float(np.mean(errors)) < FIT_TOLERANCE
    # what trainers read: the box and status as a person's, the landmarks not
    for human in human_faces(store):
        assert human.box is not None and human.status is FaceStatus.ACCEPTED and human.landmarks is None
    return faces


def hash_of(path: Path) -> str:
    return content_hash(load_image(path).pixels)


# ---------------------------------------------------------------- each format imports


def test_labelme_rectangles_and_polygons_import_with_fitted_landmarks_and_the_label_filter(tmp_path):
    folder = tmp_path / "labelme"
    t1 = scene(folder / "a.png", 1)
    t2 = scene(folder / "sub" / "b.jpg", 2)
    poly = [[t2[1].box[0], t2[1].box[1]], [t2[1].box[0] + t2[1].box[2], t2[1].box[1]],
            [t2[1].box[0] + t2[1].box[2] / 2, t2[1].box[1] + t2[1].box[3]]]
    # X-AnyLabeling writes a rectangle's four corners; the polygon's bounding box is the face's
    corners = [[t1[1].box[0], t1[1].box[1]], [t1[1].box[0] + t1[1].box[2], t1[1].box[1]],
               [t1[1].box[0] + t1[1].box[2], t1[1].box[1] + t1[1].box[3]], [t1[1].box[0], t1[1].box[1] + t1[1].box[3]]]
    (folder / "a.json").write_text(json.dumps(labelme_doc("a.png", [
        rect("anime_face", t1[0].box), {"label": "face", "shape_type": "rectangle", "points": corners},
        rect("hand", (10, 10, 30, 30))])))
    (folder / "sub" / "b.json").write_text(json.dumps(labelme_doc("b.jpg", [
        rect("face", t2[0].box), {"label": "face", "points": poly, "group_id": None}])))  # no shape_type: polygon
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "labelme")
        assert report.faces_added == 4 and report.images_added == 2
        (skip,) = report.skipped
        assert skip.where == f"{folder / 'a.json'} shape 2" and "non-face label 'hand'" in skip.why
        b_hash = hash_of(folder / "sub" / "b.jpg")
        faces = check_imported(store, {hash_of(folder / "a.png"): t1, b_hash: t2})
        polygon_face = next(f for f in faces if store.image(f.image_id).hash == b_hash
                            and f.box.iou(Box(*t2[1].box)) > 0.5)
        assert polygon_face.box.h == pytest.approx(t2[1].box[3])  # the polygon's bounding box
    with ProjectStore.create(tmp_path / "q") as store:  # --label picks the labels instead of "face" names
        report = import_label_files(store, [folder / "a.json"], "labelme", labels=["hand"])
        assert report.faces_added == 1 and store.all_faces()[0].box == Box(10, 10, 30, 30)
        assert sorted(s.why.split(" (")[0] for s in report.skipped) == ["non-face label 'anime_face'",
                                                                         "non-face label 'face'"]


def test_labelme_uses_the_embedded_image_data_when_the_file_is_missing(tmp_path):
    folder = tmp_path / "lm"
    truths = scene(folder / "gone.png", 3)
    data = (folder / "gone.png").read_bytes()
    digest = hash_of(folder / "gone.png")
    (folder / "gone.png").unlink()
    (folder / "617_4_cut_002.json").write_text(json.dumps(labelme_doc("..\\pics\\617_4_cut_002.png",
                                                                      [rect("face", t.box) for t in truths], data)))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "labelme")
        assert report.faces_added == 2 and report.images_added == 1 and report.skipped == []
        (record,) = store.images()
        assert record.hash == digest and (record.title_id, record.episode) == ("617", "4")  # named as the picture
        assert record.source_path == str(folder / "617_4_cut_002.json")
        check_imported(store, {digest: truths})
        again = import_label_files(store, [folder], "labelme")
        assert again.faces_added == 0 and again.faces_present == 2 and again.images_matched == 1


def test_labelme_image_path_outside_its_folder_is_refused_unless_found_by_name_in_the_images_folder(tmp_path):
    truths = scene(tmp_path / "pics" / "x.png", 4)
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "x.json").write_text(json.dumps(labelme_doc("../pics/x.png", [rect("face", truths[0].box)])))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [tmp_path / "json"], "labelme")
        assert report.faces_added == 0 and store.image_count() == 0
        (skip,) = report.skipped
        assert "missing image" in skip.why and "outside" in skip.why and "refused" in skip.why
        report = import_label_files(store, [tmp_path / "json"], "labelme", images_dir=tmp_path / "pics")
        assert report.faces_added == 1 and report.skipped == []


def test_yolo_boxes_import_with_classes_txt_and_images_found_by_stem_in_the_mirror_folder(tmp_path):
    ds = tmp_path / "ds"
    t1 = scene(ds / "images" / "train" / "p1.png", 5)
    t2 = scene(ds / "images" / "train" / "p2.JPG", 6)
    (ds / "labels" / "train").mkdir(parents=True)
    (ds / "classes.txt").write_text("person\nanime_face\n")
    (ds / "labels" / "train" / "p1.txt").write_text("\n".join([yolo_line(1, t1[0].box), yolo_line(1, t1[1].box),
                                                              yolo_line(0, (5, 5, 100, 200)), ""]))
    (ds / "labels" / "train" / "p2.txt").write_text(
        f"{yolo_line(1, t2[0].box)}\n{yolo_line(1, t2[1].box)} 0.93\n7 0.5 0.5 0.1 0.1\n")  # a 6th value: a score
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [ds / "labels"], "yolo")
        assert report.faces_added == 4 and report.images_added == 2
        whys = {s.where.rsplit(" ", 2)[0].split("/")[-1] + " " + s.where.rsplit(" ", 1)[1]: s.why
                for s in report.skipped}
        assert set(whys) == {"p1.txt 3", "p2.txt 3"}
        assert whys["p1.txt 3"].startswith("non-face class 'person'")
        assert whys["p2.txt 3"].startswith("unknown class 7")
        check_imported(store, {hash_of(ds / "images" / "train" / "p1.png"): t1,
                               hash_of(ds / "images" / "train" / "p2.JPG"): t2})


def test_yolo_data_yaml_names_and_the_class_option(tmp_path):
    folder = tmp_path / "flat"
    truths = scene(folder / "img.png", 7)
    (folder / "data.yaml").write_text("path: .\ntrain: images\nnames:\n  0: head\n  1: eye\n")
    (folder / "img.txt").write_text(f"{yolo_line(0, truths[0].box)}\n{yolo_line(1, (200, 100, 20, 10))}\n")
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "yolo")  # no class named like a face: nothing taken
        assert report.faces_added == 0 and store.image_count() == 0
        assert [s.why.split(" (")[0] for s in report.skipped] == ["non-face class 'head'", "non-face class 'eye'"]
        report = import_label_files(store, [folder / "img.txt"], "yolo", labels=["head"])
        assert report.faces_added == 1 and [s.why.split(" (")[0] for s in report.skipped] == ["non-face class 'eye'"]
        check_imported(store, {hash_of(folder / "img.png"): truths})
    (folder / "data.yaml").unlink()  # no names at all: class 0 only, unless --class says otherwise
    with ProjectStore.create(tmp_path / "q") as store:
        report = import_label_files(store, [folder], "yolo")
        assert report.faces_added == 1 and "only class 0 is taken" in report.skipped[0].why
        report = import_label_files(store, [folder], "yolo", labels=["1"])
        assert report.faces_added == 1 and report.faces_present == 0


def test_box_only_coco_with_another_category_name_iscrowd_and_polygons(tmp_path):
    folder = tmp_path / "cvat"
    t1 = scene(folder / "images" / "s1.png", 8)
    t2 = scene(folder / "s2.png", 9)
    x, y, w, h = t2[1].box
    doc = {
        "images": [{"id": 1, "file_name": "s1.png", "width": W, "height": H},
                   {"id": 2, "file_name": "s2.png", "width": W, "height": H},
                   {"id": 3, "file_name": "s3.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "anime_face", "supercategory": ""}, {"id": 2, "name": "body"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": list(t1[0].box), "area": 1.0, "iscrowd": 0,
             "segmentation": [], "attributes": {"occluded": False}},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": list(t1[1].box), "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": list(t2[0].box), "iscrowd": 0},
            {"id": 4, "image_id": 2, "category_id": 1, "iscrowd": 0,  # no bbox: the polygon's
             "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]},
            {"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 480, 360], "iscrowd": 1,
             "segmentation": {"counts": [0, 10], "size": [H, W]}},
            {"id": 6, "image_id": 2, "category_id": 2, "bbox": [10, 10, 50, 100], "iscrowd": 0},
            {"id": 7, "image_id": 3, "category_id": 1, "bbox": [10, 10, 50, 50], "iscrowd": 0},
        ],
    }
    (folder / "instances_default.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_coco(store, folder / "instances_default.json")  # f2a import-coco takes it too
        assert report.faces_added == 4 and report.images_added == 2
        whys = {s.where.rsplit(" ", 1)[1]: s.why for s in report.skipped}
        assert set(whys) == {"5", "6", "3"}
        assert "crowd" in whys["5"] and whys["6"] == "non-face category 'body'"
        assert whys["3"].startswith("missing image: file 's3.png' not found")
        check_imported(store, {hash_of(folder / "images" / "s1.png"): t1, hash_of(folder / "s2.png"): t2})
        again = import_label_files(store, [folder / "instances_default.json"], "coco")
        assert again.faces_added == 0 and again.faces_present == 4 and again.images_added == 0


# ---------------------------------------------------------------- skipped boxes, duplicates, re-import


def test_boxes_outside_the_image_zero_size_and_duplicates_are_skipped_with_the_reason(tmp_path):
    folder = tmp_path / "lm"
    truths = scene(folder / "a.png", 10)
    t = truths[0].box
    shapes = [rect("face", t), rect("face", (t[0] + 1, t[1], t[2], t[3])),  # the same face twice
              rect("face", (W + 10, 20, 40, 40)), rect("face", (50, 60, 0, 30)),
              {"label": "face", "shape_type": "point", "points": [[10, 10]]}]
    (folder / "a.json").write_text(json.dumps(labelme_doc("a.png", shapes)))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "labelme")
        assert report.faces_added == 1
        whys = {s.where.rsplit(" ", 1)[1]: s.why for s in report.skipped}
        assert set(whys) == {"1", "2", "3", "4"}
        assert whys["1"].startswith(f"duplicate of {folder / 'a.json'} shape 0 (IoU ")
        assert whys["2"] == f"box [{W + 10}, 20, 40, 40] lies outside the {W}×{H} image"
        assert whys["3"] == "zero-size box (0×30 px)"
        assert whys["4"].startswith("a point is not a face box")


def test_a_stated_image_size_that_differs_from_the_picture_skips_its_boxes(tmp_path):
    folder = tmp_path / "lm"
    truths = scene(folder / "a.png", 11)
    doc = labelme_doc("a.png", [rect("face", truths[0].box)])
    doc["imageWidth"] = W * 2
    (folder / "a.json").write_text(json.dumps(doc))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "labelme")
        assert report.faces_added == 0 and store.image_count() == 0
        assert f"says the image is {2 * W}×{H}" in report.skipped[0].why


def test_reimport_is_idempotent_and_a_box_over_a_person_s_face_is_a_duplicate(tmp_path):
    folder = tmp_path / "y"
    truths = scene(folder / "a.png", 12)
    (folder / "a.txt").write_text(yolo_line(0, truths[0].box) + "\n")
    with ProjectStore.create(tmp_path / "p") as store:
        first = import_label_files(store, [folder], "yolo")
        before = store.all_faces()
        again = import_label_files(store, [folder], "yolo")
        assert (first.faces_added, again.faces_added, again.faces_present, again.images_matched) == (1, 0, 1, 1)
        assert store.all_faces() == before and again.skipped == []
        # a person corrects the box in the studio; the old file's box now overlaps their face: not added
        (face,) = before
        store.update_face(Face(**{**face.__dict__, "box": Box(face.box.x + 4, face.box.y, face.box.w, face.box.h)}))
        third = import_label_files(store, [folder], "yolo")
        assert third.faces_added == 0 and store.face_count() == 1
        assert third.skipped[0].why.startswith(f"duplicate: overlaps face {face.id} (IoU")


def test_a_detection_of_the_same_face_is_replaced_by_the_imported_box(tmp_path):
    folder = tmp_path / "y"
    truths = scene(folder / "a.png", 13)
    with ProjectStore.create(tmp_path / "p") as store:
        from f2a_studio.core.importer import import_sources
        from f2a_studio.core.strips import SplitOptions

        import_sources(store, [folder / "a.png"], split=SplitOptions(min_aspect=float("inf")))
        (record,) = store.images()
        x, y, w, h = truths[0].box
        found = store.add_faces([Face(image_id=record.id, box=Box(x + 3, y + 2, w, h), score=0.7),
                                 Face(image_id=record.id, box=Box(*truths[1].box), score=0.6)], actor="detector")
        (folder / "a.txt").write_text(yolo_line(0, truths[0].box) + "\n")
        report = import_label_files(store, [folder], "yolo")
        assert report.faces_added == 1 and report.detections_replaced == 1 and report.images_matched == 1
        faces = store.all_faces()
        assert [f.source for f in faces] == [FaceSource.DETECTOR, FaceSource.HUMAN]
        assert faces[0].id == found[1].id  # the other face's detection stays


def test_imported_faces_are_never_changed_by_a_later_detect(tmp_path):
    from f2a_studio.detect import DetectOptions, detect_images

    folder = tmp_path / "lm"
    truths = scene(folder / "a.png", 14)
    (folder / "a.json").write_text(json.dumps(labelme_doc("a.png", [rect("face", t.box) for t in truths])))
    with ProjectStore.create(tmp_path / "p") as store:
        import_label_files(store, [folder], "labelme")
        before = store.all_faces()
        report = detect_images(store, None, DetectOptions(workers=1))
        assert report.done == 1 and not report.failed
        after = {f.id: f for f in store.all_faces()}
        assert all(after[f.id] == f for f in before)  # every field, revision included
        new = [f for f in after.values() if f.id not in {b.id for b in before}]
        assert all(max(f.box.iou(b.box) for b in before) < 0.5 for f in new)  # no duplicate detections


# ---------------------------------------------------------------- the command line


def test_cli_import_labels_reports_skips_and_json(tmp_path):
    folder = tmp_path / "y"
    truths = scene(folder / "a.png", 15)
    (folder / "classes.txt").write_text("face\nhand\n")
    (folder / "a.txt").write_text(f"{yolo_line(0, truths[0].box)}\n{yolo_line(1, (10, 10, 20, 20))}\n")
    (folder / "b.txt").write_text(f"{yolo_line(0, truths[1].box)}\n")  # no image b.*
    runner = CliRunner()
    result = runner.invoke(app, ["import-labels", str(tmp_path / "p"), str(folder), "--format", "yolo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["faces_added"] == 1 and report["images_added"] == 1 and report["files"] == 2
    assert [s["why"].split(" (")[0] for s in report["skipped"]] == ["non-face class 'hand'",
                                                                  "missing image: no image named 'b'"]
    assert "skipped" in result.stderr and "non-face class 'hand'" in result.stderr
    result = runner.invoke(app, ["import-labels", str(tmp_path / "p"), str(folder), "-f", "yolo", "--class", "hand"])
    assert result.exit_code == 0 and "imported 1 face(s) (0 already present)" in result.stderr
    result = runner.invoke(app, ["import-labels", str(tmp_path / "new"), str(folder / "b.txt"), "-f", "yolo"])
    assert result.exit_code == 1 and not is_project(tmp_path / "new")  # nothing could go in: no project left
    result = runner.invoke(app, ["import-labels", str(tmp_path / "p"), str(folder), "-f", "pascal"])
    assert result.exit_code == 2 and "--format must be one of coco, labelme, yolo" in result.stderr


def test_cli_import_coco_takes_box_only_files_with_a_category_option(tmp_path):
    folder = tmp_path / "c"
    truths = scene(folder / "a.png", 16)
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
           "categories": [{"id": 5, "name": "character"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": list(truths[0].box)}]}
    (folder / "c.json").write_text(json.dumps(doc))
    runner = CliRunner()
    result = runner.invoke(app, ["import-coco", str(tmp_path / "p"), str(folder / "c.json")])
    assert result.exit_code == 2 and "categories here: 5 'character'" in result.stderr
    assert not is_project(tmp_path / "p")
    result = runner.invoke(app, ["import-coco", str(tmp_path / "p"), str(folder / "c.json"), "--label", "character",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["faces_added"] == 1


def test_the_edit_log_replays_to_the_same_provenance_and_a_bad_image_is_skipped(tmp_path):
    """The fit is logged as the model's update after the person's add, so provenance rebuilt from the log
    (schema migration 4) agrees with what the store recorded: the landmarks are never a person's."""
    from f2a_studio.core.provenance import Provenance, replay

    folder = tmp_path / "lm"
    truths = scene(folder / "a.png", 17)
    (folder / "b.png").write_text("not a picture")
    (folder / "a.json").write_text(json.dumps(labelme_doc("a.png", [rect("face", truths[0].box)])))
    (folder / "b.json").write_text(json.dumps(labelme_doc("b.png", [rect("face", truths[0].box)])))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_label_files(store, [folder], "labelme")
        assert report.faces_added == 1 and store.image_count() == 1
        (skip,) = report.skipped
        assert skip.where.startswith(str(folder / "b.json")) and str(folder / "b.png") in skip.why
        (face,) = store.all_faces()
        log = [(e.op, e.actor, e.before, e.after) for e in store.edits(face_id=face.id)]
        assert replay(log) == Provenance.of(face) == Provenance(frozenset({"box", "status"}), frozenset())
