"""The devset split of benchmarks/finder_devset.py: a one-picture title is cut in two, faces across the
cut are ignored in both halves, and each half's boxes are in that half's pixels. No devset picture needed."""

from __future__ import annotations

import numpy as np

from benchmarks.finder_devset import Item, Unit, _half
from benchmarks.finder_devset_merged import fit_map, held_back, merge
from f2a_studio.core.models import Box


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


def _unit(name: str, boxes: list[list[float]]) -> Unit:
    return Unit(name, "t", "webtoon", np.zeros((100, 100, 3), np.uint8), np.array(boxes, np.float64).reshape(-1, 4))


def test_the_merged_benchmark_holds_back_a_fixed_fifth_with_faces_in_it() -> None:
    units = [_unit(f"p{i:02d}.png", [[10, 10, 20, 20]] if i % 3 else []) for i in range(20)]
    tune, held = held_back(units)
    assert held and any(len(u.boxes) for u in held)
    assert {u.name for u in tune}.isdisjoint(u.name for u in held) and len(tune) + len(held) == len(units)
    assert {u.name for u in held_back(units[::-1])[1]} == {u.name for u in held}  # order-free


def test_the_merged_benchmark_maps_scores_and_merges_finders_by_nms() -> None:
    units = [_unit(f"p{i}.png", [[10, 10, 20, 20]]) for i in range(6)]
    # a hit on the face scores high, a false alarm elsewhere scores low: the map ranks them apart
    preds = [[(10.0, 10.0, 20.0, 20.0, 0.9), (60.0, 60.0, 20.0, 20.0, 0.3)] for _ in units]
    fit = fit_map(units, preds, "test")
    assert fit.positives == 6 and fit.negatives == 6
    assert fit.calibration(0.9) > 0.5 > fit.calibration(0.3)
    anime = [[(11.0, 10.0, 20.0, 20.0, 0.6)]]
    learned = [[(10.0, 10.0, 20.0, 20.0, 0.8), (60.0, 60.0, 20.0, 20.0, 0.2)]]
    (merged,) = merge(anime, learned)
    assert [p[4] for p in merged] == [0.8, 0.2]  # one box per face, the best score kept


def test_the_verifier_benchmark_builds_the_products_data_and_learns_faces_from_crops(tmp_path, monkeypatch) -> None:
    """benchmarks/verifier_devset: the product's training data from each unit (its box, the finder's
    proposals labelled by IoU, stored animeface detections that match no box as rejected ones), a few real
    training steps on synthetic faces rank the face above a corner of background, the map keeps that order
    and the NMS one box per face; without the devset pictures the run says it skipped."""
    from benchmarks import verifier_devset as vd
    from f2a_studio.synth.scene import make_character_image

    rng = np.random.default_rng(4)
    units, proposals, stored = [], [], []
    for i in range(8):
        panel = make_character_image(rng, 160)
        box = list(panel.faces[0].box)
        units.append(Unit(f"s{i}.png", "t", "synthetic", panel.image[:, :, :3].copy(), np.array([box])))
        proposals.append([(*box, 0.7), (2.0, 2.0, 30.0, 30.0, 0.4)])  # the face, and a corner of background
        stored.append([(*box, 0.8), (120.0, 120.0, 36.0, 36.0, 0.5)])  # accepted, and one a person rejected
    data, counts = vd.verifier_data(units, proposals, stored)
    assert counts["boxed_faces"] == counts["proposals_on_faces"] == counts["other_proposals"] == 8
    assert counts["rejected"] == 8 and data.faces == 16 and data.others == len(data) - 16
    verifier, _seconds, started = vd.train(data, 60, 0)
    assert started["init"] != "random"  # the shipped pretrained verifier is on the search path
    cands = vd.candidates(units, proposals)
    mixed = vd.mixed(verifier, units, cands)
    assert sum(face[4] > corner[4] for face, corner in mixed) >= 7
    vd.with_map(verifier, units, cands)
    rescored = vd.rescored(verifier, units, cands)
    assert all(len(kept) == 2 for kept in rescored)  # two boxes apart: the NMS keeps both
    # the first box kept is the face's (the box head may have moved it a little), not the corner's
    firsts = [Box(*kept[0][:4]).iou(Box(*unit.boxes[0])) > 0.5 for unit, kept in zip(units, rescored, strict=True)]
    assert sum(firsts) >= 7  # the map kept the verifier's order
    # self-training data: the mapped verifier's sure answers, as labelled crops (at most 1 "other" per unit)
    cut = float(np.median([p[4] for kept in rescored for p in kept]))
    pseudo, n = vd.pseudo_labelled(verifier, units, cands, cut, cut, others_per_unit=1)
    shown = [p for kept in rescored for p in kept]
    assert n["pseudo_faces"] == pseudo.faces == sum(p[4] >= cut for p in shown) > 0
    assert n["pseudo_others"] == pseudo.others <= len(units) and len(pseudo) == pseudo.faces + pseudo.others
    monkeypatch.setenv("F2A_DEVSET_IMAGES", str(tmp_path))
    assert "skipped" in vd.run(tmp_path, folds=(1,))
