"""Tiling, NMS, the template fit (with the sex prior), the FAN size limit and head pose: pure geometry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.face_model import load_face_model, rotation
from f2a_studio.detect.landmarks.fan import limit_face_size
from f2a_studio.detect.landmarks.template_fit import fit_template, place_by_box
from f2a_studio.detect.nms import nms, same_face
from f2a_studio.detect.pose import estimate_pose
from f2a_studio.detect.tiling import ScaleBand, default_bands, plan_tiles

MODEL = load_face_model()


# ------------------------------------------------------------------ tiling


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(60, 1500),
    height=st.integers(60, 30000),
    band_index=st.integers(0, 2),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    fsize=st.floats(0, 1),
)
def test_every_face_of_a_band_is_whole_in_some_tile(width, height, band_index, fx, fy, fsize) -> None:
    bands = default_bands(width, height)
    band = bands[min(band_index, len(bands) - 1)]
    max_face = band.max_face if math.isfinite(band.max_face) else band.overlap
    lo, hi = band.min_face / band.scale, min(max_face / band.scale, width, height) - 1
    if hi <= lo:
        return
    side = lo + fsize * (hi - lo)
    box = Box(fx * (width - side), fy * (height - side), side, side)
    tiles = plan_tiles(width, height, [band])
    assert any(t.accepts(box) for t in tiles), (box, band)


def test_tiles_cover_the_image_and_overlap() -> None:
    band = ScaleBand(2.0, tile=1024, overlap=300, min_face=40, max_face=260)
    tiles = plan_tiles(690, 6000, [band])
    covered = np.zeros((6000, 690), bool)
    for t in tiles:
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
        assert t.scaled_size[0] <= 1024 + 1 and t.scaled_size[1] <= 1024 + 1
    assert covered.all()
    rows = sorted({(t.y0, t.y1) for t in tiles})
    assert all(a[1] - b[0] >= 150 for a, b in itertools.pairwise(rows))  # 300 scaled px = 150 px


def test_cut_face_on_an_inner_edge_is_refused_and_mapping_is_exact() -> None:
    band = ScaleBand(1.0, tile=1000, overlap=300, min_face=40, max_face=280)
    first = plan_tiles(600, 3000, [band])[0]
    assert first.inner == (False, False, False, True)
    assert not first.accepts(Box(100, first.y1 - 60, 120, 120))  # sticks out of the bottom edge
    assert first.accepts(Box(100, first.y1 - 200, 120, 120))
    up = plan_tiles(600, 3000, [ScaleBand(2.0, 2048, 300, 40, 260)])[1]
    assert up.to_image(Box(0, 0, 100, 50)).to_list() == pytest.approx([up.x0, up.y0, 50, 25], abs=0.6)


def test_small_images_get_no_coarse_pass_and_an_upscaled_one() -> None:
    scales = [b.scale for b in default_bands(120, 140)]
    assert scales == [2.0, 1.0]
    assert math.isinf(default_bands(120, 140)[-1].max_face)
    assert [b.scale for b in default_bands(690, 6000)] == [2.0, 1.0, 0.5]
    assert [b.scale for b in default_bands(690, 6000, min_face_px=48)] == [1.0, 0.5]


# ------------------------------------------------------------------ NMS


def test_nms_keeps_the_best_of_one_face_and_every_other_face() -> None:
    items = [
        (Box(100, 100, 80, 80), 0.7),
        (Box(104, 98, 86, 86), 0.9),  # the same face seen at another scale
        (Box(300, 100, 60, 60), 0.5),  # another character
        (Box(118, 120, 14, 10), 0.95),  # an eye taken for a face, surer than the face: kept (see detect/nms.py)
        (Box(150, 120, 14, 10), 0.85),  # the other eye, less sure than its face: a part of it, dropped
        (Box(290, 90, 14, 10), 0.45),  # small, half outside the other character's box: kept
    ]
    kept = nms(items, lambda i: i[0], lambda i: i[1])
    assert [k[1] for k in kept] == [0.95, 0.9, 0.5, 0.45]


def test_same_face_inside_rule() -> None:
    big = Box(0, 0, 100, 100)
    assert same_face(big, Box(10, 10, 60, 60))  # IoU 0.36 but inside and similar size
    assert not same_face(big, Box(10, 10, 30, 30))  # inside but much smaller
    assert not same_face(big, Box(200, 0, 100, 100))
    assert not same_face(big, Box(0, 0, 0, 0))


# ------------------------------------------------------------------ template fit and the sex prior


def posed(sex: str, yaw: float, pitch: float, roll: float, scale: float, at: tuple[float, float],
          points: np.ndarray | None = None) -> np.ndarray:
    pts = (MODEL.for_sex(sex).points if points is None else points) @ rotation(yaw, pitch, roll).T
    return pts[:, :2] * scale + at


def parts_of(sex: str, yaw: float, pitch: float, roll: float, scale: float, at: tuple[float, float]
             ) -> tuple[np.ndarray, Box, Parts]:
    """A posed mean face and what the detector would report for it (its mean part offsets included)."""
    model = MODEL.for_sex(sex)
    truth = posed(sex, yaw, pitch, roll, scale, at)

    def point(name: str) -> np.ndarray:
        return posed(sex, yaw, pitch, roll, scale, at, model.anchor_point(name)[None, :])[0]

    def box(name: str, w: float, h: float) -> Box:
        cx, cy = point(name)
        return Box(cx - w / 2, cy - h / 2, w, h)

    side = scale * model.box_side_per_width
    cx, cy = point("box_center")
    face = Box(cx - side / 2, cy - side / 2, side, side)
    parts = Parts(box("left_eye", 0.25 * scale, 0.2 * scale), box("right_eye", 0.25 * scale, 0.2 * scale),
                  box("mouth", 0.15 * scale, 0.06 * scale), tuple(point("nose")), tuple(point("chin")))
    return truth, face, parts


def nme(points: np.ndarray, truth: np.ndarray) -> float:
    iod = np.linalg.norm(truth[36:42].mean(0) - truth[42:48].mean(0))
    return float(np.mean(np.linalg.norm(points - truth, axis=1)) / iod)


@pytest.mark.parametrize("sex", ["female", "male"])
def test_fit_recovers_pose_and_size(sex: str) -> None:
    truth, box, parts = parts_of(sex, 15, -5, 8, 120, (400, 300))
    fit = fit_template(MODEL, box, parts, 0.97 if sex == "female" else 0.03)
    assert fit.scale == pytest.approx(120, rel=0.05)
    # the angle priors pull a little towards frontal, by design
    assert abs(fit.yaw - 15) < 4 and abs(fit.pitch + 5) < 4 and abs(fit.roll - 8) < 2
    assert nme(fit.points, truth) < 0.05


@pytest.mark.parametrize("sex", ["female", "male"])
def test_sex_prior_sizes_the_face(sex: str) -> None:
    """Female and male characters differ in proportions (big eyes and a short jaw vs small eyes and a long
    one), so fitting the wrong sex's face to the same parts gets the face size wrong: the female face on a
    male character comes out too large, the male one on a female too small. The right prior gets it right;
    unknown sex lands in between, decided by which face fits the parts better."""
    truth, box, parts = parts_of(sex, 0, 0, 0, 100, (300, 300))
    p_right = 0.97 if sex == "female" else 0.03
    right = fit_template(MODEL, box, parts, p_right)
    wrong = fit_template(MODEL, box, parts, 1 - p_right)
    unknown = fit_template(MODEL, box, parts, 0.5)

    def jaw(points: np.ndarray) -> float:
        return float(np.linalg.norm(points[16] - points[0]))

    assert jaw(right.points) == pytest.approx(100, abs=2)
    assert abs(jaw(wrong.points) - 100) > 5
    assert (jaw(wrong.points) > 100) == (sex == "male")
    assert nme(right.points, truth) < nme(unknown.points, truth) < nme(wrong.points, truth)
    assert (unknown.p_female > 0.5) == (sex == "female")  # the parts themselves point to the sex


def test_fit_needs_no_parts_and_beats_the_unfitted_template_with_them() -> None:
    truth, box, parts = parts_of("male", -12, 4, -6, 80, (200, 150))
    only_box = fit_template(MODEL, box, Parts(), 0.5)
    assert np.isfinite(only_box.points).all()
    assert nme(fit_template(MODEL, box, parts, 0.5).points, truth) < nme(place_by_box(MODEL, box), truth)


# ------------------------------------------------------------------ FAN's face-size limit


def test_fan_faces_that_are_too_large_are_pulled_in() -> None:
    truth = posed("female", 0, 0, 0, 100, (300, 300))
    eyes = (truth[36:42].mean(0) + truth[42:48].mean(0)) / 2
    inflated = truth.copy()
    inflated[:17] = eyes + (truth[:17] - eyes) * 1.5  # the human-face model's over-large jaw
    fixed = limit_face_size(inflated, MODEL, p_female=0.97)
    assert nme(fixed, truth) < nme(inflated, truth) / 2
    assert np.allclose(fixed[17:], inflated[17:])
    assert np.allclose(limit_face_size(truth, MODEL, p_female=0.97), truth)  # a right-sized face is kept


# ------------------------------------------------------------------ pose


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (25, 0, 0), (-20, 10, 5), (10, -12, -15)])
def test_pose_round_trip(yaw: float, pitch: float, roll: float) -> None:
    points = posed("male", yaw, pitch, roll, 150, (500, 400))
    pose = estimate_pose(points, MODEL.male.points)
    assert pose is not None
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx((yaw, pitch, roll), abs=1.5)


def test_pose_gives_up_cleanly() -> None:
    points = posed("male", 0, 0, 0, 150, (500, 400))
    assert estimate_pose(points, MODEL.male.points, visible=np.zeros(68, bool)) is None
    bad = points.copy()
    bad[30] = np.nan
    assert estimate_pose(bad, MODEL.male.points) is None
