from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.models import Box, Colors, Face, FaceStatus, Pose, Sex, cut_name, normalize_color


def test_box_iou_and_geometry() -> None:
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == pytest.approx(1.0)
    assert a.iou(Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
    assert a.center == (5, 5)
    assert Box(-5, -5, 20, 20).clipped(10, 8) == Box(0, 0, 10, 8)


def test_box_rejects_negative_and_nan() -> None:
    with pytest.raises(ValidationError, match="non-negative"):
        Box(0, 0, -1, 3)
    with pytest.raises(ValidationError, match="finite"):
        Box(float("nan"), 0, 1, 1)


@pytest.mark.parametrize(("raw", "norm"), [("#ABC", "#aabbcc"), ("a0b1c2", "#a0b1c2"), (None, None)])
def test_colors_normalize(raw: str | None, norm: str | None) -> None:
    assert normalize_color(raw) == norm


def test_bad_color_names_the_value() -> None:
    with pytest.raises(ValidationError, match="'red'"):
        Colors(hair="red")


def test_face_rejects_wrong_landmark_count() -> None:
    with pytest.raises(ValidationError, match="68 points"):
        Face(image_id=1, box=Box(0, 0, 1, 1), landmarks=[(0, 0, 2)] * 67)
    with pytest.raises(ValidationError, match="visibility"):
        Face(image_id=1, box=Box(0, 0, 1, 1), landmarks=[(0, 0, 5)] * 68)


def test_face_score_range() -> None:
    with pytest.raises(ValidationError, match="score"):
        Face(image_id=1, box=Box(0, 0, 1, 1), score=1.5)


def test_cut_name_convention() -> None:
    assert cut_name("597447", "13", 7) == "597447_13_cut_007"


coords = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@given(
    box=st.tuples(coords, coords, st.floats(0, 1e4), st.floats(0, 1e4)),
    pts=st.lists(st.tuples(coords, coords, st.sampled_from([0, 1, 2])), min_size=68, max_size=68),
    score=st.floats(0, 1),
    sex=st.sampled_from(list(Sex)),
    status=st.sampled_from(list(FaceStatus)),
)
def test_face_json_round_trip(box, pts, score, sex, status) -> None:
    face = Face(
        image_id=3, box=Box(*box), score=score, sex=sex, status=status, landmarks=pts,
        colors=Colors("#112233", None, "#abcdef", None), pose=Pose(1.0, -2.0, 3.5),
    )
    assert Face.from_json(face.to_json()) == face


def test_core_imports_neither_qt_nor_torch() -> None:
    code = (
        "import sys, f2a_studio.core.store, f2a_studio.core.importer, f2a_studio.core.imageio, "
        "f2a_studio.core.strips, f2a_studio.core.ibug68;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'shiboken6')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
