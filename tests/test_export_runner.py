"""run_export's own bookkeeping, seen from outside: the progress it reports, the result it returns, a cancel
before the first face, and the non-aligned (COCO) path with no landmarks file. The 24-face project of
test_export_data; every expected count follows from it (24 accepted faces) or from the files on disk."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_export_data import draw_panel, project_fixture  # noqa: F401  (fixture)

from f2a_studio.core.models import Domain
from f2a_studio.core.pts import write_pts
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportCancelled, ExportError, ExportOptions, plan_export, run_export
from f2a_studio.export.plan import PlannedFace
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


def test_landmarks_json_lists_each_human_photo_without_a_box_and_with_no_sex_guess(project, tmp_path: Path) -> None:
    """cyclegan with human photos: their trainA/valA/testA files get landmark records too; a photo has no detector
    box, and no sex estimate (0.5, "unknown")."""
    photos = tmp_path / "humans"
    photos.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):
        pixels, truths = draw_panel(rng, 1)
        cv2.imwrite(str(photos / f"person{i}.jpg"), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        write_pts(photos / f"person{i}.pts", truths[0].points())
    plan = plan_for(project.root, format="cyclegan", size=64, workers=0, human_photos=str(photos))
    assert len(plan.human.items) == 3
    totals: set[int] = set()
    last: list[int] = []
    run_export(plan, tmp_path / "out", progress=lambda d, t, w: (totals.add(t), last.append(d)))
    assert totals == {FACES + 3} and last[-1] == FACES + 3  # the photos count as faces done
    doc = json.loads((tmp_path / "out" / "landmarks.json").read_text())
    human = [e for e in doc["faces"] if e["path"].split("/")[0].endswith("A")]  # trainA, valA, testA
    assert sorted(e["path"].split("/")[1] for e in human) == ["person0.png", "person1.png", "person2.png"]
    assert all(e["p_female"] == 0.5 and "box" not in e and len(e["landmarks"]) == 68 for e in human)
    assert len(doc["faces"]) == FACES + 3


def test_a_hand_made_plan_with_a_human_face_in_a_format_without_a_human_side_is_refused(project,
                                                                                       tmp_path: Path) -> None:
    """plan_export keeps human faces out of pix2pix; a plan built otherwise must not write one as anime."""
    plan = plan_for(project.root, size=64, workers=0)
    first = plan.items[0]
    plan.items[0] = PlannedFace(first.face, replace(first.image, domain=Domain.HUMAN), first.split)
    with pytest.raises(ExportError, match="the pix2pix format has no place for human photos"):
        run_export(plan, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_cancel_while_the_last_cut_is_written_still_cancels(project, tmp_path: Path) -> None:
    """Cancel pressed as the last faces come in: no more render follows, yet the export must not finish."""
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if done == total:
            cancel.set()

    with pytest.raises(ExportCancelled):
        run_export(plan_for(project.root, size=64, workers=0), tmp_path / "out", cancel=cancel, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_the_seconds_reported_lie_within_the_call(project, tmp_path: Path) -> None:
    started = time.perf_counter()
    result = run_export(plan_for(project.root, size=64, workers=0), tmp_path / "out")
    elapsed = time.perf_counter() - started
    assert 0 < result.seconds <= elapsed
    assert result.faces_per_second == pytest.approx(FACES / result.seconds)


def test_a_human_face_of_the_project_goes_to_the_a_side_in_cyclegan(project, tmp_path: Path) -> None:
    """A face on a human photo imported into the project is written where cyclegan keeps human faces."""
    plan = plan_for(project.root, format="cyclegan", size=64, workers=0)
    first = plan.items[0]
    plan.items[0] = PlannedFace(first.face, replace(first.image, domain=Domain.HUMAN), first.split)
    run_export(plan, tmp_path / "out")
    human = tmp_path / "out" / f"{first.split}A" / f"{plan.items[0].stem}.png"
    assert human.is_file()
    assert not (tmp_path / "out" / f"{first.split}B" / f"{plan.items[0].stem}.png").exists()
