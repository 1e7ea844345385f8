"""Tests of the procedural cartoon generator (f2a_studio.synth)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from f2a_studio.synth import (
    FaceTruth,
    make_character_image,
    make_dataset,
    make_panel,
    make_strip,
    write_dataset,
)
from f2a_studio.synth.palette import from_hex, to_hex


def _unrolled(face: FaceTruth) -> np.ndarray:
    """Landmarks in the face's own frame (roll undone), so 'above' and 'left of' mean what they say."""
    a = math.radians(face.roll_deg)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return face.points() @ rot.T


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


@pytest.fixture(scope="module")
def faces() -> list[FaceTruth]:
    rng = np.random.default_rng(2024)
    out: list[FaceTruth] = []
    for i in range(40):
        panel = make_character_image(rng, 200) if i % 2 else make_panel(rng, 480, 420)
        out.extend(panel.faces)
    return out


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_same_bytes() -> None:
    a = make_strip(np.random.default_rng(7), n_panels=3)
    b = make_strip(np.random.default_rng(7), n_panels=3)
    assert a.image.tobytes() == b.image.tobytes()
    assert [f.to_json() for f in a.faces] == [f.to_json() for f in b.faces]
    assert a.panel_boxes == b.panel_boxes
    c = make_strip(np.random.default_rng(8), n_panels=3)
    assert c.image.shape != a.image.shape or c.image.tobytes() != a.image.tobytes()


def test_dataset_is_deterministic_and_independent_of_length(tmp_path: Path) -> None:
    short = make_dataset(11, 2, n_panels=2)
    longer = make_dataset(11, 4, n_panels=2)
    for x, y in zip(short, longer, strict=False):
        assert x.name == y.name
        assert x.strip.image.tobytes() == y.strip.image.tobytes()
    assert [s.name for s in longer] == ["900001_1", "900001_2", "900001_3", "900002_1"]

    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    write_dataset(11, 2, tmp_path / "a", n_panels=2)
    write_dataset(11, 2, tmp_path / "b", n_panels=2)
    da, db = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert da == db
    assert sorted(da) == ["900001_1.json", "900001_1.png", "900001_2.json", "900001_2.png"]
    truth = json.loads((tmp_path / "a" / "900001_1.json").read_text())
    assert truth["width"] == 690 and len(truth["panel_boxes"]) == 2


def test_no_global_random_state_used() -> None:
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    make_panel(np.random.default_rng(3), 300, 300, n_faces=2)
    assert np.random.random() == before


# -- truth ---------------------------------------------------------------------------------------
def test_truth_json_round_trip(faces: list[FaceTruth]) -> None:
    for f in faces[:10]:
        data = json.loads(json.dumps(f.to_json()))
        assert FaceTruth.from_json(data) == f
    assert to_hex(from_hex("#1a2b3c")) == "#1a2b3c"


def test_truth_fields(faces: list[FaceTruth]) -> None:
    assert len(faces) >= 40
    for f in faces:
        assert len(f.landmarks) == 68 and len(f.visibility) == 68
        assert set(f.visibility) <= {0, 1, 2}
        assert f.sex in ("female", "male")
        for key in ("skin", "hair", "left_eye", "right_eye"):
            assert len(f.colors[key]) == 7 and f.colors[key].startswith("#")
        assert abs(f.roll_deg) <= 15.0
        assert f.keypoints().shape == (68, 3)
    # bangs cover the brows of some characters
    assert any(1 in f.visibility[17:27] for f in faces)
    assert {f.sex for f in faces} == {"female", "male"}


def test_landmarks_inside_box(faces: list[FaceTruth]) -> None:
    for f in faces:
        x, y, w, h = f.box
        assert w > 0 and h > 0
        p = f.points()
        m = 0.05 * w
        assert (p[:, 0] >= x - m).all() and (p[:, 0] <= x + w + m).all()
        assert (p[:, 1] >= y - m).all() and (p[:, 1] <= y + h + m).all()


