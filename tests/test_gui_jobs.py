"""Background jobs from the window: progress in the status bar, cancel, and detection on the real detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import draw_cut, make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings
from f2a_studio.gui.workers import JobRunner, detection_unavailable, import_job


def test_job_runner_reports_progress_and_cancels(qtbot, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    sources = tmp_path / "in"
    for k in range(12):
        pixels, _ = draw_cut(rng, 300, 400, 1)
        save_png_atomic(sources / f"t_{k + 1}.png", pixels, compression=1)
    with ProjectStore.create(tmp_path / "p") as store:
        runner = JobRunner()
        seen: list[tuple[int, int]] = []
        runner.progress.connect(lambda done, total, _text: seen.append((done, total)))
        with qtbot.waitSignal(runner.finished, timeout=60000) as finished:
            assert runner.start("import", import_job(store, [sources]))
            assert runner.busy and not runner.start("again", import_job(store, [sources]))
        assert finished.args[0] == "import" and len(finished.args[1].added) == 12
        assert seen[-1] == (12, 12) and not runner.busy
        # cancel: asked at the first progress report, the job stops and reports None
    with ProjectStore.create(tmp_path / "q") as store:
        runner = JobRunner()
        runner.progress.connect(lambda *_: runner.cancel())
        with qtbot.waitSignal(runner.finished, timeout=60000) as finished:
            runner.start("import", import_job(store, [sources]))
        assert finished.args[1] is None
        assert store.image_count() < 12


@pytest.mark.skipif(detection_unavailable() is not None, reason="f2a_studio.detect is not available")
def test_detect_this_scene_from_the_window(qtbot, tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(2, 1), size=(600, 800), durability="normal")
    win = MainWindow(StudioSettings.in_file(tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(project, quiet=True)
    store = win.session.store
    record = win.navigator.record
    outcome: list[str] = []
    win.jobs.failed.connect(lambda _name, message: outcome.append(f"failed: {message}"))
    win.jobs.finished.connect(lambda _name, _result: outcome.append("finished"))
    win.actions["detect_scene"].trigger()
    assert win.status.job_bar.isVisible()  # progress shows while it runs
    qtbot.waitUntil(lambda: bool(outcome), timeout=240000)
    assert outcome == ["finished"]
    assert record.id in store.detected_image_ids()
    qtbot.wait(50)
    shown = {fid: item.face for fid, item in win.scene.items_by_id.items()}
    assert shown == {f.id: f for f in store.faces(record.id)}  # the canvas shows the new detections
    assert not win.status.job_bar.isVisible() and "cut(s)" in win.status.currentMessage()
    win.close()
