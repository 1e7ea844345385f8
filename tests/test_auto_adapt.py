"""`f2a detect` adapts the landmark model to the project by itself (detect/landmarks/auto_adapt.py): when
it is due and when not (too few faces, already adapted, a person's --no-adapt model, an unreadable card),
that the run re-places only unreviewed faces' landmarks a person did not set, and the CLI's report.

Real synthetic projects, real networks at tiny widths, real training steps.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.models import FaceStatus
from f2a_studio.core.search_path import model_search_path
from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.landmarks import choose_backend
from f2a_studio.detect.landmarks.auto_adapt import COMMAND, adapt_after_detect, adaptation_due
from f2a_studio.detect.landmarks.heatmap_net import HeatmapLandmarkNet, HeatmapNetConfig
from f2a_studio.detect.landmarks.learned import STEM
from f2a_studio.detect.refit import refit_face
from tests.learn_projects import synthetic_project

TINY = HeatmapNetConfig(32, (4, 8, 8))
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _base(tmp_path: Path) -> list[Path]:
    torch.manual_seed(0)
    save_model(tmp_path / "models", STEM, HeatmapLandmarkNet(TINY).state_dict(), {"net": TINY.to_json()})
    return [tmp_path / "models"]


def _faces(store) -> dict:
    return {f.id: f for im in store.images() for f in store.faces(im.id)}


def test_adaptation_is_due_once_the_project_has_enough_likely_faces(tmp_path: Path) -> None:
    store, _ = synthetic_project(tmp_path / "p", 6, size=96)
    with store:
        decision = adaptation_due(store, min_faces=6)
        assert decision.due and decision.faces == 6 and "no landmark model" in decision.why
        weak = list(_faces(store).values())[:2]
        for f in weak:  # unlikely detections are no faces to adapt to
            store.update_face(replace(f, score=0.2), actor="model")
        decision = adaptation_due(store, min_faces=6)
        assert not decision.due and decision.faces == 4 and "once it has 6" in decision.why
        store.update_face(replace(store.face(weak[0].id), status=FaceStatus.ACCEPTED), actor="human")
        assert adaptation_due(store, min_faces=5).faces == 5  # a face a person accepted counts, whatever its score


def test_after_adapting_it_is_due_again_only_when_the_faces_double(tmp_path: Path) -> None:
    base = _base(tmp_path)
    store, _ = synthetic_project(tmp_path / "p", 12, size=96)
    with store:
        later = list(_faces(store).values())[6:]
        for f in later:
            store.update_face(replace(f, score=0.1), actor="model")
        report = adapt_after_detect(store, steps=3, base=base, min_faces=6)
        assert report.adapted_faces >= 1
        card = json.loads(model_paths(store.checkpoints_dir, STEM)[1].read_text())
        assert card["train"]["command"] == COMMAND and "adapt" in card["train"]
        seen = card["data"]["adapted_faces"] + card["data"]["held_back_unlabelled_faces"]
        assert seen == 6
        decision = adaptation_due(store, min_faces=6)
        assert not decision.due and "when the project has 12" in decision.why
        for f in later[:5]:  # a recalibration raised them: 11 likely faces, still under twice 6
            store.update_face(replace(store.face(f.id), score=0.9), actor="model")
        assert not adaptation_due(store, min_faces=6).due
        store.update_face(replace(store.face(later[5].id), score=0.9), actor="model")
        decision = adaptation_due(store, min_faces=6)
        assert decision.due and "adapted to 6 faces, the project now has 12" in decision.why


def test_a_model_trained_without_adapting_or_with_an_unreadable_card_is_left_alone(tmp_path: Path) -> None:
    store, _ = synthetic_project(tmp_path / "p", 6, size=96)
    with store:
        card = model_paths(store.checkpoints_dir, STEM)[1]
        save_model(store.checkpoints_dir, STEM, HeatmapLandmarkNet(TINY).state_dict(),
                   {"net": TINY.to_json(), "train": {"command": "f2a train-landmarks --no-adapt"}})
        decision = adaptation_due(store, min_faces=6)
        assert not decision.due and "--no-adapt" in decision.why
        card.write_text("{not json")
        decision = adaptation_due(store, min_faces=6)
        assert not decision.due and "cannot be read" in decision.why
        card.unlink()  # weights without a card are no model: the backend would not load them either
        assert adaptation_due(store, min_faces=6).due


def test_adapting_re_places_unreviewed_landmarks_and_never_what_a_person_set(tmp_path: Path) -> None:
    base = _base(tmp_path)
    store, _ = synthetic_project(tmp_path / "p", 10, size=96, label_points=2)
    with store:
        faces = list(_faces(store).values())
        reviewed = store.update_face(replace(faces[2], status=FaceStatus.ACCEPTED), actor="human")
        before = _faces(store)
        report = adapt_after_detect(store, steps=3, base=base, min_faces=6)
        after = _faces(store)
        human = {faces[0].id, faces[1].id, reviewed.id}
        assert all(after[i] == before[i] for i in human)  # points a person set, a face a person accepted
        assert set(report.repredicted) == set(before) - human  # random tiny net: every other face moves
        assert choose_backend(model_search_path(store.root)).folder == store.checkpoints_dir
        record = store.image(faces[5].image_id)
        from f2a_studio.core.imageio import load_image

        pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
        expected = refit_face(pixels, before[faces[5].id], None, model_search_path(store.root), record.domain)
        assert after[faces[5].id].landmarks == expected.landmarks  # the project's adapted model placed them
        assert (store.root / "checkpoints" / "review-signals.json").is_file()
        assert "re-placed the landmarks of 7" in report.text()


def test_f2a_detect_says_why_it_did_not_adapt_and_can_be_told_not_to(tmp_path: Path) -> None:
    store, _ = synthetic_project(tmp_path / "p", 3, size=96)
    store.close()
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "p"), "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    adaptation = json.loads(result.stdout.strip().splitlines()[-1])["landmark_adaptation"]
    assert adaptation["adapted"] is False and "adapts to the project once it has 20" in adaptation["why"]
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "p"), "--workers", "1", "--json",
                                      "--no-adapt-landmarks"])
    assert result.exit_code == 0, result.output
    assert "landmark_adaptation" not in json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # the job's own 300 steps (~40 s on 2 cores); the adapting itself is tested above, quicker
def test_the_studios_detection_job_adapts_too_and_says_so(tmp_path: Path, monkeypatch) -> None:
    from f2a_studio.core.jobs import CancelToken
    from f2a_studio.detect.landmarks.learned_train import MIN_ADAPT_FACES
    from f2a_studio.gui.main_window import describe_job_result
    from f2a_studio.gui.workers import detect_job

    base = _base(tmp_path)
    monkeypatch.setenv("F2A_MODELS", str(base[0]))  # the tiny network starts the adaptation, not the shipped one
    store, _ = synthetic_project(tmp_path / "p", MIN_ADAPT_FACES, size=96)
    with store:
        seen: list[str] = []
        report = detect_job(store, [])(lambda done, total, text="": seen.append(text), CancelToken())
        assert report.landmark_adaptation["adapted"] and any("adapting landmarks" in t for t in seen)
        assert "adapted the landmark model to the project's" in describe_job_result(report, None)
        again = detect_job(store, [])(lambda *a: None, CancelToken())  # nothing new: not again
        assert not again.landmark_adaptation["adapted"] and "adapts again when" in again.landmark_adaptation["why"]
