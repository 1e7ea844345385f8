"""200 mixed edits through the studio's editor, then all undone and all redone: every state matches."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.models import Box, FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings

EDITS = 200


def snapshot(store: ProjectStore) -> tuple:
    """Everything a user can change, for every face; revision and timestamps left out."""
    out = []
    for face in store.all_faces():
        data = face.to_json()
        data.pop("revision")
        data.pop("updated_at")
        out.append(repr(sorted(data.items())))
    return tuple(out)


def test_200_mixed_edits_undo_and_redo_exactly(qtbot, tmp_path: Path) -> None:
    project = make_demo_project(tmp_path / "p", cuts=3, faces_per_cut=(2, 3, 1), size=(500, 700), durability="normal")
    win = MainWindow(StudioSettings.in_file(tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(project, quiet=True)
    store, editor, nav, stack = win.session.store, win.editor, win.navigator, win.session.undo_stack
    rng = random.Random(4)
    states = {0: snapshot(store)}
    kinds = ["status", "sex", "color", "nudge", "box", "landmarks", "visibility", "add", "delete"]
    done = {k: 0 for k in kinds}
    for step in range(EDITS):
        faces = store.all_faces()
        face = rng.choice(faces)
        nav.select_face(face.id, reveal=False)
        kind = rng.choice(kinds)
        if kind == "status":
            editor.set_status(rng.choice(list(FaceStatus)))
        elif kind == "sex":
            editor.set_sex(rng.choice(list(Sex)))
        elif kind == "color":
            editor.set_color(rng.choice(["skin", "hair", "left_eye", "right_eye"]),
                             rng.choice([None, f"#{rng.randrange(1 << 24):06x}"]))
        elif kind == "nudge":
            if face.landmarks and rng.random() < 0.5:
                nav.select_face(face.id, tuple(sorted(rng.sample(range(68), 3))), reveal=False)
            for _ in range(rng.randint(1, 3)):  # a burst merges into one step
                editor.nudge(rng.choice([-1, 1, 10]), rng.choice([-1, 0, 1]))
        elif kind == "box":
            b = face.box
            editor.set_box(face.id, Box(b.x + rng.uniform(-5, 5), b.y + rng.uniform(-5, 5), b.w * 1.05, b.h))
        elif kind == "landmarks" and face.landmarks:
            i = rng.randrange(68)
            x, y, _ = face.landmarks[i]
            editor.set_landmarks(face.id, face.with_landmark(i, x + 3, y - 2).landmarks)
        elif kind == "visibility" and face.landmarks:
            nav.select_face(face.id, tuple(sorted(rng.sample(range(68), 4))), reveal=False)
            editor.toggle_visibility()
        elif kind == "add":
            editor.add_box(Box(rng.uniform(0, 300), rng.uniform(0, 400), 60, 70))
        elif kind == "delete" and len(faces) > 2:
            editor.delete()
        done[kind] += 1
        states[stack.index()] = snapshot(store)
        # A drawn box or a sex change fits landmarks in the background (it lands through the event loop, so
        # not before this wait): a drawn box's fit joins its step, a sex change's refit is a step of its own.
        qtbot.waitUntil(editor.refitter.idle, timeout=60_000)
        states[stack.index()] = snapshot(store)
        assert stack.index() == stack.count()
        if step == EDITS // 2:
            editor._nudge = None  # the next nudge must not merge across the checkpoint below

    assert all(done.values()), done
    top = stack.index()
    assert top > 120  # merges and no-ops (same status again...) aside, most edits are their own step
    for index in range(top - 1, -1, -1):
        stack.undo()
        assert stack.index() == index
        assert snapshot(store) == states[index], f"undo to step {index} differs"
    for index in range(1, top + 1):
        stack.redo()
        assert snapshot(store) == states[index], f"redo to step {index} differs"
    # The scene shows the stored faces of the open cut, nothing else.
    shown = {fid: item.face for fid, item in win.scene.items_by_id.items()}
    assert shown == {f.id: f for f in store.faces(nav.record.id)}
    win.close()
