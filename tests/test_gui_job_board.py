"""Independent studio jobs run side by side (an export while a detection runs), each with its own progress
and cancel; cancelling one leaves nothing half-written and does not touch the other."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, FaceFilter, plan_export, run_export
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.workers import JobBoard, detect_job, detection_unavailable


@pytest.mark.skipif(detection_unavailable() is not None, reason="f2a_studio.detect is not available")
def test_an_export_runs_and_is_cancelled_while_a_detection_runs(qtbot, tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "p", cuts=3, faces_per_cut=(2, 2), size=(500, 600), durability="normal")
    out = tmp_path / "exports" / "out"
    out.parent.mkdir()
    with ProjectStore.open(project) as store:
        filters = FaceFilter(statuses=("unreviewed", "accepted"))
        with ProjectStore.open(project, read_only=True) as reads:
            plan = plan_export(reads, ExportOptions(format="pix2pix", size=64, workers=0, filters=filters))
        assert plan.items
        board = JobBoard()
        progress: dict[str, list[tuple[int, int]]] = {"detect": [], "export": []}
        ended: dict[str, object] = {}
        board.progress.connect(lambda kind, done, total, _text: progress[kind].append((done, total)))
        board.finished.connect(lambda kind, _name, result: ended.__setitem__(kind, result))
        board.failed.connect(lambda kind, _name, message: ended.__setitem__(kind, f"failed: {message}"))

        def export(report, cancel):
            def on_progress(done: int, total: int, text: str) -> None:
                report(done, total, text)
                if done >= 1:
                    board.cancel("export", "the user pressed cancel")

            return run_export(plan, out, progress=on_progress, cancel=cancel)

        assert board.start("detect", "detecting all", detect_job(store, None))
        assert board.start("export", "export", export)
        assert board.busy("detect") and board.busy("export")  # side by side
        assert not board.start("detect", "again", detect_job(store, None))  # one job per kind
        qtbot.waitUntil(lambda: len(ended) == 2, timeout=240_000)
        assert ended["export"] is None  # cancelled: no result
        assert list(out.parent.iterdir()) == []  # and nothing written
        report = ended["detect"]
        assert not isinstance(report, str), report
        assert report.done == 3 and not report.stopped  # the detection was not cancelled with it
        assert len(store.detected_image_ids()) == 3
        assert progress["export"] and progress["detect"][-1] == (3, 3)
