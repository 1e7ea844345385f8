"""AtomicExport on its own, in the corners the export runs do not reach: an export with no file at all, the
temp folder reserved before the first write, a relative OUT, a parent folder that cannot be created, and the
stale-partial sweep (dead pid removed, live pid and foreign names left, a moved-aside old export put back).
Fast: no project, no plan, no subprocess."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from f2a_studio.export.atomic import (
    MANIFEST_NAME,
    OLD_TAG,
    PARTIAL_TAG,
    AtomicExport,
    check_target,
    describe_os_error,
    is_export,
    remove_stale_partials,
)
from f2a_studio.export.errors import ExportError

MANIFEST = json.dumps({"f2a_export": 1, "generator": "f2a-studio 1.0", "files": []}).encode()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped (so no process holds it now)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_export_with_no_file_lands_as_an_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with AtomicExport(out):
        pass
    assert out.is_dir() and list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left beside it


def test_the_temp_folder_is_made_and_named_for_this_process_on_entry(tmp_path: Path) -> None:
    """Made before any write: its pid-stamped name is what keeps another export's sweep off it."""
    out = tmp_path / "out"
    sink = AtomicExport(out).__enter__()
    try:
        assert sink.temp is not None and sink.temp.is_dir() and list(sink.temp.iterdir()) == []
        assert sink.temp.parent == tmp_path
        assert sink.temp.name.startswith(f".out{PARTIAL_TAG}{os.getpid()}-")
        assert remove_stale_partials(out) == [] and sink.temp.is_dir()  # this process is alive
    finally:
        sink.discard()
    assert list(tmp_path.iterdir()) == [] and sink.temp is None


def test_a_relative_out_lands_under_the_working_folder_of_the_start(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with AtomicExport("exports/out") as sink:  # a str, as a command line gives it
        sink.write("a.txt", b"a")
        assert sink.out == tmp_path / "exports" / "out"
    assert (tmp_path / "exports" / "out" / "a.txt").read_bytes() == b"a"


def test_a_parent_that_cannot_be_made_is_named_in_the_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a folder should be")
    out = blocker / "sub" / "out"
    with pytest.raises(ExportError) as caught:
        AtomicExport(out).__enter__()
    assert str(caught.value).endswith(f"(while creating {out.parent}); nothing was written")
    assert blocker.read_text() == "a file where a folder should be"


def test_the_sweep_removes_a_dead_exports_partial_and_keeps_a_live_one_and_foreign_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = tmp_path / f".out{PARTIAL_TAG}{dead_pid()}-abcd1234"
    live = tmp_path / f".out{PARTIAL_TAG}{os.getpid()}-abcd1234"
    other = tmp_path / f".other{PARTIAL_TAG}{dead_pid()}-abcd1234"  # another OUT's partial
    for folder in (dead, live, other):
        (folder / "sub").mkdir(parents=True)
    assert remove_stale_partials(out) == [dead]
    assert not dead.exists() and live.is_dir() and other.is_dir()


def test_the_sweep_puts_back_an_old_export_a_killed_overwrite_had_moved_aside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    aside = tmp_path / f".out{PARTIAL_TAG}{dead_pid()}{OLD_TAG}"
    aside.mkdir()
    (aside / MANIFEST_NAME).write_bytes(MANIFEST)
    assert remove_stale_partials(out) == []  # not removed: renamed back
    assert (out / MANIFEST_NAME).read_bytes() == MANIFEST and not aside.exists()


def test_a_moved_aside_folder_is_not_put_back_over_a_new_out_nor_when_it_is_no_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    aside = tmp_path / f".out{PARTIAL_TAG}{dead_pid()}{OLD_TAG}"
    aside.mkdir()
    (aside / MANIFEST_NAME).write_bytes(MANIFEST)
    assert remove_stale_partials(out) == [aside] and list(out.iterdir()) == []
    out.rmdir()
    aside.mkdir()
    (aside / "notes.txt").write_text("no manifest")
    assert remove_stale_partials(out) == [aside] and not out.exists()


@pytest.mark.parametrize(("manifest", "expected"), [
    ({"f2a_export": 1, "generator": "f2a-studio", "files": []}, True),
    ({"f2a_export": 2, "generator": "f2a-studio 0.9", "files": []}, True),
    ({"f2a_export": 0, "generator": "f2a-studio", "files": []}, False),
    ({"f2a_export": True, "generator": "f2a-studio", "files": []}, False),
    ({"f2a_export": 1, "generator": "f2a-studio-fork", "files": []}, False),
    ({"f2a_export": 1, "generator": "f2a-studio", "files": {}}, False),
    ([1, 2], False),
    (None, False),  # no manifest.json at all
])
def test_only_an_f2a_manifest_marks_an_export(tmp_path: Path, manifest: object, expected: bool) -> None:
    if manifest is not None:
        (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert is_export(tmp_path) is expected


def test_check_target_accepts_nothing_or_an_empty_folder_and_refuses_a_file(tmp_path: Path) -> None:
    check_target(tmp_path / "missing", overwrite=False)
    (tmp_path / "empty").mkdir()
    check_target(tmp_path / "empty", overwrite=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="it is a file, not a folder"):
        check_target(tmp_path / "file", overwrite=True)


@pytest.mark.parametrize(("code", "why"), [
    (errno.ENOSPC, "no space left on the disk (the disk is full)"),
    (errno.EDQUOT, "no space left on the disk (the disk is full)"),
    (errno.EROFS, "the target is on a read-only file system"),
    (errno.EACCES, "permission denied: the target folder is not writable"),
    (errno.EPERM, "permission denied: the target folder is not writable"),
    (errno.EFBIG, "file too large for the target (file size limit reached)"),
    (errno.EIO, os.strerror(errno.EIO)),
])
def test_an_os_error_is_told_by_its_cause(code: int, why: str) -> None:
    text = describe_os_error(OSError(code, os.strerror(code)), Path("/x/out"), "writing a.png")
    assert text == f"cannot export to /x/out: {why} (while writing a.png); nothing was written"


def test_files_go_into_nested_folders_and_a_parent_already_made_by_a_deeper_file(tmp_path: Path) -> None:
    """`faces/train/a.png` makes two folders; `faces/b.png` then lands in a folder that exists already."""
    out = tmp_path / "out"
    with AtomicExport(out) as sink:
        sink.write("faces/train/a.png", b"a")
        sink.write("faces/b.png", b"b")
        sink.write("faces/train/c.png", b"c")
    assert (out / "faces" / "train" / "a.png").read_bytes() == b"a"
    assert (out / "faces" / "b.png").read_bytes() == b"b" and (out / "faces" / "train" / "c.png").exists()


def test_an_os_error_raised_inside_the_export_becomes_an_export_error_and_leaves_nothing(tmp_path: Path) -> None:
    """A render reading a cut file, not the sink itself, fails: the user gets the cause, OUT never appears."""
    out = tmp_path / "out"
    with pytest.raises(ExportError) as caught, AtomicExport(out) as sink:
        sink.write("a.txt", b"a")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert "no space left on the disk" in str(caught.value) and "(while writing the export)" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_folder_appearing_at_out_during_the_export_is_not_replaced(tmp_path: Path) -> None:
    """The target is checked again at the rename: someone else's files put at OUT meanwhile stay, and the
    export fails saying why instead of reporting success."""
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="holds no earlier F2A export"), AtomicExport(out) as sink:
        sink.write(MANIFEST_NAME, MANIFEST)
        out.mkdir()
        (out / "thesis.tex").write_text("mine")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the temp folder is gone too


def test_a_discarded_export_refuses_further_writes(tmp_path: Path) -> None:
    sink = AtomicExport(tmp_path / "out").__enter__()
    sink.write("a.txt", b"a")
    sink.discard()
    with pytest.raises(ExportError, match="not open"):
        sink.write("b.txt", b"b")
    sink.discard()  # twice is harmless
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_of_a_parent_that_does_not_exist_removes_nothing(tmp_path: Path) -> None:
    assert remove_stale_partials(tmp_path / "missing" / "out") == []


def _chattr(flag: str, path: Path) -> bool:
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True)
    return done.returncode == 0


