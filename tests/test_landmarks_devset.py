"""benchmarks/landmarks_devset: the point mapping and NME on synthetic points (never on the devset pictures)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.landmarks_devset import POINT_NAMES, PointsFileError, hand_landmarks, load_points, nme6, run, six_points
from f2a_studio.core.align import anchor_points

RIGHT_EYE, LEFT_EYE = np.array([40.0, 50.0]), np.array([90.0, 52.0])  # the character's right eye: image left


def synthetic_68() -> np.ndarray:
    """68 points where each eye is a hexagon around a known centre and nose, mouth corners and chin are known;
    every other point is far away, so a wrong index shows up as a large error."""
    pts = np.full((68, 2), 1000.0)
    for start, centre in ((36, RIGHT_EYE), (42, LEFT_EYE)):
        for k in range(6):
            a = math.pi * k / 3
            pts[start + k] = centre + 8 * np.array([math.cos(a), 0.5 * math.sin(a)])
    pts[30], pts[48], pts[54], pts[8] = (66, 80), (50, 100), (82, 101), (65, 130)
    return pts


def test_six_points_reads_eye_centres_nose_mouth_corners_and_chin():
    six = six_points(synthetic_68())
    assert six.shape == (6, 2)
    expected = np.array([RIGHT_EYE, LEFT_EYE, (66, 80), (50, 100), (82, 101), (65, 130)])
    np.testing.assert_allclose(six, expected, atol=1e-9)
    with pytest.raises(ValueError, match="68 landmarks"):
        six_points(np.zeros((5, 2)))


def test_nme6_is_the_mean_error_over_scored_points_in_eye_distances():
    truth = six_points(synthetic_68())
    iod = float(np.linalg.norm(truth[0] - truth[1]))
    all_points = np.ones(6, bool)
    assert nme6(truth, truth, all_points) == 0.0
    assert nme6(truth + np.array([3.0, 4.0]), truth, all_points) == pytest.approx(5.0 / iod)
    wrong_chin = truth.copy()
    wrong_chin[5] += (0.0, 60.0)
    assert nme6(wrong_chin, truth, all_points) == pytest.approx(60.0 / 6 / iod)
    not_chin = all_points.copy()
    not_chin[5] = False  # a hidden chin is not scored
    assert nme6(wrong_chin, truth, not_chin) == 0.0
    swapped = truth[[1, 0, 2, 3, 4, 5]]  # eyes exchanged: two points off by one eye distance each
    assert nme6(swapped, truth, all_points) == pytest.approx(2 / 6)


def test_nme6_refuses_what_it_cannot_normalise():
    truth = six_points(synthetic_68())
    same_eyes = truth.copy()
    same_eyes[1] = same_eyes[0]
    with pytest.raises(ValueError, match="eye centres"):
        nme6(truth, same_eyes, np.ones(6, bool))
    with pytest.raises(ValueError, match="no scored point"):
        nme6(truth, truth, np.zeros(6, bool))


def test_hand_points_align_a_crop_on_the_same_anchors_as_68_landmarks():
    pts = synthetic_68()
    six = six_points(pts)
    full = np.concatenate([pts, np.full((68, 1), 2.0)], axis=1)
    full[49:54, :2] = np.linspace(pts[48], pts[54], 7)[1:-1]  # a straight outer lip: its mean is the corners'
    full[55:60, :2] = np.linspace(pts[54], pts[48], 7)[1:-1]
    np.testing.assert_allclose(anchor_points(hand_landmarks(six)), anchor_points(full), atol=1e-9)


def _points_file(tmp_path, image_id: str, box: list):
    path = tmp_path / "points.json"
    face = {"image": image_id, "face": 0, "box": box,
            "points": {n: [10.0 + i, 20.0 + 3 * i] for i, n in enumerate(POINT_NAMES)},
            "visible": {n: True for n in POINT_NAMES}, "sex": "female", "note": ""}
    path.write_text(json.dumps({"version": 1, "faces": [face]}), encoding="utf-8")
    return path


def test_load_points_checks_the_box_against_labels(tmp_path):
    from benchmarks.landmarks_devset import HERE

    labels = HERE / "devset" / "labels.json"
    first = json.loads(labels.read_text(encoding="utf-8"))["images"][0]
    ok = load_points(_points_file(tmp_path, first["id"], first["faces"][0]["box"]), labels)
    assert len(ok) == 1 and ok[0].kind == first["kind"] and ok[0].scored.all()
    moved = [v + 1 for v in first["faces"][0]["box"]]
    with pytest.raises(PointsFileError, match=r"differs from labels\.json"):
        load_points(_points_file(tmp_path, first["id"], moved), labels)
    with pytest.raises(PointsFileError, match="no picture 'nope'"):
        load_points(_points_file(tmp_path, "nope", moved), labels)


def test_without_the_pictures_the_benchmark_says_why_and_skips(tmp_path):
    result = run(images=tmp_path / "no-pictures")
    assert set(result) == {"skipped"}
    assert "rebuild.py" in result["skipped"]


def test_the_committed_hand_points_are_complete_and_inside_their_faces():
    from benchmarks.landmarks_devset import HERE

    faces = load_points(HERE / "devset" / "points.json", HERE / "devset" / "labels.json")
    assert len(faces) >= 45
    assert len({f.title for f in faces}) >= 10
    for f in faces:
        x, y, w, h = f.box
        placed = f.points[np.isfinite(f.points).all(axis=1)]
        margin = 0.5 * max(w, h)  # a chin may sit a little below a box drawn to the jaw line
        inside = ((placed >= (x - margin, y - margin)) & (placed <= (x + w + margin, y + h + margin))).all()
        assert inside, f"{f.image}:{f.face} has a point far outside its box"
        assert f.sex in ("female", "male", "unknown")


def test_the_fine_tuning_benchmark_turns_hand_points_into_the_studios_anchor_corrections(tmp_path):
    """benchmarks/landmarks_devset_finetune: each title's faces alternate between the halves, a face's six
    hand points become the sample Place Anchors would store (points through the anchors, only the anchors'
    points learned from), a hidden point places nothing; and without the pictures the run skips."""
    from benchmarks.landmarks_devset import HandFace
    from benchmarks.landmarks_devset_finetune import correction, halves
    from benchmarks.landmarks_devset_finetune import run as finetune_run

    six = six_points(synthetic_68())
    scored = np.ones(6, bool)
    faces = [HandFace(f"img{i // 2}", i % 2, (20.0, 20.0, 100.0, 120.0), six, scored, "female", "manga",
                      "A" if i < 5 else "B") for i in range(8)]
    a, b = halves(faces)
    assert sorted(a + b) == list(range(8)) and not set(a) & set(b)
    assert [i for i in a if i < 5] == [0, 2, 4] and [i for i in a if i >= 5] == [5, 7]
    sample = correction(faces[0], np.zeros((200, 200, 3), np.uint8))
    assert set(np.flatnonzero(sample.mask)) == set(range(36, 48)) | {30, 48, 54, 8}
    assert np.allclose(six_points(sample.points), six, atol=1e-6)  # the refit goes through every anchor
    assert sample.p_female == 1.0
    hidden = scored.copy()
    hidden[5] = False  # the chin not visible: not an anchor
    sample = correction(HandFace("img", 0, faces[0].box, six, hidden, "unknown", "manga", "A"),
                        np.zeros((200, 200, 3), np.uint8))
    assert 8 not in set(np.flatnonzero(sample.mask)) and sample.p_female == 0.5
    assert "skipped" in finetune_run(images=tmp_path)
