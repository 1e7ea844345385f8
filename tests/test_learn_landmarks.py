"""The learned landmark model: first in the registry when its file is on the search path, fine-tuned on
the points a person placed (and only those), falling back when its file is corrupt.

Real networks of the real architecture at a tiny width, real training steps, real synthetic projects.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from f2a_studio.core.search_path import model_search_path
from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.landmarks import available_backends, choose_backend
from f2a_studio.detect.landmarks.learned import STEM
from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
from f2a_studio.detect.landmarks.learned_train import (
    LmTrainConfig,
    NotEnoughLandmarks,
    evaluate,
    project_samples,
    synth_samples,
    train_landmarks,
    train_project,
)
from f2a_studio.detect.refit import refit_face
from tests.learn_projects import synthetic_project

TINY = LandmarkNetConfig(widths=(4, 8, 8, 8), hidden=16)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _saved(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    return save_model(folder, STEM, LandmarkNet(TINY).state_dict(), {"net": TINY.to_json()})


def test_the_learned_model_is_first_when_its_file_is_on_the_search_path_and_gives_way_when_corrupt(
        tmp_path: Path) -> None:
    assert choose_backend(tmp_path).name == "template"
    weights = _saved(tmp_path / "m")
    assert available_backends(tmp_path / "m")[0] == "learned"
    backend = choose_backend(tmp_path / "m")
    assert backend.name == "learned" and backend.folder == tmp_path / "m"
    weights.write_bytes(weights.read_bytes()[:64])
    assert choose_backend(tmp_path / "m").name == "template"
    _saved(tmp_path / "n")  # a good model further down the path is used instead
    assert choose_backend([tmp_path / "m", tmp_path / "n"]).folder == tmp_path / "n"


@pytest.mark.parametrize("architecture", ["direct", "heatmap"])
def test_training_steps_lower_the_error_of_the_faces_trained_on(architecture: str) -> None:
    from f2a_studio.detect.landmarks.heatmap_net import HeatmapLandmarkNet, HeatmapNetConfig

    samples = synth_samples(3, 6, ["round_simple"], size=96)
    torch.manual_seed(0)
    net = LandmarkNet(TINY) if architecture == "direct" else HeatmapLandmarkNet(HeatmapNetConfig(32, (4, 8, 8)))
    before = evaluate(net, samples)["nme"]
    train_landmarks(net, samples, LmTrainConfig(steps=60, batch=8, lr=1e-2))
    assert evaluate(net, samples)["nme"] < 0.7 * before


def test_only_points_a_person_placed_are_learned_from(tmp_path: Path) -> None:
    store, truths = synthetic_project(tmp_path / "p", 3, size=96)
    with store:
        faces = [f for im in store.images() for f in store.faces(im.id)]
        moved = [36, 45, 30, 48, 54]
        f0 = faces[0]
        lm = list(f0.landmarks)
        for i in moved:
            x, y = truths[0].points()[i]
            lm[i] = (float(x), float(y), 2)
        store.update_face(replace(f0, landmarks=tuple(lm)), actor="human")
        store.update_face(replace(faces[1], landmarks=tuple((x + 3, y, v) for x, y, v in faces[1].landmarks)),
                          actor="model")  # a model's refit: not a correction
        train, held, counts = project_samples(store)
    samples = train + held
    assert counts["corrected_faces"] == 1 and len(samples) == 1
    assert sorted(np.nonzero(samples[0].mask)[0].tolist()) == sorted(moved)


def test_finetuning_a_tiny_project_makes_its_model_the_projects_first_backend(tmp_path: Path) -> None:
    _saved(tmp_path / "models")
    store, _ = synthetic_project(tmp_path / "p", 6, label_points=5, size=96)
    with store:
        card = train_project(store, steps=6, min_faces=4, base=[tmp_path / "models"])
        assert card["data"]["started_from"] == str(tmp_path / "models")
        assert card["data"]["points"] == 5 * 68 - sum(  # every point of the corrected faces but those outside
            1 for s in project_samples(store)[0] + project_samples(store)[1] for m in s.mask if not m)
        assert model_paths(store.checkpoints_dir, STEM)[0].is_file()
        path = model_search_path(store.root)
        backend = choose_backend(path)
        assert backend.name == "learned" and backend.folder == store.checkpoints_dir
        face = store.faces(store.images()[-1].id)[0]
        pixels = __import__("f2a_studio.core.imageio", fromlist=["load_image"]).load_image(
            store.cut_file(store.images()[-1])).pixels[:, :, :3]
        refitted = refit_face(pixels, face, search_path=[store.checkpoints_dir])
        template = refit_face(pixels, face, search_path=[])
        assert len(refitted.landmarks) == 68 and refitted.landmarks != template.landmarks


def test_a_project_without_corrected_landmarks_explains_what_is_needed(tmp_path: Path) -> None:
    from f2a_studio.cli import app

    synthetic_project(tmp_path / "p", 2, label_sex=2, size=96)[0].close()
    res = CliRunner().invoke(app, ["train-landmarks", str(tmp_path / "p")])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "has 0 such face(s)" in text and "at least 10" in text
    with pytest.raises(NotEnoughLandmarks):
        from f2a_studio.core.store import ProjectStore

        with ProjectStore.open(tmp_path / "p", read_only=True) as store:
            train_project(store)


def test_cli_train_landmarks_writes_a_card_with_held_back_nme(tmp_path: Path) -> None:
    from f2a_studio.cli import app

    _saved(tmp_path / "models")
    synthetic_project(tmp_path / "p", 5, label_points=5, size=96)[0].close()
    res = CliRunner().invoke(app, ["train-landmarks", str(tmp_path / "p"), "--steps", "3", "--min-faces", "3",
                                   "--json"], env={"F2A_MODELS": str(tmp_path / "models")})
    assert res.exit_code == 0, res.output
    card = json.loads(res.stdout.strip().splitlines()[-1])
    assert card["train"]["steps"] == 3 and card["metrics"]["held_back_after"]["nme"] > 0


def test_a_corrected_face_keeps_only_its_part_of_the_cut(tmp_path: Path) -> None:
    """A project's cuts are long strips: each training sample holds only its face's region (a box side of
    margin, the box side at most 128 px), and its points and box map back to the cut's pixels."""
    from f2a_studio.core.imageio import save_png_atomic
    from f2a_studio.core.importer import import_sources
    from f2a_studio.core.models import Box, Face
    from f2a_studio.core.store import ProjectStore
    from f2a_studio.core.strips import SplitOptions
    from f2a_studio.detect.landmarks.regions import MAX_SIDE
    from f2a_studio.synth.scene import make_character_image

    panel = make_character_image(np.random.default_rng(3), 400, style="anime")
    top = 1500  # the face far down a 400 × 3000 strip
    strip = np.full((3000, 400, 3), 255, np.uint8)
    strip[top:top + 400] = panel.image
    path = tmp_path / "sources" / "900001_1_000.png"
    save_png_atomic(path, strip)
    store = ProjectStore.create(tmp_path / "p")
    with store:
        import_sources(store, [path], workers=1, split=SplitOptions(min_aspect=100.0))  # kept whole
        (record,) = store.images()
        assert (record.height, record.width) == strip.shape[:2]  # one cut: the whole strip
        truth = panel.faces[0]
        x, y, w, h = truth.box
        points = truth.points() + np.array([0.0, top])
        face = store.add_face(Face(record.id, Box(x, y + top, w, h)), actor="detector")
        store.update_face(replace(face, landmarks=tuple((float(px), float(py), 2) for px, py in points)),
                          actor="human")
        train, held, counts = project_samples(store)
    (sample,) = train + held
    assert counts["corrected_faces"] == 1
    assert sample.image.shape[0] * sample.image.shape[1] < strip.shape[0] * strip.shape[1] / 4
    assert max(sample.box[2], sample.box[3]) <= MAX_SIDE + 1e-6
    bx, by, bw, bh = sample.box
    assert bx >= 0 and by >= 0 and bx + bw <= sample.image.shape[1] + 1 and by + bh <= sample.image.shape[0] + 1
    assert np.allclose(sample.region.to_cut(sample.points), points, atol=1e-6)
    assert Box(*sample.region.box_to_cut(sample.box)).iou(Box(x, y + top, w, h)) > 0.999
