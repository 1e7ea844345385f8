"""Exports are split by episode, deterministic and atomic: reruns are byte-identical, and a full disk, a
read-only target, a cancel, a kill or a bad cut leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from privileges import run_without_dac
from test_export_data import big_project_fixture, build_project, project_fixture, tree_bytes  # noqa: F401

from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportCancelled, ExportError, ExportOptions, FaceFilter, plan_export, run_export
from f2a_studio.export.atomic import PARTIAL_TAG
from f2a_studio.export.split import SPLITS, assign_splits


def plan_for(root: Path, **options):
    with ProjectStore.open(root, read_only=True) as store:
        return plan_export(store, ExportOptions(**options))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@contextmanager
def tmpfs(path: Path, options: str):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


# ---------------------------------------------------------------- split


def test_no_episode_lands_in_two_splits(project, tmp_path):
    out = tmp_path / "out"
    plan = plan_for(project.root, format="concat4", size=64, workers=0)
    run_export(plan, out)
    manifest = json.loads((out / "manifest.json").read_text())
    episode_of = {f.id: None for f in project.faces}
    with ProjectStore.open(project.root, read_only=True) as store:
        for face in project.faces:
            image = store.image(face.image_id)
            episode_of[face.id] = f"{image.title_id}_{image.episode}"
    splits_of: dict[str, set[str]] = {}
    for f in manifest["files"]:
        if f["faces"]:
            splits_of.setdefault(episode_of[f["faces"][0]["id"]], set()).add(f["split"])
    assert len(splits_of) == 6 and all(len(s) == 1 for s in splits_of.values())
    assert {next(iter(s)) for s in splits_of.values()} == set(SPLITS)  # 6 episodes: every split used
    groups = manifest["split"]["groups"]
    assert sorted(g for names in groups.values() for g in names) == sorted(splits_of)
    by_title = plan_for(project.root, format="concat4", split_by="title", workers=0)
    titles = {it.image.title_id: set() for it in by_title.items}
    for it in by_title.items:
        titles[it.image.title_id].add(it.split)
    assert all(len(s) == 1 for s in titles.values())


@settings(max_examples=60, deadline=None)
@given(
    counts=st.dictionaries(st.text("abcdef0123456789_", min_size=1, max_size=8), st.integers(1, 40), min_size=1,
                           max_size=25),
    seed=st.integers(0, 2**31),
    ratios=st.tuples(st.floats(0.05, 1), st.floats(0, 1), st.floats(0.05, 1)),
)
def test_split_is_a_deterministic_partition_of_groups(counts, seed, ratios):
    plan = assign_splits(counts, ratios, seed)
    assert set(plan.by_group) == set(counts) and set(plan.by_group.values()) <= set(SPLITS)
    assert assign_splits(dict(reversed(list(counts.items()))), ratios, seed) == plan  # order does not matter
    wanted = [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]
    if len(counts) >= len(wanted):
        assert set(wanted) <= set(plan.by_group.values())


# ---------------------------------------------------------------- determinism


def test_rerun_gives_byte_identical_files(project, tmp_path):
    for fmt in ("pix2pix", "coco"):
        plan = plan_for(project.root, format=fmt, size=64, workers=0, seed=7)
        run_export(plan, tmp_path / f"{fmt}1")
        run_export(plan_for(project.root, format=fmt, size=64, workers=0, seed=7), tmp_path / f"{fmt}2")
        first, second = tree_bytes(tmp_path / f"{fmt}1"), tree_bytes(tmp_path / f"{fmt}2")
        assert first == second and len(first) > 1


def test_worker_processes_give_the_same_bytes_as_one_process(big_project, tmp_path):
    options = {"format": "pix2pix", "size": 64, "foreground": True}
    run_export(plan_for(big_project.root, workers=0, **options), tmp_path / "inproc")
    run_export(plan_for(big_project.root, workers=2, **options), tmp_path / "pool")
    first, second = tree_bytes(tmp_path / "inproc"), tree_bytes(tmp_path / "pool")
    assert len(first) == len(big_project.faces) + 2 and first == second  # + manifest and landmarks


# ---------------------------------------------------------------- atomic: nothing left behind


def test_full_disk_fails_clearly_and_leaves_nothing(project, tmp_path):
    with tmpfs(tmp_path / "small", "size=1m") as disk:
        plan = plan_for(project.root, format="pix2pix", size=512, workers=0)
        with pytest.raises(ExportError, match="disk is full") as caught:
            run_export(plan, disk / "out")
        assert "nothing was written" in str(caught.value)
        assert leftovers(disk) == []


def test_read_only_file_system_fails_clearly(project, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as disk:
        with pytest.raises(ExportError, match="read-only file system"):
            run_export(plan_for(project.root, format="coco"), disk / "out")
        assert leftovers(disk) == []


def test_unwritable_folder_fails_clearly_without_root_powers(project, tmp_path):
    target = tmp_path / "locked"
    target.mkdir()
    target.chmod(0o555)
    try:
        done = run_without_dac(["-m", "f2a_studio.cli", "export", str(project.root), str(target / "out"),
                                "--format", "concat4", "--size", "64", "--workers", "0"], timeout=120)
    finally:
        target.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert "permission denied" in done.stderr and "nothing was written" in done.stderr
    assert leftovers(target) == []


def test_cancel_leaves_nothing(project, tmp_path):
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if done >= 3:
            cancel.set()

    with pytest.raises(ExportCancelled):
        run_export(plan_for(project.root, format="pix2pix", size=64, workers=0), tmp_path / "out",
                   progress=progress, cancel=cancel)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("workers", [0, 2])
def test_a_failing_cut_mid_export_leaves_nothing(big_project, tmp_path, workers):
    copy = tmp_path / "copy"
    shutil.copytree(big_project.root, copy)
    plan = plan_for(copy, format="pix2pix", size=64, workers=workers)
    victim = plan.cut_files[plan.items[len(plan.items) // 2].image.id]
    victim.write_bytes(bytes(range(256)) * 4)  # binary junk
    out_parent = tmp_path / "exports"
    out_parent.mkdir()
    with pytest.raises(ExportError, match=f"cannot read .*{victim.name}: not a recognised image"):
        run_export(plan, out_parent / "out")
    assert leftovers(out_parent) == []


def test_sigterm_during_cli_export_leaves_nothing(big_project, tmp_path):
    out_parent = tmp_path / "exports"
    out_parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "f2a_studio.cli", "export", str(big_project.root), str(out_parent / "out"),
         "--size", "1024", "--foreground", "--workers", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # wait for the temp folder, however long a busy machine takes to start the CLI (pytest's timeout
        # catches an export that never starts; a deadline here made the test depend on machine speed)
        while not any(PARTIAL_TAG in n for n in leftovers(out_parent)) and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the export ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert leftovers(out_parent) == []


# ---------------------------------------------------------------- the target folder


def test_target_rules_overwrite_and_stale_partials(project, tmp_path):
    plan = plan_for(project.root, format="coco")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        run_export(plan, busy)
    assert leftovers(busy) == ["notes.txt"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        run_export(plan, tmp_path / "afile")
    empty = tmp_path / "empty"
    empty.mkdir()
    run_export(plan, empty)  # an empty folder is fine
    with pytest.raises(ExportError, match="already holds an export"):
        run_export(plan, empty)
    # a crashed export's temp folder (its process is gone) is cleaned up; a running one's is not
    dead = tmp_path / f".empty{PARTIAL_TAG}999999999-dead"
    dead.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = tmp_path / f".empty{PARTIAL_TAG}{sleeper.pid}-live"
        alive.mkdir()
        run_export(plan_for(project.root, format="concat4", size=64, workers=0), empty, overwrite=True)
        assert not dead.exists() and alive.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert json.loads((empty / "manifest.json").read_text())["format"] == "concat4"
    assert not (empty / "annotations.json").exists()  # the old export was replaced, not merged
    assert sorted(n for n in leftovers(tmp_path) if PARTIAL_TAG in n) == [alive.name]


def test_no_face_passing_the_filters_is_a_clear_cli_error(project, tmp_path):
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(project.root), str(tmp_path / "o"),
                           "--title", "nope"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "no face passes the filters" in done.stderr
    assert not (tmp_path / "o").exists()
    # the same filter with a title that exists: the fixture has 12 faces under title 111
    # (3 episodes × 2 cuts × 2 faces), every one of them and no other
    plan = plan_for(project.root, format="coco", filters=FaceFilter(titles=("111",)))
    assert len(plan.items) == 12 and {it.image.title_id for it in plan.items} == {"111"}
