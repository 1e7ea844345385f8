"""Re-detection after a finder retrain (gui/learn/retrain.py, Qt-free job): the real `f2a train-finder`
subprocess fine-tunes the finder on the project's reviewed cuts, then every cut no person touched is
detected again with the project's new model, and the faces of cuts a person touched stay byte for byte."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.models import Box, FaceStatus
from f2a_studio.core.search_path import PACKAGE_MODELS
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.pipeline import DetectOptions
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.learn.retrain import RetrainOptions, retrain_job, untouched_cuts


def rows(store: ProjectStore, image_ids) -> dict[int, tuple]:
    ids = ",".join(str(i) for i in image_ids)
    return {r["id"]: tuple(r) for r in store.query(f"SELECT * FROM faces WHERE image_id IN ({ids}) ORDER BY id")}


@pytest.mark.slow
def test_a_finder_retrain_redetects_untouched_cuts_with_the_new_model_and_leaves_touched_ones(tmp_path: Path,
                                                                                           one_torch_thread) -> None:
    project = make_demo_project(tmp_path / "p", cuts=5, faces_per_cut=(2,), size=(420, 620), durability="normal")
    with ProjectStore.open(project) as store:
        images = [im.id for im in store.images()]
        # cuts 0 and 1 fully reviewed (the finder's training data); on cut 2 a person moved one box
        for image_id in images[:2]:
            for face in store.faces(image_id):
                store.update_face(replace(face, status=FaceStatus.ACCEPTED))
        moved = store.faces(images[2])[0]
        x, y, w, h = moved.box.to_list()
        store.update_face(replace(moved, box=Box(x + 4, y + 3, w, h)))
        touched, untouched = images[:3], images[3:]
        assert untouched_cuts(store) == untouched
        before_touched = rows(store, touched)
        before_untouched = {i: [f.finder_sha256 for f in store.faces(i)] for i in untouched}

        report = retrain_job(store, RetrainOptions(models=("finder",), steps=2, min_faces=2, threads=1,
                                                   calibrate=False, detect_options=DetectOptions(workers=1)))(
            lambda *a: None, CancelToken())

        assert report.state("finder") == "trained", report.summary()
        finder_step = next(s for s in report.steps if s.name == "finder")
        assert "crop verifier" in finder_step.message  # the verifier is trained with it, on or off
        assert report.redetected == untouched
        weights = project / "checkpoints" / "finder-learned.safetensors"
        sha = hashlib.sha256(weights.read_bytes()).hexdigest()
        assert sha != hashlib.sha256((PACKAGE_MODELS / weights.name).read_bytes()).hexdigest()
        for image_id in untouched:  # each untouched cut's faces now come from the project's new finder
            faces = store.faces(image_id)
            assert faces, f"cut {image_id} lost its faces"
            assert all(f.finder == "learned" and f.finder_sha256 == sha for f in faces), \
                [(f.finder, f.finder_model, f.finder_sha256[:8], sha[:8]) for f in faces]
            assert before_untouched[image_id] != [f.finder_sha256 for f in faces]
            assert all(f.status is FaceStatus.UNREVIEWED and not f.human_fields for f in faces)
        assert rows(store, touched) == before_touched, "re-detection changed a cut a person had touched"
