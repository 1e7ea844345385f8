"""Adapting the landmark model to a project's faces without labels (detect/landmarks/adapt.py): the views'
geometry is exact, the agreement term trains, and `train-landmarks` adapts a project with no corrections
while holding back the same faces it measures on and leaving every face as it was.

Real networks at tiny widths, real training steps, real synthetic projects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.detect.cropnet import held_back_key, model_paths, save_model
from f2a_studio.detect.landmarks import choose_backend
from f2a_studio.detect.landmarks.adapt import (
    AdaptConfig,
    UnlabelledFace,
    mean_disagreement,
    to_image,
    train_adapted,
    view_pairs,
)
from f2a_studio.detect.landmarks.heatmap_net import HeatmapLandmarkNet, HeatmapNetConfig
from f2a_studio.detect.landmarks.learned import STEM
from f2a_studio.detect.landmarks.learned_train import (
    HELD_BACK,
    LmTrainConfig,
    NotEnoughLandmarks,
    project_faces,
    synth_samples,
    train_project,
)
from f2a_studio.detect.small_train import ResumeMismatch
from tests.learn_projects import synthetic_project

TINY = HeatmapNetConfig(32, (4, 8, 8))
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _faces(n: int = 4) -> list[UnlabelledFace]:
    return [UnlabelledFace(s.image, s.box, s.p_female) for s in synth_samples(5, n, ["round_simple"], size=96)]


def test_view_points_mapped_back_land_on_the_faces_points_for_shifted_turned_and_mirrored_views() -> None:
    from f2a_studio.core.ibug68 import MIRROR
    from f2a_studio.detect.landmarks.augment import random_crop_matrix

    samples = synth_samples(1, 3, ["round_simple"], size=96)
    size = 32
    views = AdaptConfig().views()
    rng = np.random.default_rng(0)
    mirrored_seen = False
    for s in samples:
        for _ in range(6):
            m, flip = random_crop_matrix(s.box, size, rng, views)
            crop_pts = s.points @ m[:, :2].T + m[:, 2]
            if flip:  # a perfect network names the mirrored crop's points as a mirror shows them
                crop_pts = crop_pts[list(MIRROR)]
            mirrored_seen |= flip
            inv = torch.tensor(__import__("cv2").invertAffineTransform(m)).float()[None]
            back = to_image(torch.tensor(crop_pts / size).float()[None], inv, torch.tensor([flip]), size)
            assert np.allclose(back[0].numpy(), s.points, atol=1e-3)
    assert mirrored_seen


def test_a_face_region_shows_the_network_the_same_crop_as_the_whole_picture() -> None:
    import cv2

    from f2a_studio.detect.cropnet import box_crop, box_matrix
    from f2a_studio.detect.landmarks.adapt import face_region

    s = synth_samples(2, 1, ["anime"], size=128)[0]
    big = cv2.resize(s.image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # a face side over 128 px
    page = np.full((big.shape[0] + 300, big.shape[1] + 200, 3), 255, np.uint8)
    page[250:250 + big.shape[0], 120:120 + big.shape[1]] = big
    box = (s.box[0] * 3 + 120, s.box[1] * 3 + 250, s.box[2] * 3, s.box[3] * 3)
    face = face_region(page, box, 0.5)
    assert max(face.box[2:]) <= 128.5 and face.image.size < page.size / 2
    whole = box_crop(page, box_matrix(box, 48), 48).astype(float)
    region = box_crop(face.image, box_matrix(face.box, 48), 48).astype(float)
    assert np.abs(whole - region).mean() < 6  # the same face, centred and sized alike (resampling aside)
    assert np.abs(whole - box_crop(page, box_matrix((box[0] + 20, *box[1:]), 48), 48)).mean() > 12


def test_a_network_blind_to_the_picture_disagrees_and_the_agreement_term_is_what_lowers_it() -> None:
    faces = _faces(6)
    anchor = synth_samples(6, 6, ["round_simple"], size=96)
    pairs = view_pairs(faces, 4, np.random.default_rng(1), TINY.size, AdaptConfig())
    assert pairs.crops[0].shape == (4, 3, 32, 32) and not torch.equal(pairs.crops[0], pairs.crops[1])
    after = {}
    for weight in (0.0, 1.0):  # the same steps on the synthetic anchor alone, then with the agreement term
        cfg = AdaptConfig(faces_batch=6, anchor_batch=6, anchor_faces=6, weight=weight)
        torch.manual_seed(0)
        net = HeatmapLandmarkNet(TINY)
        before = mean_disagreement(net, faces, cfg, pairs=24)
        assert before > 0.05  # points fixed in the crop move with each view: a tenth of a box side or so
        train_adapted(net, [], faces, LmTrainConfig(steps=150, batch=6, lr=1e-2), cfg, anchor=anchor)
        after[weight] = mean_disagreement(net, faces, cfg, pairs=24)
    assert after[1.0] < 0.8 * after[0.0]


def test_train_landmarks_adapts_a_project_without_corrections_and_measures_on_faces_it_held_back(
        tmp_path: Path) -> None:
    torch.manual_seed(0)
    save_model(tmp_path / "models", STEM, HeatmapLandmarkNet(TINY).state_dict(), {"net": TINY.to_json()})
    store, _ = synthetic_project(tmp_path / "p", 14, size=96)
    with store:
        before = {f.id: f for im in store.images() for f in store.faces(im.id)}
        train, held = project_faces(store)
        keys = {im.id: im.hash for im in store.images()}
        expected_held = sum(held_back_key(f"{keys[f.image_id]}:{f.id}") < HELD_BACK for f in before.values())
        assert len(train) + len(held) == 14 and len(held) == expected_held
        card = train_project(store, steps=8, base=[tmp_path / "models"], min_adapt_faces=10)
        assert card["data"]["adapted_faces"] == len(train) and card["data"]["corrected_faces"] == 0
        assert card["train"]["adapt"]["weight"] == AdaptConfig().weight
        assert "adapted" in card["notes"][0] and "without labels" in card["notes"][0]
        after_value = card["metrics"]["held_back_after"]["view_disagreement"]
        assert (after_value >= 0) if held else after_value is None
        assert model_paths(store.checkpoints_dir, STEM)[0].is_file()
        assert choose_backend([store.checkpoints_dir]).folder == store.checkpoints_dir
        after = {f.id: f for im in store.images() for f in store.faces(im.id)}
        assert after == before  # training reads the project; it changes no face


def test_without_adapting_a_project_without_corrections_is_still_refused(tmp_path: Path) -> None:
    store, _ = synthetic_project(tmp_path / "p", 11, size=96)
    with store:
        with pytest.raises(NotEnoughLandmarks, match="at least 10"):
            train_project(store, steps=2, base=[], adapt=False)
        rejected = [f for im in store.images() for f in store.faces(im.id)]
        from dataclasses import replace

        from f2a_studio.core.models import FaceStatus

        for f in rejected[:3]:  # rejected detections are not faces to adapt to: 8 left, under the 10 needed
            store.update_face(replace(f, status=FaceStatus.REJECTED), actor="human")
        with pytest.raises(NotEnoughLandmarks, match="found 8"):
            train_project(store, steps=2, base=[], min_adapt_faces=10)


def test_an_interrupted_adaptation_resumes_to_the_weights_of_one_that_never_stopped(tmp_path: Path) -> None:
    faces = _faces(4)
    anchor = synth_samples(6, 4, ["round_simple"], size=96)
    cfg = AdaptConfig(faces_batch=3, anchor_batch=3, anchor_faces=4)
    train_cfg = LmTrainConfig(steps=12, batch=3, lr=1e-2)

    def fresh() -> HeatmapLandmarkNet:
        torch.manual_seed(0)
        return HeatmapLandmarkNet(TINY)

    straight = fresh()
    train_adapted(straight, [], faces, train_cfg, cfg, anchor=anchor)
    stopped, resume = fresh(), tmp_path / "resume.pt"
    calls = iter(range(100))
    first = train_adapted(stopped, [], faces, train_cfg, cfg, anchor=anchor, resume=resume,
                          should_stop=lambda: next(calls) >= 5)
    assert first.interrupted and resume.is_file()
    again = fresh()  # a new process: the weights come from the resume file
    second = train_adapted(again, [], faces, train_cfg, cfg, anchor=anchor, resume=resume)
    assert second.resumed_from == first.steps_done and not second.interrupted
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, again.state_dict()[k], atol=1e-6), k
    with pytest.raises(ResumeMismatch, match="another training run"):  # other faces: not this run's file
        stopped2 = fresh()
        calls = iter(range(100))
        train_adapted(stopped2, [], faces, train_cfg, cfg, anchor=anchor, resume=resume,
                      should_stop=lambda: next(calls) >= 5)
        train_adapted(fresh(), [], faces[:3], train_cfg, cfg, anchor=anchor, resume=resume)
