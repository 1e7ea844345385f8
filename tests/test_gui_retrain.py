"""Retraining from the studio (Learn menu → gui/learn/retrain.py): the real window, real drawn projects
(gui.demo), the real `f2a train-*` commands as subprocesses with the smallest step counts, real
predictions written through the store. Nothing a person set may change, whatever happens."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from studio_window import answering

from f2a_studio.core.jobs import CancelToken, JobCancelled
from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.sex.backends import STEM as SEX_STEM
from f2a_studio.detect.small_train import resume_path
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.learn.retrain import RetrainOptions, RetrainReport, StepOutcome, retrain_job
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings
from tests.process_table import descendants, running

TINY = RetrainOptions(steps=2, min_faces=6, threads=1)  # the smallest runs the trainers accept
UNLABELLED = (1, 7, 8, 9)  # face indices whose sex no person set


def rows(store: ProjectStore) -> dict[int, tuple]:
    """Every face's stored row, column by column: "unchanged" means byte for byte."""
    return {r["id"]: tuple(r) for r in store.query("SELECT * FROM faces ORDER BY id")}


def labelled_project(root: Path) -> Path:
    """Five cuts of two drawn faces. A person sets the sex of six faces (3 female, 3 male: enough for the
    sex classifier with min_faces 6); face 0 is also accepted with two points moved, face 7 gets moved
    points but no sex. Faces 1, 7, 8, 9 have no sex a person set."""
    project = make_demo_project(root, cuts=5, faces_per_cut=(2,), size=(420, 620), durability="normal")
    with ProjectStore.open(project) as store:
        faces = store.all_faces()
        for k, i in enumerate((0, 2, 3, 4, 5, 6)):
            faces[i] = store.update_face(replace(faces[i], sex=Sex.FEMALE if k % 2 else Sex.MALE, sex_prob=1.0))
        for i in (0, 7):
            pts = list(faces[i].landmarks)
            for j in (30, 48):
                x, y, v = pts[j]
                pts[j] = (x + 3.0, y - 2.0, v)
            faces[i] = store.update_face(replace(faces[i], landmarks=tuple(pts)))
        store.update_face(replace(faces[0], status=FaceStatus.ACCEPTED))
    return project


@pytest.fixture
def window(qtbot, tmp_path: Path):
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.learn_menu.running:  # a failed test must not leave a trainer behind (nor ask at close)
        win.jobs.wait()
    win.close()


def retrain_from_menu(qtbot, win: MainWindow, action_id: str = "retrain_all") -> tuple[RetrainReport, bool]:
    with qtbot.waitSignal(win.learn_menu.reported, timeout=240000) as done:
        win.actions[action_id].trigger()
        assert win.learn_menu.running and win.status.job_bar.isVisible()  # progress shows while it runs
        assert not win.learn_menu.retrain()  # one at a time
    assert not win.status.job_bar.isVisible()
    return done.args[0], done.args[1]


def trainer_pids(command: str) -> set[int]:
    out = set()
    for pid in descendants(os.getpid()):
        try:
            if command in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                out.add(pid)
        except OSError:
            continue
    return out


def test_learn_menu_lists_the_retrain_entries(window: MainWindow, tmp_path: Path) -> None:
    menu = window.actions.menus["Learn"]
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts[0] == "Retrain Models from Corrections"
    assert {"Retrain Sex Classifier Only", "Retrain Landmark Model Only", "Retrain Face Finder Only",
            "Recalibrate Scores from Your Decisions", "Cancel Running Job"} <= set(texts)
    assert not window.actions["retrain_all"].isEnabled()  # no project
    assert window.open_project(make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(1,), size=(300, 400)),
                               quiet=True)
    assert window.actions["retrain_all"].isEnabled()


def test_too_few_labels_each_trainer_is_skipped_with_its_own_message(qtbot, window: MainWindow,
                                                                      tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(2, 1), size=(420, 620), durability="normal")
    with ProjectStore.open(project) as store:
        faces = store.all_faces()
        store.update_face(replace(faces[0], sex=Sex.FEMALE, sex_prob=1.0))
        store.update_face(replace(faces[1], status=FaceStatus.ACCEPTED))
    assert window.open_project(project, quiet=True)
    store = window.session.store
    before, edits = rows(store), len(store.edits())
    window.learn_menu.options = replace(TINY, min_faces=None)  # each trainer's own minimum
    report, cancelled = retrain_from_menu(qtbot, window)
    assert not cancelled
    assert [(s.name, s.state) for s in report.steps[:3]] == [("finder", "skipped"), ("sex", "skipped"),
                                                             ("landmarks", "skipped")]
    messages = {s.name: s.message for s in report.steps}
    # the trainers' own explanations, what they count included
    assert "the sex classifier learns from faces whose sex a person set: this project has 1 " in messages["sex"]
    assert "landmarks a person placed or confirmed: this project has 0" in messages["landmarks"]
    assert "train-finder needs at least" in messages["finder"]
    assert report.state("re-predict") == "skipped" and report.repredicted == []
    shown = window.learn_menu.report_box.text()
    assert window.learn_menu.report_box.isVisible() and "No model was trained." in shown
    assert all(messages[name] in shown for name in ("finder", "sex", "landmarks"))
    assert "nothing trained" in window.status.currentMessage()
    assert rows(store) == before and len(store.edits()) == edits  # nothing changed at all
    assert not (store.checkpoints_dir / f"{SEX_STEM}.safetensors").exists()


