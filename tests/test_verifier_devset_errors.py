"""benchmarks/verifier_devset.errors: how the shown boxes' mistakes are counted (no devset pictures needed)."""

from __future__ import annotations

import numpy as np

from benchmarks.finder_devset import Unit
from benchmarks.verifier_devset import errors, hits_iou, shown_boxes, unit_facts


def test_each_false_alarm_and_miss_is_put_in_its_kind() -> None:
    unit = Unit("p", "t", "scene", np.zeros((200, 400, 3), np.uint8),
                np.array([[10, 10, 40, 40], [100, 10, 40, 40], [300, 100, 40, 40]], float))
    preds = [[(10, 10, 40, 40, 0.9),  # hit on face 0
              (12, 12, 40, 40, 0.8),  # a second box on face 0
              (125, 10, 40, 40, 0.7),  # IoU ~0.23 with face 1: a near miss
              (200, 150, 30, 30, 0.6),  # on nothing
              (300, 100, 40, 40, 0.1)]]  # face 2's box, below the threshold: face 2 missed
    cands = [[(300, 100, 40, 40, 0.1)]]  # ... though a candidate reached it; face 1 had none at IoU 0.3
    assert errors([unit], preds, cands, threshold=0.5) == {
        "hits": 1, "duplicate": 1, "near_miss": 1, "background": 1,
        "missed_with_candidate": 1, "missed_without_candidate": 1,
        "missed_by": {"kind scene": {"faces": 3, "missed": 2}, "side 32-64": {"faces": 3, "missed": 2}}}


def test_hits_and_shown_boxes_use_the_same_matching() -> None:
    unit = Unit("p", "t", "manga", np.full((100, 200, 3), 128, np.uint8),
                np.array([[10, 10, 40, 40], [100, 10, 40, 40]], float))
    preds = [[(10, 10, 40, 40, 0.9), (10, 10, 40, 40, 0.85),  # a hit, then a duplicate of it
              (100, 10, 40, 50, 0.4)]]  # IoU 0.8 with face 1, shown only below 0.5
    assert hits_iou([unit], preds, 0.5) == {"hits": 1, "mean_iou": 1.0, "share_iou_0.5": 1.0}
    assert hits_iou([unit], preds, 0.3) == {"hits": 2, "mean_iou": 0.9, "share_iou_0.5": 1.0}
    assert shown_boxes([unit], preds) == [
        ["p", 0.9, True, 10, 10, 40, 40], ["p", 0.85, False, 10, 10, 40, 40], ["p", 0.4, True, 100, 10, 40, 50]]
    assert unit_facts([unit]) == [{"unit": "p", "kind": "manga", "title": "t", "faces": 2, "grey": True}]


def test_a_missed_face_is_put_where_it_was_lost() -> None:
    unit = Unit("p", "t", "manga", np.zeros((200, 400, 3), np.uint8),
                np.array([[10, 10, 40, 40], [100, 10, 40, 40], [200, 10, 40, 40], [300, 10, 40, 40]], float))
    cands = [[(10, 10, 40, 40, 0.5), (100, 10, 40, 40, 0.5), (200, 10, 40, 40, 0.5)]]  # none on face 3
    moved = [[(10, 10, 40, 40, 0.2),  # face 0: still there after the verifier, scored low
              (100, 10, 40, 40, 0.6),  # face 1: still reached after the move ...
              (200, 120, 40, 40, 0.5)]]  # face 2: moved off it
    shown = [[(10, 10, 40, 40, 0.2), (90, 0, 80, 80, 0.7)]]  # ... but the NMS kept a larger box around it
    out = errors([unit], shown, cands, threshold=0.5, moved=moved)
    assert out["lost_at"] == {"rank": 1, "nms": 1, "refine": 1}
    assert out["lost_at_nms_to"] == {"inside by a box on this face": 1}
    assert (out["missed_with_candidate"], out["missed_without_candidate"]) == (3, 1)


def test_the_simulated_review_refits_a_map_that_kept_every_face_under_the_slider() -> None:
    """benchmarks/verifier_devset.recalibrated: a card map that puts faces (combined 0.6) and false alarms
    (0.2) both between 0.3 and 0.5 shows nothing at 0.5; the decisions on one half's boxes (faces
    accepted, the rest rejected) refit it so that 0.5 keeps the other half's faces and drops the rest."""
    from pathlib import Path

    from benchmarks.verifier_devset import recalibrated, review_halves
    from f2a_studio.detect.finders.calibration import ScoreMap
    from f2a_studio.detect.verifiers.learned import LearnedVerifier
    from f2a_studio.detect.verifiers.recalibrate import HELD_BACK_KEY

    faces = np.array([[10 + 60 * i, 10, 40, 40] for i in range(4)], float)
    units = [Unit(f"u{k}", "t", "scene", np.zeros((300, 300, 3), np.uint8), faces) for k in range(4)]
    combined = [[(*f, 0.6) for f in faces.tolist()] + [(20, 200, 40, 40, 0.2), (150, 200, 40, 40, 0.2)]
                for _ in units]
    verifier = LearnedVerifier(Path("."))
    verifier.calibration = ScoreMap("platt", 0.2, -0.2)
    verifier.card = {HELD_BACK_KEY: [[0.6, 1], [0.2, 0], [0.6, 1], [0.2, 0]]}
    assert 0.3 < verifier.calibration(0.2) < verifier.calibration(0.6) < 0.5
    out = recalibrated(verifier, units, combined)
    first, second = review_halves(units)
    assert sorted(first + second) == [0, 1, 2, 3] and len(first) == len(second) == 2
    for half in out["halves"]:
        assert half["decisions"] == {"accepted": 8, "rejected": 4}
        assert half["card"]["at_0.5"]["recall"] == 0.0 and half["card"]["at_0.3"]["recall"] == 1.0
        refitted = half["refitted"]["at_0.5"]
        assert (refitted["recall"], refitted["precision"], refitted["predictions"]) == (1.0, 1.0, 8)
    assert out["mean_of_halves"]["refitted"]["at_0.5"] == {"recall": 1.0, "precision": 1.0}


def test_the_candidates_dump_names_each_candidates_finder_and_whether_it_hits_a_face() -> None:
    from pathlib import Path

    from benchmarks.verifier_devset import candidate_rows
    from f2a_studio.detect.finders.calibration import ScoreMap
    from f2a_studio.detect.verifiers.learned import LearnedVerifier

    unit = Unit("p", "t", "manga", np.zeros((100, 200, 3), np.uint8), np.array([[10, 10, 40, 40]], float))
    verifier = LearnedVerifier(Path("."))
    verifier.calibration = ScoreMap("platt", 2.0, 0.0)
    detailed = [[(12, 10, 40, 40, 0.5, 0.6, 0.4), (150, 50, 30, 30, 0.2, 0.1, 0.5)]]  # box, combined, p, score
    rows = candidate_rows([unit], detailed, [1], verifier)
    assert rows == [["p", "animeface", 12, 10, 40, 40, 0.4, 0.6, 0.5, 0.5, True],
                    ["p", "learned", 150, 50, 30, 30, 0.5, 0.1, 0.2, round(verifier.calibration(0.2), 5), False]]
