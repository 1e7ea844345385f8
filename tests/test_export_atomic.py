"""The atomic export seen from outside: what another program polling OUT can see while an export runs.

Each test names the mutation of export/atomic.py or export/runner.py it is there to catch (each was made
by hand, seen to fail the test, and reverted; `make mutate` repeats that for every small change).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_export_data import project_fixture, tree_bytes  # noqa: F401  (fixture)

from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportCancelled, ExportError, ExportOptions, plan_export, run_export
from f2a_studio.export.atomic import MANIFEST_NAME, PARTIAL_TAG, AtomicExport, FileEntry


def plan_for(root: Path, **options):
    with ProjectStore.open(root, read_only=True) as store:
        return plan_export(store, ExportOptions(**options))


def partials(parent: Path, out: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.name.startswith(f".{out.name}{PARTIAL_TAG}"))


def file_names(folder: Path) -> frozenset[str] | None:
    """The files under `folder` (relative paths), or None when it does not exist (or vanished mid-walk).

    Walked through directory descriptors (os.fwalk): once `folder` is opened, the listing is of that one
    folder even if the export swaps another in under its name meanwhile. A walk by path names (rglob) could
    list half the old export and half the new one across the swap, a mixture no single folder ever held.
    A walk of the old export that was still going when the swap set it aside can see it being deleted
    (the test was flaky on loaded machines): such a look counts as a look at nothing, and only then.
    The old export is deleted only after it left OUT's name, so a folder still under that name after the
    walk lost nothing during it, and a walk that saw a part of it is still caught."""

    def fail(exc: OSError) -> None:
        raise exc

    try:
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # absent, or renamed away while being opened: a look at nothing
        return None
    try:
        names = set()
        for dirpath, _dirs, files, _fd in os.fwalk(".", dir_fd=top, onerror=fail):
            names.update(os.path.normpath(os.path.join(dirpath, f)) for f in files)
        if os.stat(folder).st_ino != os.fstat(top).st_ino:
            return None  # set aside (and perhaps being deleted) while it was walked
        return frozenset(names)
    except OSError:  # renamed away or deleted mid-walk
        return None
    finally:
        os.close(top)


@dataclass
class Look:
    """One look at the export folder's parent, taken at a progress report (on the exporting thread)."""

    done: int
    out: dict[str, bytes] | None  # OUT's files and bytes, None when absent
    temps: list[Path]
    temp_inode: int | None  # (the one temp folder's inode, when there is exactly one)
    temp_files: dict[str, int] = field(default_factory=dict)  # relative path -> inode


class Observer:
    """A progress callback that looks at OUT and its temp folder at every report."""

    def __init__(self, out: Path, *, cancel_at: int | None = None, cancel: threading.Event | None = None) -> None:
        self.out = out
        self.looks: list[Look] = []
        self.cancel_at = cancel_at
        self.cancel = cancel

    def __call__(self, done: int, total: int, what: str) -> None:
        temps = partials(self.out.parent, self.out)
        look = Look(done, tree_bytes(self.out) if self.out.exists() else None, temps, None)
        if len(temps) == 1:
            look.temp_inode = temps[0].stat().st_ino
            look.temp_files = {str(p.relative_to(temps[0])): p.stat().st_ino for p in temps[0].rglob("*")
                               if p.is_file()}
        self.looks.append(look)
        if self.cancel is not None and self.cancel_at is not None and done >= self.cancel_at:
            self.cancel.set()


