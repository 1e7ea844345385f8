"""The devset split of benchmarks/finder_devset.py: a one-picture title is cut in two, faces across the
cut are ignored in both halves, and each half's boxes are in that half's pixels. No devset picture needed."""

from __future__ import annotations

import numpy as np

from benchmarks.finder_devset import Item, _half


def test_a_one_picture_title_is_cut_in_two_and_faces_across_the_cut_are_ignored() -> None:
    px = np.zeros((200, 100, 3), np.uint8)  # tall: cut across the height at y = 100
    boxes = np.array([[10, 10, 20, 20], [10, 90, 20, 20], [50, 150, 30, 30]], np.float64)
    back = np.array([[60, 20, 10, 10]], np.float64)
    item = Item("p.png", "t", "manga", boxes, back)
    top, bottom = _half(item, px, True), _half(item, px, False)
    assert top.pixels.shape[:2] == (100, 100) and bottom.pixels.shape[:2] == (100, 100)
    assert top.boxes.tolist() == [[10, 10, 20, 20]]
    assert bottom.boxes.tolist() == [[50, 50, 30, 30]]
    # the face across the cut is ignored in both halves, clipped to what each shows; the back only on top
    assert [10, 90, 20, 10] in top.ignore.tolist() and [60, 20, 10, 10] in top.ignore.tolist()
    assert bottom.ignore.tolist() == [[10, 0, 20, 10]]
