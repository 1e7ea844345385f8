"""Bad targets and faults for `f2a export`: `--overwrite` replaces only an F2A export, the old export stays
whole until the new one is complete, and a SIGKILLed export leaves no process behind.

Part of the `test_bad_inputs_*.py` family (see test_bad_inputs_import.py). To add a case: build the bad
target folder for real, run the export (in a child process when it is killed), and assert both the message
and what is left on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, write_png
from process_table import descendants, kill_and_collect_left
from test_export_data import big_project_fixture, project_fixture, tree_bytes  # noqa: F401

from f2a_studio.core.manifest import ManifestError, read_manifest, verify_export
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportError, ExportOptions, plan_export, run_export
from f2a_studio.export.atomic import OLD_TAG, PARTIAL_TAG, remove_stale_partials
from f2a_studio.export.human import MAX_PTS_BYTES, plan_human_photos

BOUND_S = 120  # failure bound for waits on child processes, far above what they need


def plan_for(root: Path, **options):
    with ProjectStore.open(root, read_only=True) as store:
        return plan_export(store, ExportOptions(**options))


def web_app(folder: Path, manifest: object) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "index.html").write_text("<html>mine</html>")
    return tree_bytes(folder)


# ---------------------------------------------------------------- case 3: --overwrite


@pytest.mark.parametrize("manifest", [
    {"name": "My web app", "start_url": "/", "icons": []},  # a PWA manifest
    {"f2a_export": 1, "files": []},  # no generator
    {"f2a_export": 1, "generator": "someone-else 2.0", "files": []},
    {"f2a_export": "1", "generator": "f2a-studio 0.1", "files": []},
    {"f2a_export": 1, "generator": "f2a-studio 0.1", "files": "all"},
    ["f2a_export"],
])
def test_overwrite_refuses_a_folder_that_holds_no_f2a_export(project, tmp_path: Path, manifest) -> None:
    target = tmp_path / "site"
    before = web_app(target, manifest)
    plan = plan_for(project.root, format="coco")
    with pytest.raises(ExportError, match="holds no earlier F2A export"):
        run_export(plan, target, overwrite=True)
    assert tree_bytes(target) == before
    assert [p.name for p in tmp_path.iterdir() if PARTIAL_TAG in p.name] == []


def test_the_cli_overwrite_leaves_a_foreign_folder_untouched(project, tmp_path: Path) -> None:
    target = tmp_path / "site"
    before = web_app(target, {"name": "app"})
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(project.root), str(target),
                           "-f", "coco", "--overwrite"], capture_output=True, text=True, timeout=BOUND_S)
    assert done.returncode == 2 and "not an F2A export manifest" in done.stderr
    assert tree_bytes(target) == before


def test_a_failed_overwrite_leaves_the_old_export_whole(big_project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_export(plan_for(big_project.root, format="concat4", size=64, workers=0), out)
    old = tree_bytes(out)
    copy = tmp_path / "copy"
    shutil.copytree(big_project.root, copy)
    plan = plan_for(copy, format="pix2pix", size=64, workers=0)
    plan.cut_files[plan.items[-1].image.id].write_bytes(b"junk" * 100)  # the new export fails at its end
    with pytest.raises(ExportError):
        run_export(plan, out, overwrite=True)
    assert tree_bytes(out) == old
    assert [p.name for p in tmp_path.iterdir() if PARTIAL_TAG in p.name] == []


def test_an_old_export_moved_aside_by_a_killed_export_is_put_back(project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_export(plan_for(project.root, format="coco"), out)
    old = tree_bytes(out)
    # A child process moves the old export aside exactly as the commit does, and is killed before
    # renaming the new one in.
    code = ("import os, sys, time\nout = sys.argv[1]\n"
            f"aside = os.path.join(os.path.dirname(out), '.' + os.path.basename(out) + {PARTIAL_TAG!r} + "
            f"str(os.getpid()) + {OLD_TAG!r})\n"
            "os.replace(out, aside)\nprint(aside, flush=True)\ntime.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        aside = Path(child.stdout.readline().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert aside.is_dir() and not out.exists()
    remove_stale_partials(out)  # what the next export to OUT does first
    assert tree_bytes(out) == old and not aside.exists()
    run_export(plan_for(project.root, format="concat4", size=64, workers=0), out, overwrite=True)
    assert json.loads((out / "manifest.json").read_text())["format"] == "concat4"


# ---------------------------------------------------------------- case 5: SIGKILL


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_sigkill_of_an_export_leaves_no_worker_fork_server_or_tracker(big_project, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "f2a_studio.cli", "export", str(big_project.root), str(tmp_path / "out"),
         "--size", "1024", "--foreground", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + BOUND_S
        # fork server + resource tracker + two workers
        while len(helpers := descendants(proc.pid)) < 4:
            assert proc.poll() is None, "the export ended before its workers started"
            assert time.monotonic() < deadline, f"the workers never started ({helpers})"
            time.sleep(0.05)
    except BaseException:
        kill_and_collect_left(proc, helpers, BOUND_S)
        raise
    left = kill_and_collect_left(proc, helpers, BOUND_S)
    assert left == set(), f"still running after the export was killed: {sorted(left)}"


# ---------------------------------------------------------------- extra: human photos' .pts files


def test_a_pts_file_that_is_a_fifo_or_huge_is_skipped_with_the_reason(tmp_path: Path) -> None:
    photos = tmp_path / "humans"
    for name in ("pipe", "huge"):
        write_png(photos / f"{name}.png", noise_image(np.random.default_rng(1), 64, 64))
    os.mkfifo(photos / "pipe.pts")
    with (photos / "huge.pts").open("wb") as handle:
        handle.write(b"version: 1\n{\n" + b"1 2\n" * 100)
        handle.truncate(MAX_PTS_BYTES * 8)
    plan = plan_human_photos(photos, seed=0, ratios=(0.8, 0.1, 0.1))  # returns: nothing blocks on the FIFO
    reasons = {Path(s.path).name: s.reason for s in plan.skipped}
    assert plan.items == []
    assert "pipe.pts is a FIFO" in reasons["pipe.png"]
    assert "too large for a .pts landmark file" in reasons["huge.png"]


# ---------------------------------------------------------------- extra: manifests read by trainer and preview


@pytest.mark.parametrize("name", ["../outside.png", "/etc/hostname", "a/../../x.png", ""])
def test_a_manifest_listing_files_outside_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(
        {"f2a_export": 1, "generator": "f2a-studio 0", "files": [{"path": name, "sha256": "0" * 64}]}))
    with pytest.raises(ManifestError, match=r"files\[0\]"):
        read_manifest(folder)


def test_a_manifest_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    os.mkfifo(folder / "manifest.json")
    with pytest.raises(ManifestError, match="FIFO"):
        read_manifest(folder)


def test_verify_export_does_not_follow_a_link_out_of_the_export(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(b"secret")
    (folder / "a.png").symlink_to(tmp_path / "secret.png")
    (folder / "manifest.json").write_text(json.dumps(
        {"f2a_export": 1, "generator": "f2a-studio 0", "files": [{"path": "a.png", "sha256": "0" * 64}]}))
    assert verify_export(folder) == ["a.png: not a regular file inside the export"]