class Watcher(threading.Thread):
    """Another reader polling OUT as fast as it can while the export runs (a second, unsynchronised view)."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.seen: list[frozenset[str] | None] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.seen.append(file_names(self.out))
            time.sleep(0.0005)  # let the exporting thread run

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


def test_a_new_export_appears_in_one_rename_of_its_temp_folder(project, tmp_path):
    """Guards: "no temp folder, writes straight into OUT" (OUT seen before the end), and "the final rename
    replaced by copy + delete" (OUT would be a new folder, not the temp folder's inode, and its files new
    inodes too); the watcher thread would also catch a copy half done."""
    out = tmp_path / "exports" / "out"
    observer = Observer(out)
    with Watcher(out) as watcher:
        run_export(plan_for(project.root, format="pix2pix", size=64, workers=0), out, progress=observer)
    final = file_names(out)
    assert final is not None and "manifest.json" in final and "landmarks.json" in final
    assert len(final) == len(project.faces) + 2
    during = [look for look in observer.looks if look.done > 0]
    assert len(during) >= 2
    assert all(look.out is None for look in during), "OUT was visible before the export was complete"
    inodes = {look.temp_inode for look in during}
    assert len(inodes) == 1 and None not in inodes, "expected one temp folder for the whole export"
    (temp_inode,) = inodes
    assert out.stat().st_ino == temp_inode  # OUT *is* the temp folder, renamed
    written = during[-1].temp_files
    assert written and all((out / rel).stat().st_ino == ino for rel, ino in written.items())  # files moved, not copied
    assert partials(out.parent, out) == []
    # the other reader saw nothing, or everything: never a part
    assert watcher.seen and all(s is None or s == final for s in watcher.seen)


def test_overwrite_keeps_the_old_export_whole_until_the_new_one_replaces_it(project, tmp_path):
    """Guards: "--overwrite deletes the old export before the new one is complete" (the old files must be
    there, byte for byte, at every progress report) and "the rename replaced by copy + delete"."""
    out = tmp_path / "out"
    run_export(plan_for(project.root, format="coco"), out)
    old = tree_bytes(out)
    observer = Observer(out)
    with Watcher(out) as watcher:
        run_export(plan_for(project.root, format="concat4", size=64, workers=0), out, overwrite=True,
                   progress=observer)
    new = tree_bytes(out)
    assert "annotations.json" in old and "annotations.json" not in new  # replaced, not merged
    during = [look for look in observer.looks if look.done > 0]
    assert during and all(look.out == old for look in during)
    (temp_inode,) = {look.temp_inode for look in during}
    assert out.stat().st_ino == temp_inode
    assert partials(tmp_path, out) == []  # the old export, set aside for the swap, is gone too
    names = {frozenset(old), frozenset(new)}
    # today OUT is briefly absent between setting the old one aside and renaming the new one in;
    # what no reader may ever see is a mixture or a part of either
    assert all(s is None or s in names for s in watcher.seen)


def test_cancelled_overwrite_leaves_the_old_export_intact(project, tmp_path):
    """Guards: "--overwrite deletes (or empties) the old export before the new one is complete"."""
    out = tmp_path / "out"
    run_export(plan_for(project.root, format="coco"), out)
    old = tree_bytes(out)
    cancel = threading.Event()
    with pytest.raises(ExportCancelled):
        run_export(plan_for(project.root, format="pix2pix", size=64, workers=0), out, overwrite=True,
                   progress=Observer(out, cancel_at=3, cancel=cancel), cancel=cancel)
    assert tree_bytes(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left either


def test_failed_overwrite_leaves_the_old_export_intact(project, tmp_path):
    """A cut that cannot be read half-way through. Guards: "--overwrite deletes the old export first"."""
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy)
    out = tmp_path / "exports" / "out"
    run_export(plan_for(copy, format="concat4", size=64, workers=0), out)
    old = tree_bytes(out)
    plan = plan_for(copy, format="pix2pix", size=64, workers=0)
    victim = plan.cut_files[plan.items[len(plan.items) // 2].image.id]
    victim.write_bytes(b"\x89PNG not really")
    with pytest.raises(ExportError, match="not a recognised image"):
        run_export(plan, out, overwrite=True)
    assert tree_bytes(out) == old
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_overwrite_refuses_a_folder_that_holds_no_export(project, tmp_path):
    """Guards: "--overwrite replaces a folder that holds no export" (someone's own files)."""
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    (mine / "sub" / "photo.png").write_bytes(b"not an export")
    before = tree_bytes(mine)
    with pytest.raises(ExportError, match="holds no earlier F2A export"):
        run_export(plan_for(project.root, format="coco"), mine, overwrite=True)
    assert tree_bytes(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_sigkill_during_cli_overwrite_leaves_the_old_export_and_the_next_run_cleans_up(project, tmp_path):
    """kill -9 cannot clean up: the old export must still be whole, the dead run's temp folder is left
    for the next export to remove. Guards: "--overwrite deletes the old export before the new one is
    complete", "no temp folder", and "stale temp folders are never removed"."""
    out = tmp_path / "out"
    run_export(plan_for(project.root, format="coco"), out)
    old = tree_bytes(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "f2a_studio.cli", "export", str(project.root), str(out), "--format", "pix2pix",
         "--size", "1024", "--workers", "0", "--overwrite"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        # wait (on events, not on a clock) until the new export has written a file into its temp folder
        while proc.poll() is None:
            temps = partials(tmp_path, out)
            if temps and any(p.is_file() for p in temps[0].rglob("*")):
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the export ended before it could be killed: {proc.stderr.read()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert tree_bytes(out) == old
    (stale,) = partials(tmp_path, out)
    assert f"{PARTIAL_TAG}{proc.pid}-" in stale.name
    run_export(plan_for(project.root, format="concat4", size=64, workers=0), out, overwrite=True)
    assert partials(tmp_path, out) == [] and "annotations.json" not in tree_bytes(out)


def test_the_sink_records_what_it_wrote_and_refuses_to_write_once_closed(tmp_path):
    """AtomicExport on its own. Guards: `return entry` → None, the deleted "not open" refusal, the
    overwrite default turned on, and `parent.mkdir(parents=True)` → False (OUT two folders down)."""
    out = tmp_path / "a" / "b" / "out"
    with AtomicExport(out) as sink:
        entry = sink.write("train/x.bin", b"abc", split="train", faces=((4, 2),))
        # a manifest as an F2A export writes it: only then does OUT count as an earlier export
        sink.write(MANIFEST_NAME, b'{"f2a_export": 1, "files": [], "generator": "f2a-studio 0"}')
    assert entry == FileEntry("train/x.bin", hashlib.sha256(b"abc").hexdigest(), 3, "train", ((4, 2),))
    assert sink.entries[0] == entry and (out / "train" / "x.bin").read_bytes() == b"abc"
    with pytest.raises(ExportError, match="not open"):
        sink.write("late.bin", b"x")
    with pytest.raises(ExportError, match="already holds an export"):  # no overwrite unless asked
        AtomicExport(out).__enter__()
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_an_export_leaves_no_file_descriptor_open(project, tmp_path):
    """Guards the deleted `os.close(fd)` of the folder fsync (and of the file-system flush)."""
    plan = plan_for(project.root, format="concat4", size=64, workers=0)
    run_export(plan, tmp_path / "warm")  # first-use imports and caches open what they keep
    before = len(os.listdir("/proc/self/fd"))
    for k in range(3):
        run_export(plan, tmp_path / f"out{k}")
    assert len(os.listdir("/proc/self/fd")) == before