def test_landmark_layout(faces: list[FaceTruth]) -> None:
    for f in faces:
        p = _unrolled(f)
        jaw = p[:17]
        tol = 0.01 * f.box[2]  # the cheeks may bulge out a hair below the jaw's top points
        assert (np.diff(jaw[:, 0]) > -tol).all(), "jaw runs from image left round the chin to image right"
        assert (np.diff(jaw[2:15, 0]) > 0).all()
        assert int(np.argmax(jaw[:, 1])) in (7, 8, 9), "the chin is the lowest jaw point"
        eyes_y = p[36:48, 1].mean()
        assert eyes_y < p[30, 1] < p[48:68, 1].mean() < p[8, 1], "eyes above nose above mouth above chin"
        assert p[17:27, 1].mean() < eyes_y, "brows above the eyes"
        assert p[36, 0] < p[39, 0] < p[42, 0] < p[45, 0], "eye corners left to right"
        assert p[37:39, 1].mean() < p[40:42, 1].mean() and p[43:45, 1].mean() < p[46:48, 1].mean()
        assert p[17, 0] < p[21, 0] < p[22, 0] < p[26, 0]
        assert p[31, 0] < p[33, 0] < p[35, 0]
        assert p[48, 0] < p[51, 0] < p[54, 0] and p[51, 1] < p[57, 1]
        assert (np.diff(p[27:31, 1]) > 0).all(), "nose bridge runs down"


def test_female_eyes_larger_than_male(faces: list[FaceTruth]) -> None:
    def ratio(f: FaceTruth) -> float:
        p = f.points()
        return (_area(p[36:42]) + _area(p[42:48])) / 2 / (f.box[2] * f.box[3])

    fem = [ratio(f) for f in faces if f.sex == "female"]
    mal = [ratio(f) for f in faces if f.sex == "male"]
    assert fem and mal
    assert np.mean(fem) > 1.5 * np.mean(mal)


# -- panels and strips ---------------------------------------------------------------------------
def test_panel_faces_do_not_overlap() -> None:
    rng = np.random.default_rng(5)
    counts = []
    for _ in range(12):
        panel = make_panel(rng, 600, 500)
        assert panel.image.shape == (500, 600, 3) and panel.image.dtype == np.uint8
        counts.append(len(panel.faces))
        for i, a in enumerate(panel.faces):
            x, y, w, h = a.box
            assert x >= 0 and y >= 0 and x + w <= 600 and y + h <= 500
            for b in panel.faces[i + 1 :]:
                assert _iou(a.box, b.box) == 0.0
    assert max(counts) >= 2
    empty = make_panel(rng, 400, 300, n_faces=0)
    assert empty.faces == []


def test_face_sizes_span_the_range() -> None:
    rng = np.random.default_rng(9)
    sides = [f.box[2] for _ in range(30) for f in make_panel(rng, 690, int(rng.integers(300, 900))).faces]
    assert min(sides) < 40 and max(sides) > 200


def test_strip_gutters_are_uniform() -> None:
    strip = make_strip(np.random.default_rng(3), n_panels=5)
    assert strip.width == 690 and len(strip.panel_boxes) == 5
    gutter = np.array(strip.gutter, dtype=np.uint8)
    rows = strip.gutter_rows()
    assert len(rows) == 6  # above, between and below the panels
    for y0, y1 in rows[1:-1]:
        assert 40 <= y1 - y0 <= 200
    for y0, y1 in rows:
        assert (strip.image[y0:y1] == gutter).all()
    boxes = sorted(strip.panel_boxes, key=lambda b: b[1])
    for (_, ya, _, ha), (_, yb, _, _) in itertools.pairwise(boxes):
        assert ya + ha < yb
    for f in strip.faces:
        cx, cy = f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2
        assert any(x <= cx < x + w and y <= cy < y + h for x, y, w, h in strip.panel_boxes)


# -- the real detector ---------------------------------------------------------------------------
def test_animeface_finds_most_synthetic_faces() -> None:
    """At least 80% of single faces >= 64 px are found with likelihood >= 0.9 and IoU >= 0.5."""
    animeface = pytest.importorskip("animeface")
    from PIL import Image

    rng = np.random.default_rng(1234)
    hits, n, ious = 0, 0, []
    for i in range(24):
        size = int(rng.integers(180, 240))
        panel = make_character_image(rng, size, sex=("female", "male")[i % 2])
        (truth,) = panel.faces
        assert truth.box[2] >= 64
        found = animeface.detect(Image.fromarray(panel.image))
        best = max(
            (
                (
                    d.likelihood,
                    _iou(truth.box, (d.face.pos.x, d.face.pos.y, d.face.pos.width, d.face.pos.height)),
                )
                for d in found
            ),
            key=lambda t: t[1],
            default=(0.0, 0.0),
        )
        n += 1
        ious.append(best[1])
        hits += best[0] >= 0.9 and best[1] >= 0.5
    assert hits / n >= 0.8, f"animeface found {hits}/{n}"
    assert np.median(ious) >= 0.6