def check_sex_retrain(qtbot, win: MainWindow, action_id: str) -> RetrainReport:
    store = win.session.store
    faces = store.all_faces()
    before = rows(store)
    win.learn_menu.options = TINY
    texts: list[str] = []
    win.jobs.progress.connect(lambda _done, _total, text: texts.append(text))
    report, cancelled = retrain_from_menu(qtbot, win, action_id)
    assert not cancelled
    assert report.state("sex") == "trained", report.summary()
    # inside the trainer's stage the studio showed the trainer's own steps (its progress lines on stderr)
    assert any(t.startswith("training the sex model: 2/2, loss ") for t in texts), texts
    assert (store.checkpoints_dir / f"{SEX_STEM}.safetensors").is_file()
    after = rows(store)
    for i, face in enumerate(faces):
        if i not in UNLABELLED:  # the sex a person set, and so the whole face, is as it was
            assert after[face.id] == before[face.id], f"face {i} changed"
    for i in UNLABELLED:
        face = store.face(faces[i].id)
        assert face.sex is not Sex.UNKNOWN and 0.5 <= face.sex_prob <= 1.0, f"face {i} not predicted"
        assert "sex" not in face.human_fields
        assert store.edits(face_id=face.id)[-1].actor == "model"
    moved = store.face(faces[7].id)  # its points a person moved stay, only its sex was predicted
    assert moved.landmarks == faces[7].landmarks and "landmarks" in moved.human_fields
    assert sorted(report.repredicted) == sorted(faces[i].id for i in UNLABELLED)
    kept = [f for f in faces if f.status is FaceStatus.UNREVIEWED and f.human_fields]
    assert report.kept_human == len(kept) and faces[7] in kept  # their human fields left alone
    assert (store.root / "checkpoints" / "review-signals.json").is_file()  # the queue measured afresh
    shown = win.learn_menu.report_box.text()
    assert shown.startswith("Retrain finished.") and "Trained: sex" in shown
    assert "trained sex" in win.status.currentMessage()
    return report


def test_retrain_sex_trains_the_classifier_and_predicts_only_what_no_person_set(qtbot, window: MainWindow,
                                                                                 tmp_path: Path) -> None:
    assert window.open_project(labelled_project(tmp_path / "p"), quiet=True)
    report = check_sex_retrain(qtbot, window, "retrain_sex")
    assert [s.name for s in report.steps] == ["sex", "re-predict", "queue"]  # the other trainers did not run


@pytest.mark.slow
def test_retrain_all_trains_what_has_enough_labels_and_skips_the_rest(qtbot, window: MainWindow,
                                                                      tmp_path: Path) -> None:
    assert window.open_project(labelled_project(tmp_path / "p"), quiet=True)
    report = check_sex_retrain(qtbot, window, "retrain_all")
    assert report.state("finder") == "skipped" and report.state("landmarks") == "skipped"  # too few for them
    assert "landmarks skipped: the landmark model learns from landmarks a person placed or confirmed: this " \
           "project has 2" in window.learn_menu.report_box.text()  # faces 0 and 7


