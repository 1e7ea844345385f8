"""Bad project databases and a disk that fails under the store: a clear cause named, no raw sqlite
traceback, no orphan cut file, nothing re-initialised behind the user's back.

Part of the `test_bad_inputs_*.py` family (see test_bad_inputs_import.py). To add a case: damage a real
project (its SQLite file, its folder, the disk under it), run the command a user would, and assert the
message and that the project (or what is left of it) is intact.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, write_png
from privileges import run_without_dac

from f2a_studio.core.errors import ProjectError
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face
from f2a_studio.core.store import DB_NAME, ProjectStore

RNG = np.random.default_rng(5)
BOUND_S = 120


def f2a(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "f2a_studio.cli", *args], capture_output=True, text=True,
                          timeout=BOUND_S)


def cut_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "cuts").rglob("*") if p.is_file())


# ---------------------------------------------------------------- case 10: zero-byte and foreign databases


@pytest.mark.parametrize("command", ["import", "detect", "info", "export"])
def test_a_zero_byte_database_is_refused_not_reinitialised(tmp_path: Path, command: str) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / DB_NAME).write_bytes(b"")
    image = write_png(tmp_path / "a.png", noise_image(RNG, 30, 30))
    args = {"import": [str(image)], "export": [str(tmp_path / "out")]}.get(command, [])
    done = f2a(command, str(project), *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{DB_NAME} is empty: not an F2A project; remove it to start a new project" in done.stderr
    assert (project / DB_NAME).stat().st_size == 0
    assert cut_files(project) == []


def test_another_programs_sqlite_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    with sqlite3.connect(project / DB_NAME) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('mine')")
    conn.close()
    before = (project / DB_NAME).read_bytes()
    with pytest.raises(ProjectError, match=r"not an F2A project database .*notes"):
        ProjectStore.open(project)
    assert (project / DB_NAME).read_bytes() == before


# ---------------------------------------------------------------- case 10: a damaged face row


def _project_with_a_damaged_face(root: Path) -> tuple[int, int]:
    with ProjectStore.create(root) as store:
        report = import_sources(store, [write_png(root.parent / "src.png", noise_image(RNG, 200, 240))])
        image_id = report.added[0].id
        good = store.add_face(Face(image_id=image_id, box=Box(10, 10, 50, 50)))
        bad = store.add_face(Face(image_id=image_id, box=Box(100, 20, 60, 60)))
    with sqlite3.connect(root / DB_NAME) as conn:
        conn.execute("UPDATE faces SET landmarks = '[[1, 2, 2], [3' WHERE id = ?", (bad.id,))
    conn.close()
    return good.id, bad.id


def test_a_damaged_face_row_is_skipped_and_reported_by_the_store(tmp_path: Path) -> None:
    good, bad = _project_with_a_damaged_face(tmp_path / "p")
    with ProjectStore.open(tmp_path / "p") as store:
        faces = store.all_faces()
        assert [f.id for f in faces] == [good]
        assert [f.id for f in store.faces(faces[0].image_id)] == [good]
        assert list(store.broken_faces) == [bad] and "damaged row" in store.broken_faces[bad]
        with pytest.raises(ProjectError, match=f"face {bad} .* is damaged"):
            store.face(bad)


def test_detect_redo_reports_a_damaged_face_row_and_leaves_it(tmp_path: Path) -> None:
    pytest.importorskip("animeface")
    _good, bad = _project_with_a_damaged_face(tmp_path / "p")
    done = f2a("detect", str(tmp_path / "p"), "--redo", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and f"skipped face {bad}: damaged row" in done.stderr
    with sqlite3.connect(tmp_path / "p" / DB_NAME) as conn:  # never deleted: it may be a person's work
        assert conn.execute("SELECT count(*) FROM faces WHERE id = ?", (bad,)).fetchone()[0] == 1
    conn.close()


def test_the_studio_shows_a_cut_with_a_damaged_face_row(qtbot, tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    good, bad = _project_with_a_damaged_face(tmp_path / "p")
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    try:
        assert win.open_project(tmp_path / "p", quiet=True)
        assert win.select_face(good)
        assert win.navigator.face_id == good
        assert bad in win.navigator.reader.store.broken_faces  # skipped, and known to be damaged
        win.navigator.open_cut(win.navigator.record.id, force=True)
        assert f"face(s) {bad} on this cut are damaged" in win.status.currentMessage()
    finally:
        win.close()


# ---------------------------------------------------------------- case 4: disk full, read-only database


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a tmpfs mount, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill the file system, then free `leave` bytes again (room for a small cut file, not for the WAL)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(bytes(4096))
        except OSError:
            pass
    os.truncate(filler, filler.stat().st_size - leave)


def test_a_full_disk_under_the_database_is_named_and_leaves_no_orphan_cut(tiny_disk: Path, tmp_path: Path) -> None:
    source = write_png(tmp_path / "src" / "a.png", noise_image(RNG, 20, 20))  # a cut of one page
    with ProjectStore.create(tiny_disk / "proj") as store:
        _fill(tiny_disk, 4096)
        with pytest.raises(ProjectError) as info:
            import_sources(store, [source])
        message = str(info.value)
        assert f"the disk holding {tiny_disk / 'proj'} is full" in message or "the disk is full" in message
        assert "rollback" not in message
        assert store.image_count() == 0 and store.integrity_check() == "ok"
    assert cut_files(tiny_disk / "proj") == []


def test_a_read_only_database_file_is_named_and_leaves_no_orphan_cut(tmp_path: Path) -> None:
    project = tmp_path / "p"
    with ProjectStore.create(project):
        pass
    (project / DB_NAME).chmod(0o444)
    image = write_png(tmp_path / "a.png", noise_image(RNG, 30, 30))
    try:
        done = run_without_dac(["-m", "f2a_studio.cli", "import", str(project), str(image)], timeout=BOUND_S)
    finally:
        (project / DB_NAME).chmod(0o644)
    assert done.returncode == 2, done.stderr
    assert "the project database is read-only" in done.stderr
    assert "Traceback" not in done.stderr and "sqlite3" not in done.stderr
    assert cut_files(project) == []
    with ProjectStore.open(project, read_only=True) as store:
        assert store.image_count() == 0 and store.integrity_check() == "ok"