def test_a_failed_final_rename_puts_the_old_export_back_and_fails(tmp_path: Path) -> None:
    """The new export cannot be renamed in (here: its temp folder made immutable, so renaming it fails with
    EPERM once the old export is already moved aside): the old export goes back to OUT as it was, the
    export fails naming the rename, and nothing else is left beside OUT."""
    out = tmp_path / "out"
    with AtomicExport(out) as first:
        first.write(MANIFEST_NAME, MANIFEST)
        first.write("old.txt", b"old")
    sink = AtomicExport(out, overwrite=True).__enter__()
    sink.write(MANIFEST_NAME, MANIFEST)
    sink.write("new.txt", b"new")
    temp = sink.temp
    if not _chattr("+i", temp):
        pytest.skip("chattr +i is not available here (needs root and a file system with the flag)")
    try:
        with pytest.raises(ExportError, match="renaming the finished export to out"):
            sink.__exit__(None, None, None)
    finally:
        _chattr("-i", temp)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST_NAME, "old.txt"])
    assert (out / "old.txt").read_bytes() == b"old"
    sink.discard()
    shutil.rmtree(temp, ignore_errors=True)  # discard could not remove it while it was immutable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_stale_partial_that_cannot_be_removed_does_not_stop_the_export(tmp_path: Path) -> None:
    """A dead export's leftover holding a file nobody may delete (immutable here): the sweep skips what it
    cannot remove and the new export goes ahead."""
    out = tmp_path / "out"
    stale = tmp_path / f".out{PARTIAL_TAG}{dead_pid()}-abcd1234"
    stale.mkdir()
    stuck = stale / "stuck.png"
    stuck.write_bytes(b"x")
    if not _chattr("+i", stuck):
        pytest.skip("chattr +i is not available here (needs root and a file system with the flag)")
    try:
        with AtomicExport(out) as sink:
            sink.write("a.txt", b"a")
        assert (out / "a.txt").read_bytes() == b"a"
        assert stuck.exists()  # left where it was, for a person to look at
    finally:
        _chattr("-i", stuck)
