"""The project's own finder and score calibrations in use: which finders run by default, `f2a faces --project`,
`f2a detect` on a project with its own finder, and `f2a calibrate` refitting scores from review decisions.

Real pretrained learned finder (shipped in f2a_studio/resources/models/), real worker processes, real SQLite
projects; the decisions are made through the store as a person's edits are.
"""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Box, Face, FaceStatus
from f2a_studio.core.search_path import PACKAGE_MODELS, model_search_path
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders import choose_finders, default_finders, load_finders
from f2a_studio.detect.finders.calibration import ScoreMap, calibration_for
from f2a_studio.detect.finders.learned_io import CARD_NAME, WEIGHTS_NAME, sha256_file
from f2a_studio.detect.finders.learned_project import held_back_calibration
from f2a_studio.detect.finders.learned_train import Scored
from f2a_studio.detect.finders.project_calibration import (
    BASE_FEATURE,
    MIN_ACCEPTED,
    Recalibrated,
    base_score,
    calibration_file_name,
    project_map,
)
from f2a_studio.detect.finders.score_fit import isotonic_fit
from f2a_studio.synth.scene import make_panel

runner = CliRunner()


def _own_finder(project: Path, out: Path | None = None) -> str:
    """The project's own learned finder: the shipped weights under a card that is on by default (what
    `f2a train-finder` writes), in checkpoints/ or ``out``. Returns the weights' sha256."""
    out = out or project / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(PACKAGE_MODELS / WEIGHTS_NAME, out / WEIGHTS_NAME)
    card = json.loads((PACKAGE_MODELS / CARD_NAME).read_text())
    card["on_by_default"] = True
    (out / CARD_NAME).write_text(json.dumps(card))
    return sha256_file(out / WEIGHTS_NAME)


def _scene(path: Path, seed: int = 3) -> Path:
    panel = make_panel(np.random.default_rng(seed), 320, 320, n_faces=2, style="anime", border=False)
    Image.fromarray(panel.image).save(path)
    return path


# -- score fitting ------------------------------------------------------------------------------------


def test_isotonic_fit_is_monotone_and_follows_the_labels() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 400)
    labels = rng.uniform(0, 1, 400) < scores**2  # P(face) = score²: low scores mostly false alarms
    fit = isotonic_fit(scores, labels)
    ys = [y for _, y in fit.calibration.knots]
    assert all(b >= a for a, b in itertools.pairwise(ys))
    assert fit.calibration(0.1) < 0.2 < 0.6 < fit.calibration(0.95)
    assert abs(fit.calibration(0.5) - 0.25) < 0.15
    assert (fit.positives, fit.negatives) == (int(labels.sum()), int((~labels).sum()))


def test_isotonic_fit_does_not_trust_a_lucky_few_at_the_top() -> None:
    # two top proposals that happen to be faces: the prior keeps them off "certain"
    fit = isotonic_fit([0.1, 0.2, 0.3, 0.4, 0.9, 0.95, 0.35, 0.25], [0, 0, 1, 0, 1, 1, 0, 1])
    assert fit.calibration(1.0) < 0.95


def test_isotonic_fit_says_what_it_needs() -> None:
    with pytest.raises(F2AError, match=r"1 face\(s\) and 2 non-face\(s\).*at least 3 and 3"):
        isotonic_fit([0.9, 0.1, 0.2], [True, False, False])
    with pytest.raises(F2AError, match="finite"):
        isotonic_fit([0.9, float("nan"), 0.2, 0.3, 0.4, 0.5], [1, 0, 1, 0, 1, 0])
    with pytest.raises(F2AError, match="one length"):
        isotonic_fit([0.9, 0.1], [True])


def test_train_finder_calibration_comes_from_held_back_proposals_or_says_why() -> None:
    scored = Scored(np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]),
                    np.array([1, 1, 0, 1, 0, 1, 0, 0], bool), 5)
    block, note = held_back_calibration(scored)
    assert block is not None and not note
    score_map = ScoreMap.from_json(block, "card")
    assert score_map(0.95) > score_map(0.35)
    none, why = held_back_calibration(Scored(np.array([0.9, 0.8]), np.array([1, 1], bool), 2))
    assert none is None and "needs at least" in why


