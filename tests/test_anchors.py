"""Fast correction: anchors placed, the rest refitted at once, only the anchors counting as human points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from f2a_studio.core.provenance import human_faces
from f2a_studio.detect.anchors import anchor_indices, anchors_of, corrected_face
from f2a_studio.detect.landmarks.learned_train import nme
from tests.learn_projects import synthetic_project


def test_anchors_pull_the_fit_onto_the_truth_and_only_they_become_human_points(tmp_path: Path) -> None:
    # the model's landmarks are badly off (the mean face dropped 15 px to the right)
    off = np.array([15.0, 0.0])
    store, truths = synthetic_project(tmp_path / "p", 2, size=128, landmarks=lambda t: t.points() + off)
    with store:
        face = store.faces(store.images()[0].id)[0]
        t = truths[0].points()
        anchors = {"left_eye": tuple(t[36:42].mean(0)), "right_eye": tuple(t[42:48].mean(0)), "nose": tuple(t[30]),
                   "mouth_left": tuple(t[48]), "mouth_right": tuple(t[54]), "chin": tuple(t[8])}
        before = nme(np.asarray(face.landmarks), t)
        fixed, prov = corrected_face(face, anchors)
        after = nme(np.asarray(fixed.landmarks), t)
        assert after < 0.5 * before
        for name, idx in (("nose", 30), ("mouth_left", 48), ("chin", 8)):
            assert np.allclose(fixed.landmarks[idx][:2], anchors[name], atol=1e-6)
        assert np.allclose(np.asarray(fixed.landmarks)[36:42, :2].mean(0), anchors["left_eye"], atol=1e-6)
        stored = store.update_face(fixed, actor="human", restore=prov)  # one edit: one undo step
        assert stored.human_points == anchor_indices(anchors) == frozenset({8, 30, 48, 54, *range(36, 48)})
        [h] = human_faces(store)
        assert h.face_id == face.id and h.points == anchor_indices(anchors) and "landmarks" in stored.human_fields
        assert anchors_of(face) == {}  # a model's face: nothing a person placed
        back = anchors_of(stored)  # what the Place Anchors mode shows when it opens on the face again
        assert set(back) == set(anchors)
        for name, pos in anchors.items():
            assert np.allclose(back[name], pos, atol=1e-6)


def test_an_eye_counts_as_an_anchor_only_when_all_its_six_points_are_a_persons(tmp_path: Path) -> None:
    from dataclasses import replace

    store, _truths = synthetic_project(tmp_path / "p", 1, size=128)
    with store:
        face = store.faces(store.images()[0].id)[0]
    partial = replace(face, human_points=frozenset({36, 37, 38, 39, 40, 30}))
    assert set(anchors_of(partial)) == {"nose"}
    whole = replace(face, human_points=frozenset(range(42, 48)))
    assert set(anchors_of(whole)) == {"right_eye"}
    assert anchors_of(replace(face, landmarks=())) == {}
