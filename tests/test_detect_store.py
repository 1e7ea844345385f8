"""`detect_images` on a real project: results written per image, human edits kept, interrupted runs resume,
`f2a detect` on the command line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect import DetectOptions, detect_images
from f2a_studio.synth.scene import make_character_image, make_panel

OPTIONS = DetectOptions(workers=2)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, list[list[Box]]]:
    """A project of four scenes (one with no face) and the true boxes of each, in import order."""
    sources, truth = tmp_path / "in", []
    images = [make_panel(np.random.default_rng(6), 480, 360, n_faces=2, border=False)]
    images += [make_character_image(np.random.default_rng(s), 180) for s in (2, 3)]
    images.append(make_panel(np.random.default_rng(5), 300, 200, n_faces=0))
    for i, panel in enumerate(images):
        save_png_atomic(sources / f"777_1_{i:02d}.png", panel.image)
        truth.append([Box(*f.box) for f in panel.faces])
    with ProjectStore.create(tmp_path / "project") as store:
        report = import_sources(store, sorted(sources.iterdir()))
        assert len(report.added) == 4
    return tmp_path / "project", truth


def test_detect_writes_every_image_and_finds_its_faces(project: tuple[Path, list[list[Box]]]) -> None:
    folder, truth = project
    calls: list[tuple[int, int]] = []
    with ProjectStore.open(folder) as store:
        report = detect_images(store, None, OPTIONS, progress=lambda d, t: calls.append((d, t)))
        assert report.done == report.total == 4 and not report.failed and not report.stopped
        assert calls[0] == (0, 4) and calls[-1] == (4, 4) and [d for d, _ in calls] == sorted(d for d, _ in calls)
        assert store.detected_image_ids() == {r.id for r in store.images()}
        images = sorted(store.images(), key=lambda r: r.cut_index)
        for record, boxes in zip(images, truth, strict=True):
            faces = store.faces(record.id)
            assert len(faces) == len(boxes), record.name
            for box in boxes:
                assert max(f.box.iou(box) for f in faces) > 0.5
            for face in faces:
                assert face.source is FaceSource.DETECTOR and len(face.landmarks) == 68 and face.pose
        assert report.faces == store.face_count() == 4
        assert report.landmark_backend


def test_redetection_never_overwrites_what_a_person_did(project: tuple[Path, list[list[Box]]]) -> None:
    folder, _ = project
    with ProjectStore.open(folder) as store:
        detect_images(store, None, OPTIONS)
        record = sorted(store.images(), key=lambda r: r.cut_index)[0]
        faces = store.faces(record.id)
        edited = store.update_face(dataclasses.replace(faces[0], status=FaceStatus.ACCEPTED,
                                                       box=faces[0].box.translated(3, 0)))
        drawn = store.add_face(Face(record.id, Box(5, 5, 40, 40), source=FaceSource.HUMAN))
        report = detect_images(store, [record.id], OPTIONS)
        assert report.done == 1 and report.skipped == 0
        after = {f.id: f for f in store.faces(record.id)}
        assert after[edited.id] == edited and after[drawn.id] == drawn  # untouched, same revision
        assert len(after) == 3  # the edited face was not detected a second time on top of itself
        assert sum(1 for f in after.values() if f.box.iou(edited.box) > 0.5) == 1


def test_an_interrupted_run_resumes_where_it_stopped(project: tuple[Path, list[list[Box]]]) -> None:
    folder, _ = project
    with ProjectStore.open(folder) as store:
        progress: list[int] = []
        report = detect_images(store, None, DetectOptions(workers=1), progress=lambda d, t: progress.append(d),
                               should_stop=lambda: len(progress) >= 2)  # stop after the first image
        assert report.stopped and 1 <= report.done < 4
        done_first = store.detected_image_ids()
        assert len(done_first) == report.done
        resumed = detect_images(store, None, OPTIONS)
        assert resumed.skipped == len(done_first) and resumed.done == 4 - len(done_first)
        assert store.detected_image_ids() == {r.id for r in store.images()}
        again = detect_images(store, None, OPTIONS)
        assert again.total == 0 and again.skipped == 4


def test_a_cut_that_cannot_be_read_is_reported_and_recorded(project: tuple[Path, list[list[Box]]]) -> None:
    folder, _ = project
    with ProjectStore.open(folder) as store:
        victim = store.images()[0]
        store.cut_file(victim).write_bytes(b"")  # the stored cut was damaged on disk
        report = detect_images(store, None, OPTIONS)
        assert [i for i, _ in report.failed] == [victim.id] and "empty" in report.failed[0][1]
        assert report.done == 4
        assert victim.id in store.detected_image_ids()  # not retried forever by resumed runs


def test_f2a_detect_command(project: tuple[Path, list[list[Box]]]) -> None:
    folder, _ = project
    result = CliRunner().invoke(app, ["detect", str(folder), "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["done"] == 4 and report["faces"] == 4 and report["failed"] == []
    again = CliRunner().invoke(app, ["detect", str(folder), "--json"])
    assert json.loads(again.stdout.splitlines()[-1])["skipped"] == 4


def test_runs_from_a_worker_thread_like_the_studio(project: tuple[Path, list[list[Box]]]) -> None:
    """The studio calls detect_images from a Qt worker thread: nothing in it may need the main thread,
    and a stop request from another thread ends it promptly."""
    import threading

    folder, _ = project
    stop = threading.Event()
    out: dict[str, object] = {}

    def body() -> None:
        with ProjectStore.open(folder) as store:
            out["report"] = detect_images(store, None, DetectOptions(workers=1),
                                          progress=lambda d, t: stop.set() if d >= 1 else None,
                                          should_stop=stop.is_set)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(120)
    assert not thread.is_alive()
    report = out["report"]
    assert report.stopped and report.done >= 1  # type: ignore[attr-defined]