# -- which finders run -------------------------------------------------------------------------------


def test_the_pretrained_learned_finder_runs_only_when_named(tmp_path: Path) -> None:
    shipped = model_search_path()
    assert "learned" not in default_finders(shipped)  # its card: on real pages it hurts (finder_devset)
    assert choose_finders(["learned"], shipped) == ["learned"]  # opt-in still works
    project = tmp_path / "p"
    ProjectStore.create(project).close()
    _own_finder(project)
    assert {"animeface", "learned"} <= set(default_finders(model_search_path(project)))


@pytest.mark.slow
def test_f2a_faces_with_a_project_uses_its_finder(tmp_path: Path) -> None:
    image = _scene(tmp_path / "scene.png")
    project = tmp_path / "p"
    ProjectStore.create(project).close()
    plain = runner.invoke(app, ["faces", str(image), "--workers", "1", "--threshold", "0.05"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)[0]["finders"] == ["animeface"]
    _own_finder(project)
    own = runner.invoke(app, ["faces", str(image), "--workers", "1", "--threshold", "0.05", "--project", str(project)])
    assert own.exit_code == 0, own.output
    (result,) = json.loads(own.stdout)
    assert result["finders"] == ["animeface", "learned"]
    faces = result["faces"]
    assert len(faces) >= 2  # both drawn faces, one NMS across the finders
    plain_keys = set(json.loads(plain.stdout)[0]["faces"][0])
    assert all(set(f) == plain_keys and len(f["landmarks"]) == 68 for f in faces)  # the f2a faces contract
    assert all(f["model"]["sha256"] == sha256_file(project / "checkpoints" / WEIGHTS_NAME)
               for f in faces if f["finder"] == "learned")
    bad = runner.invoke(app, ["faces", str(image), "--project", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "not an F2A project" in bad.output


def test_a_title_with_a_finder_of_its_own_is_detected_with_it_and_the_others_are_not(tmp_path: Path) -> None:
    """`f2a train-finder --title T` writes into checkpoints/titles/T/: detection reads that title's cuts with
    that title's models first on the search path, every other cut with the project's."""
    from f2a_studio.core.importer import import_sources
    from f2a_studio.core.search_path import title_models_dir
    from f2a_studio.detect.pipeline import DetectOptions, detect_images

    project = tmp_path / "p"
    store = ProjectStore.create(project)
    for title, seed in (("own", 3), ("plain", 4)):
        import_sources(store, [_scene(tmp_path / f"{title}.png", seed)], workers=1, title=title, episode="1")
    sha = _own_finder(project, title_models_dir(project, "own"))
    assert model_search_path(project, title="own")[0] == title_models_dir(project, "own")
    assert model_search_path(project, title="plain")[0] != title_models_dir(project, "plain")
    report = detect_images(store, None, DetectOptions(workers=1, threshold=0.05))
    assert not report.failed and report.done == 2
    ran = {im.title_id: store.query("SELECT detector FROM detection_runs WHERE image_id = ?", (im.id,))[0][0]
           for im in store.images()}  # finders + landmark backend
    finders = {t: d.split("+")[:-1] for t, d in ran.items()}
    # the shipped learned finder is off by default and the project has none: only the title's can have run
    assert finders == {"own": ["animeface", "learned"], "plain": ["animeface"]}, ran
    assert all(f.finder_sha256 == sha for im in store.images() for f in store.faces(im.id) if f.finder == "learned")
    store.close()


# -- f2a calibrate -----------------------------------------------------------------------------------


def _decided_project(root: Path, n_accept: int, n_reject: int) -> tuple[str, list[int]]:
    """A project with one cut and learned-finder detections that a person accepted (high scores) or
    rejected (low scores), plus an undecided one. Returns the model's sha256 and the face ids."""
    store = ProjectStore.create(root)
    sha = _own_finder(root)
    cut = _scene(root / "cut.png")
    from f2a_studio.core.importer import import_sources

    import_sources(store, [cut], workers=1)
    image = store.images()[0]
    rng = np.random.default_rng(1)
    faces = []
    for i in range(n_accept + n_reject + 1):
        raw = float(rng.uniform(0.6, 1.0) if i < n_accept else rng.uniform(0.3, 0.7))
        faces.append(Face(image.id, Box(5 + i, 5, 40, 40), score=raw, finder="learned", finder_model=WEIGHTS_NAME,
                          finder_sha256=sha, raw_score=raw, score_features=(("raw_score", raw),)))
    added = store.add_faces(faces, actor="detector")
    for i, face in enumerate(added[:-1]):
        status = FaceStatus.ACCEPTED if i < n_accept else FaceStatus.REJECTED
        store.update_face(replace(face, status=status), actor="human")
    store.close()
    return sha, [f.id for f in added]


def test_calibrate_refits_scores_from_decisions_and_detection_uses_the_map(tmp_path: Path) -> None:
    project = tmp_path / "p"
    sha, _ = _decided_project(project, n_accept=12, n_reject=8)
    result = runner.invoke(app, ["calibrate", str(project), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[0])
    (fitted,) = report["fitted"]
    assert fitted["finder"] == "learned" and fitted["model_sha256"] == sha
    assert fitted["calibration"]["fitted_from"] == {"positives": 12, "negatives": 8}
    path = project / "checkpoints" / calibration_file_name("learned")
    assert Path(fitted["file"]) == path and path.is_file()
    folders = model_search_path(project)
    (finder,) = load_finders(["learned"], folders)
    calibration = calibration_for(finder, folders)
    assert isinstance(calibration, Recalibrated)
    # accepted detections had the high scores: the map keeps the order and sets the low ones under 0.5
    assert calibration.project(0.95) > 0.7 and calibration.project(0.4) < 0.5
    # detection keeps the finder's own score as the base of the next refit (refits do not compound)
    from f2a_studio.detect.finders.base import FinderHit

    score, features = calibration.score_hit(FinderHit(Box(0, 0, 10, 10), 0.4), np.zeros((8, 8, 3), np.uint8),
                                            None, 0.0)  # type: ignore[arg-type]
    assert dict(features)[BASE_FEATURE] == pytest.approx(0.4) and score == pytest.approx(calibration.project(0.4))
    face = Face(1, Box(0, 0, 10, 10), score=score, score_features=features)
    assert base_score(face) == pytest.approx(0.4)


def test_a_map_fitted_on_another_model_is_ignored(tmp_path: Path) -> None:
    project = tmp_path / "p"
    _decided_project(project, n_accept=12, n_reject=8)
    assert runner.invoke(app, ["calibrate", str(project)]).exit_code == 0
    folders = model_search_path(project)
    weights = project / "checkpoints" / WEIGHTS_NAME
    assert project_map("learned", sha256_file(weights), folders) is not None
    # retrained: other weights, other sha → the old map no longer applies
    from safetensors.torch import load_file, save_file

    state = load_file(str(weights))
    first = next(iter(state))
    state[first] = state[first] * 1.01
    save_file(state, str(weights))
    (finder,) = load_finders(["learned"], folders)
    assert not isinstance(calibration_for(finder, folders), Recalibrated)
    again = runner.invoke(app, ["calibrate", str(project)])
    assert again.exit_code == 2
    assert "20 more were made on another learned model, detect again" in again.output


def test_calibrate_with_too_few_decisions_says_how_many_more(tmp_path: Path) -> None:
    project = tmp_path / "p"
    _decided_project(project, n_accept=3, n_reject=1)
    result = runner.invoke(app, ["calibrate", str(project)])
    assert result.exit_code == 2
    assert "3 accepted and 1 rejected learned detection(s)" in result.output
    assert f"review {MIN_ACCEPTED - 3} and 3 more" in result.output
    assert not (project / "checkpoints" / calibration_file_name("learned")).exists()
    empty = tmp_path / "empty"
    ProjectStore.create(empty).close()
    nothing = runner.invoke(app, ["calibrate", str(empty)])
    assert nothing.exit_code == 2 and "no detection has been accepted or rejected yet" in nothing.output
    unknown = runner.invoke(app, ["calibrate", str(project), "--finder", "nope"])
    assert unknown.exit_code == 2 and "unknown face finder 'nope'" in unknown.output
