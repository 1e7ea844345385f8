"""Landmarks for hand-drawn and corrected boxes: fitted off the GUI thread, a drawn box's landmarks join
its add step, a sex change refits with the sex as prior, points a person moved stay put."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.models import Box, FaceSource, Sex
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings

WAIT_MS = 60_000  # an upper bound on a background fit (the first one imports scipy), not a timing check


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    project = make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(1, 1), size=(600, 800), durability="normal")
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.resize(1200, 900)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(project, quiet=True)
    yield win
    win.close()


def test_a_drawn_box_gets_68_landmarks_and_one_undo_removes_both(qtbot, window: MainWindow) -> None:
    store, stack = window.session.store, window.session.undo_stack
    steps = stack.count()
    face_id = window.editor.add_box(Box(350, 420, 150, 170))
    assert face_id is not None
    qtbot.waitUntil(lambda: len(store.face(face_id).landmarks) == 68, timeout=WAIT_MS)
    face = store.face(face_id)
    assert face.source is FaceSource.HUMAN and face.pose is not None
    inside = [350 <= x <= 500 and 420 <= y <= 590 for x, y, _ in face.landmarks]
    assert sum(inside) > 34  # fitted to this box, not somewhere else
    assert "landmarks" not in face.human_fields  # the fit is the model's, the box the person's
    assert stack.count() == steps + 1  # the fit joined the add: one step
    stack.undo()
    assert face_id not in {f.id for f in store.faces(face.image_id)}
    stack.redo()
    assert store.face(face_id).landmarks == face.landmarks  # back with its landmarks


def test_a_sex_change_refits_and_moved_points_stay(qtbot, window: MainWindow) -> None:
    store, editor = window.session.store, window.editor
    face_id = editor.add_box(Box(350, 420, 150, 170))
    qtbot.waitUntil(lambda: len(store.face(face_id).landmarks) == 68, timeout=WAIT_MS)
    fitted = store.face(face_id)
    moved = list(fitted.landmarks)
    moved[8] = (moved[8][0] + 12.0, moved[8][1] - 9.0, 2)  # the person drags the chin point
    assert editor.set_landmarks(face_id, tuple(moved))
    window.navigator.select_face(face_id)
    steps = window.session.undo_stack.count()
    assert editor.set_sex(Sex.MALE)
    qtbot.waitUntil(lambda: window.session.undo_stack.count() == steps + 2, timeout=WAIT_MS)
    refit = store.face(face_id)
    assert refit.sex is Sex.MALE and refit.landmarks[8] == moved[8]  # the moved point stayed put
    changed = [i for i in range(68) if refit.landmarks[i] != moved[i]]
    assert changed and 8 not in changed  # the rest follow the male prior
    assert refit.human_points == {8}  # a refit adds no human points
    window.session.undo_stack.undo()  # the refit is its own step: undo gives the person's points back
    assert store.face(face_id).landmarks == tuple(moved)


def test_refit_landmarks_action_on_a_detected_face(qtbot, window: MainWindow) -> None:
    store = window.session.store
    face = store.faces(window.navigator.record.id)[0]
    window.navigator.select_face(face.id)
    window.editor.set_box(face.id, face.box.translated(20, 10))  # a corrected box; landmarks left behind
    steps = window.session.undo_stack.count()
    window.actions["refit_landmarks"].trigger()
    qtbot.waitUntil(lambda: window.session.undo_stack.count() == steps + 1, timeout=WAIT_MS)
    after = store.face(face.id)
    box = after.box
    xs = [x for x, _, _ in after.landmarks]
    assert box.x - box.w * 0.2 < min(xs) and max(xs) < box.x2 + box.w * 0.2
    assert "landmarks" not in after.human_fields and after.human_fields == {"box"}
