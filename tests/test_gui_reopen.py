"""Picking up where you left off: a project reopens on its last cut and face, with its browser filter."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.panels.browser_model import CutFilter
from f2a_studio.gui.settings import ProjectPlace, StudioSettings


def studio(qtbot, settings: Path) -> MainWindow:
    win = MainWindow(StudioSettings.in_file(settings))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_reopen_restores_cut_face_and_filter_per_project(qtbot, tmp_path: Path) -> None:
    a = make_demo_project(tmp_path / "a", cuts=3, faces_per_cut=(1, 2, 2), size=(300, 400), durability="normal")
    b = make_demo_project(tmp_path / "b", cuts=2, faces_per_cut=(1, 1), size=(300, 400), durability="normal")
    settings = tmp_path / "settings.ini"
    win = studio(qtbot, settings)
    assert win.open_project(a, quiet=True)
    first = win.navigator.record.id
    last = win.navigator.order[-1]
    assert last != first
    win.navigator.open_cut(last)
    face = win.session.reads.faces(last)[1].id
    assert win.navigator.select_face(face)
    win.browser.set_filter(CutFilter.UNREVIEWED)
    assert win.open_project(b, quiet=True)  # another project: its own place, not a's
    assert win.browser.cut_filter is CutFilter.ALL and win.navigator.face_id is None
    win.close()

    again = studio(qtbot, settings)  # a new studio on the same preferences
    assert again.open_project(a, quiet=True)
    assert again.navigator.record.id == last
    assert again.navigator.face_id == face
    assert again.inspector.face is not None and again.inspector.face.id == face
    assert again.browser.cut_filter is CutFilter.UNREVIEWED
    assert "starts here" in again.history.emptyLabel()  # undo history is this session's, and says so
    again.close()


def test_a_place_that_is_gone_falls_back_to_the_first_cut_with_faces(qtbot, tmp_path: Path) -> None:
    a = make_demo_project(tmp_path / "a", cuts=2, faces_per_cut=(0, 1), size=(300, 400), durability="normal")
    settings = tmp_path / "settings.ini"
    win = studio(qtbot, settings)
    assert win.open_project(a, quiet=True)
    with_faces = win.navigator.record.id
    win.close()
    StudioSettings.in_file(settings).save_project_place(a, ProjectPlace(image_id=999, face_id=12345))
    again = studio(qtbot, settings)
    assert again.open_project(a, quiet=True)
    assert again.navigator.record.id == with_faces and again.navigator.face_id is None
    again.close()
