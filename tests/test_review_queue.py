"""The uncertainty-first review queue: order, explanations, determinism, "reviewed enough"."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from f2a_studio.core.models import Box, Face, FaceStatus, Sex
from f2a_studio.core.review_queue import remaining_below, review_order


def test_queue_order_is_explained_deterministic_and_leaves_out_what_a_person_settled(tmp_path: Path) -> None:
    from tests.learn_projects import synthetic_project

    store, _ = synthetic_project(tmp_path / "p", 5, size=96)
    with store:
        faces = [f for im in store.images() for f in store.faces(im.id)]
        # predictions of varied certainty, written as a model would
        for f, score, sex, prob in zip(faces, [0.95, 0.55, 0.9, 0.99, 0.97], ["female", "male", "female", "male",
                                                                             "female"], [0.99, 0.9, 0.52, 0.97, 0.99],
                                       strict=True):
            store.update_face(replace(f, score=score, sex=Sex(sex), sex_prob=prob), actor="model")
        faces = [f for im in store.images() for f in store.faces(im.id)]
        dis = {faces[3].id: 0.18}
        order = review_order(faces, dis)
        assert [it.face_id for it in order[:3]] == [faces[2].id, faces[1].id, faces[3].id]
        assert order[0].explain().startswith("sex uncertain 0.52")
        assert "landmarks disagree 0.18 NME" in order[2].explain()
        assert "sex predicted 0.97" in order[2].explain()  # a sure guess is not called uncertain
        assert "sex uncertain 0.90" not in order[1].explain() and "sex predicted 0.90" in order[1].explain()
        shuffled = faces[:]
        random.Random(1).shuffle(shuffled)
        assert review_order(shuffled, dict(dis)) == order  # same state, same queue
        # a person settles the most uncertain face's sex and accepts it: its sex and box leave the queue
        top = next(f for f in faces if f.id == order[0].face_id)
        store.update_face(replace(top, sex=Sex.MALE, sex_prob=1.0, status=FaceStatus.ACCEPTED), actor="human")
        again = review_order([f for im in store.images() for f in store.faces(im.id)], dis)
        assert all("sex" not in t for it in again if it.face_id == top.id for t, _ in it.reasons)
        assert order[0].face_id not in [it.face_id for it in again]
        assert remaining_below(order, 0.5) > remaining_below(again, 0.5)


def test_reviewed_enough_counts_the_faces_below_a_confidence() -> None:
    faces = [Face(1, Box(0, 0, 10, 10), id=i, score=s, sex=Sex.FEMALE, sex_prob=0.99)
             for i, s in enumerate([0.5, 0.6, 0.8, 0.99], start=1)]
    items = review_order(faces)
    confidences = sorted(it.confidence for it in items)
    assert remaining_below(items, 1.01) == 4
    assert remaining_below(items, confidences[2]) == 2
    assert remaining_below(items, 0.0) == 0
