"""run_export's own bookkeeping, seen from outside: the progress it reports, the result it returns, a cancel
before the first face, and the non-aligned (COCO) path with no landmarks file. The 24-face project of
test_export_data; every expected count follows from it (24 accepted faces) or from the files on disk."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_export_data import project_fixture  # noqa: F401  (fixture)

from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportCancelled, ExportOptions, plan_export, run_export
from f2a_studio.export.runner import ExportResult, build_tasks

FACES = 24  # project_fixture: 2 titles × 3 episodes × 2 cuts × 2 faces


def plan_for(root: Path, **options):
    with ProjectStore.open(root, read_only=True) as store:
        return plan_export(store, ExportOptions(**options))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_faces_per_second_is_faces_over_seconds_and_zero_for_no_time() -> None:
    assert ExportResult(Path("/o"), "pix2pix", {"faces": 10}, 3, 2.0).faces_per_second == 5.0
    assert ExportResult(Path("/o"), "pix2pix", {"faces": 10}, 3, 0.5).faces_per_second == 20.0  # under a second
    assert ExportResult(Path("/o"), "pix2pix", {"faces": 10}, 3, 0.0).faces_per_second == 0.0


def test_progress_starts_at_zero_climbs_and_ends_at_every_face(project, tmp_path: Path) -> None:
    plan = plan_for(project.root, size=64, workers=0)
    calls: list[tuple[int, int, str]] = []
    result = run_export(plan, tmp_path / "out", progress=lambda d, t, w: calls.append((d, t, w)))
    assert calls[0] == (0, FACES, "")
    done = [d for d, _t, _w in calls]
    assert done == sorted(done) and done[-1] == FACES and {t for _d, t, _w in calls} == {FACES}
    assert len(calls) == 1 + len(build_tasks(plan))  # the start, then one call per rendered cut
    assert all(w.endswith(".png") for _d, _t, w in calls[1:])  # named by the last file written
    assert result.counts["faces"] == FACES


def test_the_result_counts_every_file_written_including_the_manifest(project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_export(plan_for(project.root, size=64, workers=0), str(out))  # a str, as the CLI passes it
    written = files_under(out)
    assert result.out == out and result.format == "pix2pix" and result.files == len(written)
    assert {p.name for p in written} >= {"manifest.json", "landmarks.json"}
    assert result.seconds > 0


def test_a_cancel_before_the_first_face_writes_nothing(project, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    calls: list[int] = []
    with pytest.raises(ExportCancelled):
        run_export(plan_for(project.root, size=64, workers=0), tmp_path / "out", cancel=cancel,
                   progress=lambda d, t, w: calls.append(d))
    assert list(tmp_path.iterdir()) == [] and calls == [0]


def test_coco_renders_no_face_files_and_writes_no_landmarks_file(project, tmp_path: Path) -> None:
    plan = plan_for(project.root, format="coco", workers=0)
    assert build_tasks(plan) == []
    calls: list[int] = []
    run_export(plan, tmp_path / "out", progress=lambda d, t, w: calls.append(d))
    names = {p.name for p in files_under(tmp_path / "out")}
    assert "landmarks.json" not in names and "manifest.json" in names
    assert calls[0] == 0 and calls[-1] == FACES
