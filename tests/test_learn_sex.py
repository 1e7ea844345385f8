"""The sex classifier: training on a project's labels, predictions that stay predictions, fallbacks.

Real networks of the real architecture (a few training steps), real synthetic projects through the
importer and the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from f2a_studio.core.models import Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.sex import apply_prediction, choose_sex_backend
from f2a_studio.detect.sex.backends import STEM, SexPrediction
from f2a_studio.detect.sex.net import SexNet, SexNetConfig
from f2a_studio.detect.sex.train import NotEnoughLabels, predict_project, train_project
from tests.learn_projects import synthetic_project

TINY = SexNetConfig(widths=(4, 8, 8, 8))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _saved(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    net = SexNet(TINY)
    return save_model(folder, STEM, net.state_dict(), {"net": TINY.to_json()})


def test_training_on_a_tiny_project_writes_a_model_that_the_project_then_uses(tmp_path: Path) -> None:
    _saved(tmp_path / "models")
    store, _ = synthetic_project(tmp_path / "p", 10, label_sex=9, size=96)
    with store:
        card = train_project(store, steps=8, min_faces=6, base=[tmp_path / "models"])
        weights, card_file = model_paths(store.checkpoints_dir, STEM)
        assert weights.is_file() and card_file.is_file()
        on_disk = json.loads(card_file.read_text())
        assert on_disk["train"]["steps"] == 8 and on_disk["data"]["started_from"] == str(tmp_path / "models")
        labelled = on_disk["data"]["train_faces"] + on_disk["data"]["held_back_faces"]
        assert labelled == 9 == card["data"]["labelled_faces"]
        assert 0.0 <= card["metrics"]["held_back_after"]["accuracy"] <= 1.0
        chosen = choose_sex_backend([store.checkpoints_dir, tmp_path / "models"])
        assert chosen.backend.name == "learned" and chosen.backend.folder == store.checkpoints_dir
        assert chosen.notes == []


def test_predictions_never_overwrite_a_sex_a_person_set(tmp_path: Path) -> None:
    store, truths = synthetic_project(tmp_path / "p", 5, size=96)
    _saved(tmp_path / "models")
    with store:
        faces = [f for im in store.images() for f in store.faces(im.id)]
        # a person labels two faces, one of them against what any model would say (the wrong sex)
        wrong = Sex.MALE if truths[0].sex == "female" else Sex.FEMALE
        from dataclasses import replace

        store.update_face(replace(faces[0], sex=wrong, sex_prob=1.0), actor="human")
        store.update_face(replace(faces[1], sex=Sex(truths[1].sex), sex_prob=1.0), actor="human")
        report = predict_project(store, [tmp_path / "models"])
        after = {f.id: f for im in store.images() for f in store.faces(im.id)}
        assert report["backend"] == "learned" and report["kept_human"] == 2
        assert after[faces[0].id].sex is wrong and after[faces[0].id].sex_prob == 1.0
        assert after[faces[1].id].sex is Sex(truths[1].sex)
        predicted = [after[f.id] for f in faces[2:]]
        assert all(f.sex is not Sex.UNKNOWN and 0.5 <= f.sex_prob <= 1.0 for f in predicted)
        assert all("sex" not in f.human_fields for f in predicted), "a model's write counted as human work"
        assert report["predicted"] == len(predicted)
    # the pure rule too: a human sex wins over any prediction
    human = replace(after[faces[0].id])
    assert apply_prediction(human, SexPrediction(0.99, "learned")) == human


def test_a_project_with_no_labelled_faces_explains_what_is_needed(tmp_path: Path) -> None:
    store, _ = synthetic_project(tmp_path / "p", 3)
    with store, pytest.raises(NotEnoughLabels) as err:
        train_project(store, steps=2)
    text = str(err.value)
    assert "has 0" in text and "at least 20" in text and "F / M" in text
    res = CliRunner().invoke(__import__("f2a_studio.cli", fromlist=["app"]).app, ["train-sex", str(tmp_path / "p")])
    assert res.exit_code == 2 and "at least 20" in " ".join(res.output.split())
    assert not (tmp_path / "p" / "checkpoints" / f"{STEM}.safetensors").exists()


@pytest.mark.parametrize("damage", ["truncated", "pickle", "card"])
def test_a_corrupt_checkpoint_falls_back_to_the_next_model_with_a_message(tmp_path: Path, damage: str) -> None:
    bad = _saved(tmp_path / "project" / "checkpoints")
    _saved(tmp_path / "shipped", seed=1)
    if damage == "truncated":
        bad.write_bytes(bad.read_bytes()[:100])
    elif damage == "pickle":
        torch.save({"x": torch.zeros(1)}, bad)
    else:
        model_paths(bad.parent, STEM)[1].write_text("{not json")
    chosen = choose_sex_backend([bad.parent, tmp_path / "shipped"])
    assert chosen.backend.name == "learned" and chosen.backend.folder == tmp_path / "shipped"
    assert any(str(bad.parent) in n and "skipped" in n for n in chosen.notes), chosen.notes
    # nothing loadable at all: the template fit's p(female), said so
    chosen = choose_sex_backend([bad.parent])
    assert chosen.backend.name == "template" and any("template" in n for n in chosen.notes)


def test_cli_train_sex_trains_and_prefills_the_rest_as_predictions(tmp_path: Path) -> None:
    from f2a_studio.cli import app

    _saved(tmp_path / "models")
    synthetic_project(tmp_path / "p", 8, label_sex=7, size=96)[0].close()
    res = CliRunner().invoke(app, ["train-sex", str(tmp_path / "p"), "--steps", "4", "--min-faces", "6", "--json"],
                             env={"F2A_MODELS": str(tmp_path / "models")})
    assert res.exit_code == 0, res.output
    card = json.loads(res.stdout.strip().splitlines()[-1])
    assert card["predicted"]["backend"] == "learned" and card["predicted"]["kept_human"] == 7
    with ProjectStore.open(tmp_path / "p", read_only=True) as store:
        faces = [f for im in store.images() for f in store.faces(im.id)]
    assert sum("sex" in f.human_fields for f in faces) == 7
    assert all(f.sex is not Sex.UNKNOWN for f in faces)
    assert np.all([f.sex_prob is not None for f in faces])