def test_cancel_stops_the_trainer_and_keeps_the_store_as_it_was(qtbot, window: MainWindow, tmp_path: Path) -> None:
    assert window.open_project(labelled_project(tmp_path / "p"), quiet=True)
    store = window.session.store
    before, edits = rows(store), len(store.edits())
    window.learn_menu.options = replace(TINY, steps=100000)  # runs until cancelled
    resume = resume_path(store.checkpoints_dir, SEX_STEM)
    with qtbot.waitSignal(window.learn_menu.reported, timeout=240000) as done:
        window.actions["retrain_sex"].trigger()
        qtbot.waitUntil(resume.is_file, timeout=120000)  # the trainer has done 50 steps
        pids = trainer_pids("train-sex")
        assert pids and window.status.cancel.isVisible()
        qtbot.mouseClick(window.status.cancel, Qt.MouseButton.LeftButton)
    report, cancelled = done.args
    assert cancelled and [s.name for s in report.steps] == []  # stopped inside the first step
    assert not running(pids)  # the trainer is gone...
    assert resume.is_file()  # ...after saving its resume state (SIGINT, not a kill)
    assert not (store.checkpoints_dir / f"{SEX_STEM}.safetensors").exists()
    assert rows(store) == before and len(store.edits()) == edits
    with contextlib.closing(sqlite3.connect(f"file:{store.root / 'project.f2a.sqlite'}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert window.learn_menu.report_box.text().startswith("Retrain cancelled.")
    assert "cancelled" in window.status.currentMessage()


@pytest.mark.slow
def test_cancel_while_repredicting_stops_between_cuts(tmp_path: Path) -> None:
    """Plain job, no window: cancelled when the first cut's faces are re-predicted, the others keep theirs."""
    project = labelled_project(tmp_path / "p")
    with ProjectStore.open(project) as store:
        faces = store.all_faces()
        before = rows(store)
        token, report = CancelToken(), RetrainReport()
        seen: list[str] = []

        def progress(_done: int, _total: int, text: str) -> None:
            seen.append(text)
            if text.startswith("re-predicting faces (1/"):
                token.cancel()

        with pytest.raises(JobCancelled):
            retrain_job(store, replace(TINY, models=("sex",)), report)(progress, token)
        assert report.state("sex") == "trained" and report.state("re-predict") == "not run"
        after = rows(store)
        assert report.repredicted == [faces[1].id]  # face 1 is the first cut's only unlabelled face
        assert after[faces[1].id] != before[faces[1].id]
        assert all(after[f.id] == before[f.id] for f in faces if f.id != faces[1].id)
        for face in store.all_faces():  # every face is whole: what its last logged edit wrote
            last = store.edits(face_id=face.id)[-1].after
            assert last is not None and last["revision"] == face.revision
        assert not any(t.startswith("measuring") for t in seen)


def test_closing_the_studio_asks_before_stopping_a_retrain(qtbot, window: MainWindow, tmp_path: Path,
                                                           monkeypatch) -> None:
    assert window.open_project(labelled_project(tmp_path / "p"), quiet=True)
    window.learn_menu.options = replace(TINY, steps=100000)
    asked: list[str] = []

    assert window.learn_menu.retrain(("sex",))
    qtbot.waitUntil(lambda: bool(trainer_pids("train-sex")), timeout=60000)
    pids = trainer_pids("train-sex")
    monkeypatch.setattr(QMessageBox, "question", answering(QMessageBox.StandardButton.No, asked))
    assert not window.close()  # the user keeps the retrain: the studio stays open
    assert window.isVisible() and window.learn_menu.running and "being retrained" in asked[-1]
    monkeypatch.setattr(QMessageBox, "question", answering(QMessageBox.StandardButton.Yes, asked))
    assert window.close()
    assert not window.jobs.busy and not running(pids) and len(asked) == 2


def test_bad_retrain_options_are_refused_with_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown \['faces'\]; known: finder, sex, landmarks"):
        RetrainOptions(models=("faces",))
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        RetrainOptions(steps=0)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        RetrainOptions(threads=0)
    used = RetrainReport()
    used.steps.append(StepOutcome("sex", "trained"))
    with ProjectStore.create(tmp_path / "p") as store, pytest.raises(ValueError, match="fresh RetrainReport"):
        retrain_job(store, TINY, used)


def test_recalibrate_runs_f2a_calibrate_alone_and_says_what_it_needs(qtbot, window: MainWindow,
                                                                     tmp_path: Path) -> None:
    """Learn ▸ Recalibrate: no trainer runs, `f2a calibrate` does; with no decided detection it says so, and
    nothing is re-detected or changed."""
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(2,), size=(420, 620), durability="normal")
    with ProjectStore.open(project) as store:
        before = rows(store)
    assert window.open_project(project, quiet=True)
    report, cancelled = retrain_from_menu(qtbot, window, "recalibrate")
    assert not cancelled and [s.name for s in report.steps[:1]] == ["calibrate"]
    assert report.state("calibrate") == "skipped" and not report.trained() and not report.redetected
    assert "no detection has been accepted or rejected yet" in report.steps[0].message
    text = report.text()
    assert text.startswith("Recalibration finished.") and "No model was trained" not in text
    assert "calibrate skipped: " in text
    with ProjectStore.open(project, read_only=True) as store:
        assert rows(store) == before
    with pytest.raises(ValueError, match="empty"):
        RetrainOptions(models=(), calibrate=False)
