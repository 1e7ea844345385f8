"""core/box_overlap: the one IoU formula, scalar and row-wise, agree with each other and with Box.iou."""

from __future__ import annotations

import numpy as np
import pytest

from f2a_studio.core.box_overlap import iou, rowwise_iou
from f2a_studio.core.models import Box


def test_iou_of_known_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0  # touching edges share no area
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0  # empty boxes: no division by zero
    assert iou((0, 0, 10, 10, 0.9), (0, 0, 10, 10)) == 1.0  # a score after the box is ignored


def test_rowwise_iou_matches_the_scalar_formula_and_box() -> None:
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.uniform(0, 50, (200, 2)), rng.uniform(0, 40, (200, 2))])
    b = np.column_stack([rng.uniform(0, 50, (200, 2)), rng.uniform(0, 40, (200, 2))])
    a[:5, 2:] = 0.0  # a few empty boxes
    got = rowwise_iou(a, b)
    assert got.shape == (200,) and np.all((got >= 0) & (got <= 1)) and (got > 0).sum() > 50
    assert np.allclose(got, [iou(x, y) for x, y in zip(a, b, strict=True)])
    assert np.allclose(got, [Box(*x).iou(Box(*y)) for x, y in zip(a, b, strict=True)])
