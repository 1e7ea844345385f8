"""NMS over face boxes against a second implementation (overlap counted on a pixel grid), at the exact
boundaries of its three thresholds, and by the properties greedy NMS must have. Guards the constant,
comparison and operator mutations of detect/nms.py that tests/test_detect_geometry.py let through."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f2a_studio.core.models import Box
from f2a_studio.detect.nms import intersection, nms, part_of, same_face

IOU, INSIDE, SIZE_RATIO = 0.35, 0.7, 0.45  # the documented defaults

GRID = 48


def cells(box: Box) -> np.ndarray:
    """The unit cells an integer box covers on a GRID² raster."""
    mask = np.zeros((GRID, GRID), bool)
    mask[int(box.y) : int(box.y + box.h), int(box.x) : int(box.x + box.w)] = True
    return mask


def reference_same_face(a: Box, b: Box) -> bool:
    """The rule of the module docstring, with areas and overlap counted in cells, not computed."""
    ma, mb = cells(a), cells(b)
    area_a, area_b, inter = int(ma.sum()), int(mb.sum()), int((ma & mb).sum())
    if inter == 0:
        return False
    if inter / (area_a + area_b - inter) >= IOU:
        return True
    small, large, small_area = (a, b, area_a) if area_a <= area_b else (b, a, area_b)
    return inter / small_area >= INSIDE and small.w / large.w >= SIZE_RATIO


int_boxes = st.builds(lambda x, y, w, h: Box(x, y, min(w, GRID - x), min(h, GRID - y)),
                      st.integers(0, GRID - 1), st.integers(0, GRID - 1), st.integers(0, 30), st.integers(0, 30))


@settings(max_examples=250, deadline=None)
@given(a=int_boxes, b=int_boxes)
def test_same_face_agrees_with_the_grid_count(a: Box, b: Box) -> None:
    assert intersection(a, b) == int((cells(a) & cells(b)).sum())
    assert same_face(a, b) is reference_same_face(a, b)
    assert same_face(b, a) is same_face(a, b)  # symmetric


@settings(max_examples=100, deadline=None)
@given(a=int_boxes, b=int_boxes, k=st.integers(-6, 6))
def test_same_face_does_not_depend_on_the_scale(a: Box, b: Box, k: int) -> None:
    """Powers of two scale exactly: tiny boxes (area < 1 px) and huge ones are judged like the others."""
    f = 2.0**k

    def scaled(box: Box) -> Box:
        return Box(box.x * f, box.y * f, box.w * f, box.h * f)

    assert same_face(scaled(a), scaled(b)) is same_face(a, b)
    assert intersection(scaled(a), scaled(b)) == intersection(a, b) * f * f


# Hand-made pairs exactly on each threshold (the divisions are exact in floating point).
ON_IOU = (Box(0, 0, 27, 1), Box(13, 0, 27, 1))  # overlap 14, union 40: IoU 0.35; 14/27 inside
ON_INSIDE = (Box(0, 0, 10, 10), Box(3, 0, 20, 10))  # overlap 70: 0.7 of the small one; IoU 70/230
ON_RATIO = (Box(0, 0, 9, 9), Box(0, 0, 20, 20))  # wholly inside, widths 9/20 = 0.45; IoU 81/400


# ... and each moved just past it
PAST_IOU = (Box(0, 0, 27, 1), Box(13.01, 0, 27, 1))
PAST_INSIDE = (Box(0, 0, 10, 10), Box(3.01, 0, 20, 10))
PAST_RATIO = (Box(0, 0, 8.99, 9), Box(0, 0, 20, 20))


@pytest.mark.parametrize(("on", "past"), [(ON_IOU, PAST_IOU), (ON_INSIDE, PAST_INSIDE), (ON_RATIO, PAST_RATIO)])
def test_each_threshold_is_inclusive_and_just_past_it_is_not_the_same_face(on, past) -> None:
    assert same_face(*on) is True and same_face(*reversed(on)) is True
    assert same_face(*past) is False and same_face(*reversed(past)) is False


def test_no_overlap_and_empty_boxes_are_never_the_same_face() -> None:
    big = Box(0, 0, 100, 100)
    assert intersection(big, Box(100, 0, 50, 50)) == 0  # touching edges
    assert intersection(big, Box(150, 150, 5, 5)) == 0
    assert same_face(big, Box(100, 0, 100, 100)) is False
    assert same_face(big, Box(40, 40, 0, 10)) is False and same_face(Box(40, 40, 10, 0), big) is False
    tiny = Box(0.25, 0.25, 0.5, 0.5)  # under a pixel: still a box, and the same face as itself
    assert same_face(tiny, tiny) is True


def test_partial_overlap_of_similar_boxes_below_both_rules_is_two_faces() -> None:
    a, b = Box(0, 0, 10, 10), Box(6, 0, 10, 10)  # overlap 40: IoU 0.25, 0.4 of either
    assert same_face(a, b) is False


def test_nms_uses_the_thresholds_on_their_boundaries() -> None:
    for a, b in (ON_IOU, ON_INSIDE, ON_RATIO):
        assert nms([(a, 0.9), (b, 0.8)], lambda i: i[0], lambda i: i[1]) == [(a, 0.9)]
        assert nms([(a, 0.8), (b, 0.9)], lambda i: i[0], lambda i: i[1]) == [(b, 0.9)]
    a, b = ON_IOU
    assert len(nms([(a, 0.9), (b, 0.8)], lambda i: i[0], lambda i: i[1], iou=0.36, inside=0.99)) == 2


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(int_boxes, st.sampled_from([0.5, 0.6, 0.7, 0.8, 0.9])), max_size=12))
def test_greedy_nms_properties(items) -> None:
    kept = nms(items, lambda i: i[0], lambda i: i[1])
    index = {id(it): k for k, it in enumerate(items)}
    positions = [index[id(it)] for it in kept]
    assert len(set(positions)) == len(kept)
    # best first; equal scores keep the input order
    assert [(-it[1], index[id(it)]) for it in kept] == sorted((-it[1], index[id(it)]) for it in kept)
    for n, x in enumerate(kept):  # no two kept boxes are one face, none a part of a box kept before it
        assert not any(same_face(x[0], y[0]) for y in kept if y is not x)
        assert not any(part_of(x[0], y[0]) for y in kept[:n])
    for k, it in enumerate(items):  # every dropped box is the face of a kept one at least as good, seen before
        if k not in positions:  # it, or a part of such a box
            assert any((same_face(it[0], y[0]) or part_of(it[0], y[0])) and (y[1], -index[id(y)]) > (it[1], -k)
                       for y in kept), it


def box(item):
    return item[0]


def test_a_part_is_wholly_inside_and_much_narrower_on_the_boundaries() -> None:
    face = Box(0, 0, 40, 40)
    assert part_of(Box(1, 0, 10, 10), face) and part_of(Box(-1, 0, 10, 10), face)  # 0.9 inside: a part
    assert not part_of(Box(-1.01, 0, 10, 10), face)  # just under 0.9 inside
    assert part_of(Box(5, 5, 17.99, 10), face) and not part_of(Box(5, 5, 18, 10), face)  # width 0.45 of the face
    assert not part_of(face, Box(5, 5, 10, 10)) and not part_of(Box(5, 5, 0, 10), face)
    # in NMS a face drops its eye when it scored at least as well; a surer eye stays (the threshold decides)
    assert nms([(face, 0.6), (Box(5, 5, 10, 10), 0.6)], box, lambda i: i[1]) == [(face, 0.6)]
    assert [k[1] for k in nms([(Box(5, 5, 10, 10), 0.99), (face, 0.6)], box, lambda i: i[1])] == [0.99, 0.6]


def test_box_voting_takes_the_score_weighted_mean_of_the_boxes_overlapping_each_kept_one() -> None:
    from f2a_studio.detect.nms import VOTE_IOU, voted_boxes

    best = (Box(0, 0, 100, 100), 0.6)
    near = (Box(20, 10, 100, 100), 0.3)  # IoU 0.6 with the best: votes
    on_the_edge = (Box(0, 0, 100, 200), 0.3)  # IoU exactly 0.5: votes
    past_the_edge = (Box(0, 0, 100, 201), 0.3)  # just under 0.5: does not
    unscored = (Box(10, 10, 100, 100), 0.0)  # no weight
    elsewhere = (Box(500, 0, 80, 80), 0.9)  # its own face: votes for itself only
    items = [best, near, on_the_edge, past_the_edge, unscored, elsewhere]
    assert VOTE_IOU == 0.5 and Box(0, 0, 100, 200).iou(best[0]) == 0.5 and Box(0, 0, 100, 201).iou(best[0]) < 0.5
    kept = nms(items, box, lambda i: i[1])
    assert kept == [elsewhere, best]
    got = voted_boxes(kept, items, box, lambda i: i[1])
    assert got[0] == elsewhere[0]
    expected = [(0.6 * a + 0.3 * b + 0.3 * c) / 1.2 for a, b, c in zip(best[0].to_list(), near[0].to_list(),
                                                                      on_the_edge[0].to_list(), strict=True)]
    assert got[1].to_list() == pytest.approx(expected)
    assert voted_boxes([best], [best], box, lambda i: i[1]) == [best[0]]  # alone, it stays
