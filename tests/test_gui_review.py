"""Keyboard-first review on the real studio window (offscreen Qt, real SQLite project)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from studio_window import open_studio

from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_project(tmp_path_factory.mktemp("tpl") / "demo", cuts=4, faces_per_cut=(1, 3, 0, 2),
                             size=(600, 800), durability="normal")


@pytest.fixture()
def project(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(demo_template, target, ignore=shutil.ignore_patterns(".f2a.lock"))
    return target


@pytest.fixture()
def window(qtbot, project: Path, tmp_path: Path):
    win = open_studio(qtbot, tmp_path / "settings.ini", project)
    yield win
    win.close()


def key(win: MainWindow, k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    win.view.setFocus()
    QTest.keyClick(win.view, k, modifier)


def test_keyboard_review_updates_store(window: MainWindow, project: Path) -> None:
    store = window.session.store
    key(window, Qt.Key.Key_Space)  # lowest-confidence unreviewed face first
    unreviewed = sorted(store.all_faces(status="unreviewed"), key=lambda f: (f.score, f.id))
    first = window.navigator.face_id
    assert first == unreviewed[0].id
    window.actions["advance"].setChecked(False)
    key(window, Qt.Key.Key_A)
    assert store.face(first).status is FaceStatus.ACCEPTED
    key(window, Qt.Key.Key_F)
    assert store.face(first).sex is Sex.FEMALE and store.face(first).sex_prob == 1.0
    key(window, Qt.Key.Key_M)
    assert store.face(first).sex is Sex.MALE
    key(window, Qt.Key.Key_X)
    assert store.face(first).status is FaceStatus.REJECTED
    key(window, Qt.Key.Key_U)
    assert store.face(first).sex is Sex.UNKNOWN
    # Space goes on to the next lowest score; A with "advance" jumps along the queue.
    window.actions["advance"].setChecked(True)
    key(window, Qt.Key.Key_Space)
    second = window.navigator.face_id
    assert second == unreviewed[1].id
    key(window, Qt.Key.Key_A)
    assert store.face(second).status is FaceStatus.ACCEPTED
    assert window.navigator.face_id == unreviewed[2].id
    # Undo/redo on the keyboard, and the inspector follows the store.
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.face(second).status is FaceStatus.UNREVIEWED
    assert window.navigator.face_id == second
    assert window.inspector.status_buttons[FaceStatus.UNREVIEWED].isChecked()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert store.face(second).status is FaceStatus.ACCEPTED
    # Every change above is already on disk: a second reader sees it.
    with ProjectStore.open(project, read_only=True) as reader:
        assert reader.face(second).status is FaceStatus.ACCEPTED
        assert reader.face(first).status is FaceStatus.REJECTED


def test_tab_cycles_faces_and_arrows_nudge_as_one_undo_step(window: MainWindow) -> None:
    store = window.session.store
    nav = window.navigator
    three = next(r.id for r in store.images() if len(store.faces(r.id)) == 3)
    nav.open_cut(three)
    seen = []
    for _ in range(4):
        key(window, Qt.Key.Key_Tab)
        seen.append(nav.face_id)
    assert len(set(seen[:3])) == 3 and seen[3] == seen[0]
    key(window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert nav.face_id == seen[2]
    face = store.face(nav.face_id)
    for _ in range(3):
        key(window, Qt.Key.Key_Right)
    key(window, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    moved = store.face(face.id).box
    assert (moved.x, moved.y) == pytest.approx((face.box.x + 3, face.box.y + 10))
    assert window.session.undo_stack.count() == 1  # a burst of nudges is one undo step
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.face(face.id).box == face.box


def test_delete_and_undo_restores_the_same_face(window: MainWindow) -> None:
    store = window.session.store
    key(window, Qt.Key.Key_Space)
    victim = store.face(window.navigator.face_id)
    key(window, Qt.Key.Key_Delete)
    assert all(f.id != victim.id for f in store.faces(victim.image_id))
    assert victim.id not in window.scene.items_by_id
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    back = store.face(victim.id)
    assert back.box == victim.box and back.landmarks == victim.landmarks
    assert victim.id in window.scene.items_by_id


def test_threshold_slider_hides_and_shows_detector_faces(window: MainWindow) -> None:
    store = window.session.store
    image_id = next(r.id for r in store.images() if len(store.faces(r.id)) == 3)
    window.navigator.open_cut(image_id)
    faces = store.faces(image_id)
    second_lowest = sorted(f.score for f in faces)[1]
    window.threshold_slider.setValue(int(second_lowest * 100))  # at or just below the second-lowest score
    expected_hidden = {f.id for f in faces if f.score < window.threshold}
    assert expected_hidden, "the threshold must hide at least one face"
    for f in faces:
        assert window.scene.items_by_id[f.id].isVisible() is (f.id not in expected_hidden)
    assert len(store.faces(image_id)) == 3  # hidden, not deleted
    # Space skips hidden faces; editing a face makes it human-touched, so it stays visible.
    window.threshold_slider.setValue(0)
    assert all(item.isVisible() for item in window.scene.items_by_id.values())
    window.threshold_slider.setValue(100)
    assert not any(item.isVisible() for item in window.scene.items_by_id.values())
    key(window, Qt.Key.Key_Space)
    assert window.navigator.face_id is None  # nothing visible to review


def test_read_only_when_another_program_holds_the_project(qtbot, project: Path, tmp_path: Path) -> None:
    with ProjectStore.open(project) as writer:
        face = writer.all_faces()[0]
        win = MainWindow(StudioSettings.in_file(tmp_path / "s.ini"))
        qtbot.addWidget(win)
        win.show()
        assert win.open_project(project, quiet=True)
        assert win.session.read_only
        assert win.banner.isVisible() and "another F2A Studio" in win.banner.text()
        assert "read-only" in win.windowTitle()
        assert not win.actions["accept"].isEnabled() and not win.actions["delete"].isEnabled()
        win.select_face(face.id)
        key(win, Qt.Key.Key_A)
        key(win, Qt.Key.Key_Right)
        assert writer.face(face.id) == face  # nothing written
        assert not win.inspector.delete_button.isEnabled()
        win.close()


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_cut_shows_placeholder(window: MainWindow, damage: str, qtbot) -> None:
    store = window.session.store
    record = next(r for r in store.images() if store.faces(r.id))
    path = store.cut_file(record)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    window.cache.invalidate(record.id)
    window.navigator.open_cut(record.id, force=True)
    qtbot.waitUntil(lambda: window.view.notice.isVisible(), timeout=5000)
    assert window.scene.image_item.is_placeholder
    assert record.name in window.view.notice.text()
    assert window.scene.items_by_id  # the faces are still there to review
    key(window, Qt.Key.Key_Tab)
    chosen = window.navigator.face_id
    key(window, Qt.Key.Key_A)
    assert store.face(chosen).status is FaceStatus.ACCEPTED
    window.grab()  # painting the placeholder does not crash


def test_project_opens_on_the_first_cut_that_has_faces(qtbot, tmp_path: Path) -> None:
    """A project that starts with a faceless cut (a title card, a back-of-head shot) opens where the work is."""
    project = make_demo_project(tmp_path / "p", cuts=3, faces_per_cut=(0, 0, 2), size=(300, 400),
                                durability="normal")
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(project, quiet=True)
    with ProjectStore.open(project, read_only=True) as store:
        images = store.images()
        assert win.navigator.record.id == images[2].id
        assert len(store.faces(images[2].id)) == 2
    win.close()


def test_opening_a_project_freezes_long_lived_objects_out_of_full_collections(qtbot, project: Path,
                                                                               tmp_path: Path) -> None:
    """A full GC pass over everything the studio imported took 110–140 ms and froze the window mid-detection
    (gc_pauses.py); after opening a project those objects must sit in the permanent generation."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    assert win.open_project(project, quiet=True)
    assert gc.get_freeze_count() > 10_000
    win.close()


def test_space_goes_to_the_face_a_person_is_most_needed_on_and_says_why(qtbot, project: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    with ProjectStore.open(project) as store:  # sex predictions of varied certainty, as a model writes them
        faces = sorted(store.all_faces(status="unreviewed"), key=lambda f: f.id)
        for f in faces:
            store.update_face(replace(f, score=0.95, sex=Sex.FEMALE, sex_prob=0.99), actor="model")
        store.update_face(replace(store.face(faces[-1].id), sex_prob=0.52), actor="model")
    win = open_studio(qtbot, tmp_path / "settings.ini", project)
    messages: list[str] = []
    win.navigator.message.connect(messages.append)
    win.actions["review_next"].trigger()  # Space
    assert win.navigator.face_id == faces[-1].id, messages
    assert any("sex uncertain 0.52" in m for m in messages), messages
    win.close()
