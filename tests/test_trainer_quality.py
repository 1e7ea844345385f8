"""The keypoints → face quality figure (trainer/quality.py): the studio's landmark detector on generated faces
against the input keypoints, with its floor (real faces) and ceiling (shuffled keypoints), on a real export
of a synthetic project; logged by the loop and given again by `python -m trainer eval`."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from test_export_data import project_fixture  # noqa: F401  (fixture)
from trainer_data import paired_export, tiny

from f2a_studio.core.export_landmarks import read_landmarks
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, plan_export, run_export
from trainer.checkpoint import load_checkpoint
from trainer.cli import main as trainer_main
from trainer.data import check_export, make_dataset
from trainer.landmarker import prepare, studio_landmarker
from trainer.loop import train
from trainer.quality import derangement, evaluate, landmark_faces, nme

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def face_export(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("quality") / "exp"
    with ProjectStore.open(project.root, read_only=True) as store:
        run_export(plan_export(store, ExportOptions(format="pix2pix", size=64)), out)
    return out


@pytest.fixture(scope="module")
def face_run(face_export, tmp_path_factory):
    cfg = tiny(crop_size=64, load_size=72, unet_downs=6, max_steps=3)
    return train(face_export, cfg, tmp_path_factory.mktemp("quality") / "run", show_bar=False), cfg


def test_nme_is_over_the_truths_eye_distance_and_scale_free():
    rng = np.random.default_rng(0)
    truth = np.column_stack([rng.uniform(10, 50, (68, 2)), np.full(68, 2.0)])
    moved = truth[:, :2] + rng.normal(0, 1.5, (68, 2))
    assert nme(truth[:, :2], truth) == 0.0
    scaled = truth.copy()
    scaled[:, :2] *= 3
    assert nme(moved * 3, scaled) == pytest.approx(nme(moved, truth))
    iod = np.linalg.norm(truth[36:42, :2].mean(0) - truth[42:48, :2].mean(0))
    assert nme(moved, truth) == pytest.approx(np.linalg.norm(moved - truth[:, :2], axis=1).mean() / iod)
    unlabelled = truth.copy()
    unlabelled[:10, 2] = 0  # points the drawing left out do not count
    assert nme(moved, unlabelled) == pytest.approx(np.linalg.norm(moved - truth[:, :2], axis=1)[10:].mean() / iod)


@pytest.mark.parametrize("n", [2, 3, 7, 28])
def test_the_ceiling_compares_every_face_with_another_faces_keypoints(n):
    perm = derangement(n)
    assert sorted(perm.tolist()) == list(range(n)) and all(perm[i] != i for i in range(n))
    assert derangement(n).tolist() == perm.tolist()  # seeded: the same ceiling run to run
    with pytest.raises(ValueError, match="at least 2 faces"):
        derangement(1)


def test_a_generator_that_returns_the_real_face_scores_the_floor_and_one_that_ignores_keypoints_does_not(
        face_export):
    """The figure measures keypoint fidelity: outputs equal to the real B faces give exactly the floor, a
    constant face (the mean of the B faces: keypoints ignored) scores well above it."""
    layout = check_export(face_export, paired=True, split="val")
    dataset = make_dataset(layout, tiny(crop_size=64, load_size=64), augment=False)
    faces, detect, name, note = prepare(layout, "AtoB")
    assert note is None and name.startswith("learned")
    reals = [dataset[(0, i)]["B"] for i in range(len(dataset))]
    served = iter(reals)

    def real_face(a: torch.Tensor) -> torch.Tensor:
        return torch.stack([next(served) for _ in range(a.shape[0])])

    exact = evaluate(real_face, dataset, faces=faces, landmarker=detect, detector=name)
    assert exact.val_l1 == 0.0 and exact.landmarks is not None
    assert exact.landmarks.model == exact.landmarks.floor
    assert exact.landmarks.floor < exact.landmarks.ceiling
    mean_face = torch.stack(reals).mean(0)
    blind = evaluate(lambda a: mean_face.expand(a.shape[0], -1, -1, -1), dataset, faces=faces, landmarker=detect,
                     detector=name)
    assert blind.landmarks is not None and blind.landmarks.floor == exact.landmarks.floor
    assert blind.landmarks.model > exact.landmarks.floor


def test_training_logs_the_figure_with_the_val_l1_in_metrics_csv_and_the_checkpoint(face_run):
    result, _ = face_run
    q = result.quality
    values = (q["val_L1"], q["val_landmark_NME"], q["val_landmark_NME_floor"], q["val_landmark_NME_ceiling"])
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert q["val_landmark_NME_floor"] < q["val_landmark_NME_ceiling"]
    meta = load_checkpoint(result.checkpoint.record).meta
    assert q["val_landmark_faces"] == len(check_export(meta["data"], paired=True, split="val").a) >= 2
    assert meta["metrics"]["val_landmark_NME"] == q["val_landmark_NME"]
    with open(result.run / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [result.step]
    assert float(rows[0]["val_landmark_NME"]) == pytest.approx(q["val_landmark_NME"], rel=1e-5)
    assert float(rows[0]["val_L1"]) == pytest.approx(q["val_L1"], rel=1e-5)
    assert rows[0]["val_landmark_detector"].startswith("learned")


def test_trainer_eval_gives_the_logged_figures_again(face_run, face_export, capsys):
    result, _ = face_run
    assert trainer_main(["eval", str(result.checkpoint.record), "--data", str(face_export)]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("val_L1", "val_landmark_NME", "val_landmark_NME_floor", "val_landmark_NME_ceiling"):
        assert report[key] == pytest.approx(result.quality[key], rel=1e-5, abs=1e-7), key
    assert report["step"] == result.step and report["split"] == "val"


def test_without_landmarks_json_the_run_trains_and_says_why_there_is_no_figure(tmp_path):
    root = paired_export(tmp_path / "data", n=2)
    result = train(root, tiny(max_steps=1), tmp_path / "run", show_bar=False)
    assert math.isfinite(result.quality["val_L1"]) and "val_landmark_NME" not in result.quality
    assert "no landmarks.json" in result.quality["val_landmark_note"]
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row["val_landmark_NME"] == "" and float(row["val_L1"]) == pytest.approx(result.quality["val_L1"])


def test_a_validation_file_missing_from_landmarks_json_is_named(face_export):
    layout = check_export(face_export, paired=True, split="val")
    faces = read_landmarks(face_export)
    missing = layout.a[0].relative_to(face_export).as_posix()
    del faces[missing]
    with pytest.raises(ValueError, match=f"no keypoints for {missing}"):
        landmark_faces(layout, faces)


def test_an_unknown_landmark_backend_is_named():
    from trainer.landmarker import LandmarkerUnavailable

    with pytest.raises(LandmarkerUnavailable, match="unknown landmark backend 'nope'"):
        studio_landmarker(backend="nope")
