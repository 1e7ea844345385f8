"""The one job protocol (core/jobs.py): cancelling any job kind leaves nothing half-written, the worker
count rule, and one process context whose preloads merge."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import strip_with_panels, write_png
from test_export_data import build_project

from f2a_studio.core import jobs
from f2a_studio.core.importer import import_sources
from f2a_studio.core.jobs import CancelToken, JobCancelled, process_context, worker_count
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportCancelled, ExportOptions, plan_export, run_export
from f2a_studio.synth.scene import make_character_image


def test_cancel_token_is_thread_safe_and_keeps_the_first_reason() -> None:
    token = CancelToken()
    assert not token.cancelled and not token() and not token.is_set()
    threads = [threading.Thread(target=token.cancel, args=(f"reason {i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert token.cancelled and token() and token.reason.startswith("reason ")
    first = token.reason
    token.cancel("later")
    assert token.reason == first
    with pytest.raises(JobCancelled, match=first):
        token.raise_if_cancelled()


def test_worker_count_uses_every_core_but_one_while_a_window_is_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(jobs, "_ui_windows", 0)
    assert worker_count() == 8 and worker_count(3) == 3 and worker_count(tasks=2) == 2
    jobs.reserve_core_for_ui()
    assert worker_count() == 7
    jobs.reserve_core_for_ui(False)
    assert worker_count() == 8
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 1)
    jobs.reserve_core_for_ui()
    assert worker_count() == 1  # never zero
    jobs.reserve_core_for_ui(False)


def test_preloads_of_every_job_are_merged_not_overwritten() -> None:
    ctx = process_context(["f2a_studio.core.models"], "forkserver")
    process_context(["f2a_studio.core.keypoints"], "forkserver")
    merged = jobs.registered_preloads()
    assert {"f2a_studio.core.models", "f2a_studio.core.keypoints"} <= set(merged)
    from multiprocessing import forkserver

    assert set(forkserver._forkserver._preload_modules) >= {"f2a_studio.core.models", "f2a_studio.core.keypoints"}
    assert ctx.get_start_method() == "forkserver"


def _cut_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "cuts").rglob("*") if p.is_file()}


def test_a_cancelled_import_leaves_only_whole_files(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    for i in range(4):  # tall strips: several cuts per file
        pixels, _ = strip_with_panels([300, 260, 280], seed=i)
        write_png(sources / f"strip_{i}.png", pixels)
    token = CancelToken()

    def progress(done: int, total: int, text: str) -> None:
        if done >= 2:
            token.cancel("test")

    with ProjectStore.create(tmp_path / "project") as store:
        report = import_sources(store, [sources], progress=progress, cancel=token)
        assert report.cancelled and report.files_done == 2
        images = store.images()
        by_source: dict[str, int] = {}
        for record in images:
            by_source[record.source_path] = by_source.get(record.source_path, 0) + 1
        recorded = {r[0]: r[1] for r in store.query("SELECT path, n_cuts FROM sources")}
        assert recorded == by_source and len(recorded) == 2  # each file done is whole, with its record
        assert _cut_files(store.root) == {r.cut_path for r in images}  # no cut file without its row
        again = import_sources(store, [sources])  # resumes: the rest goes in, nothing twice
        assert len(again.added) == 6 and not again.problems
        assert store.image_count() == 12


def test_a_cancelled_detection_leaves_every_cut_done_or_untouched(tmp_path: Path) -> None:
    pytest.importorskip("animeface")
    from f2a_studio.detect import DetectOptions, detect_images

    sources = tmp_path / "sources"
    rng = np.random.default_rng(3)
    for i in range(4):
        write_png(sources / f"scene_{i}.png", make_character_image(rng, 200).image[:, :, :3])
    token = CancelToken()

    def progress(done: int, total: int, text: str) -> None:
        if done >= 1:
            token.cancel("test")

    with ProjectStore.create(tmp_path / "project") as store:
        import_sources(store, [sources])
        report = detect_images(store, None, DetectOptions(workers=1), progress=progress, should_stop=token)
        assert report.stopped and 1 <= report.done < 4
        runs = {int(r[0]): int(r[1]) for r in store.query("SELECT image_id, n_faces FROM detection_runs")}
        assert len(runs) == report.done
        for record in store.images():
            assert len(store.faces(record.id)) == runs.get(record.id, 0)  # all of a cut's faces, or none
        resumed = detect_images(store, None, DetectOptions(workers=1))
        assert resumed.done == 4 - report.done and len(store.detected_image_ids()) == 4


def test_a_cancelled_export_leaves_nothing(tmp_path: Path) -> None:
    built = build_project(tmp_path / "project", titles=("111",), episodes=2, cuts=2)
    token = CancelToken()

    def progress(done: int, total: int, text: str) -> None:
        if done >= 2:
            token.cancel("test")

    with ProjectStore.open(built.root, read_only=True) as store:
        plan = plan_export(store, ExportOptions(format="pix2pix", size=64, workers=0))
    out = tmp_path / "exports" / "out"
    out.parent.mkdir()
    with pytest.raises(ExportCancelled):
        run_export(plan, out, progress=progress, cancel=token)
    assert list(out.parent.iterdir()) == []


def test_progress_callbacks_from_before_the_protocol_still_work() -> None:
    calls: list[tuple] = []
    jobs.as_progress(lambda d, t: calls.append((d, t)))(1, 2, "x")
    jobs.as_progress(lambda d, t, what: calls.append((d, t, what)))(3, 4, "y")
    jobs.as_progress(lambda *args: calls.append(args))(5, 6, "z")
    assert calls == [(1, 2), (3, 4, "y"), (5, 6, "z")] and jobs.as_progress(None) is None
