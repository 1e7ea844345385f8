"""Mouse editing on the real canvas: QTest events on the view's viewport, results checked in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from studio_window import open_studio

from f2a_studio.core.ibug68 import group_of
from f2a_studio.core.models import FaceSource
from f2a_studio.gui.canvas.view import Tool
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(1, 2), size=(600, 800), durability="normal")
    win = open_studio(qtbot, tmp_path / "settings.ini", project)
    win.cache.wait_idle()
    qtbot.wait(10)
    yield win
    win.close()


def view_point(win: MainWindow, x: float, y: float) -> QPoint:
    return win.view.mapFromScene(QPointF(x, y))


def drag(win: MainWindow, start: QPoint, end: QPoint, modifier: Qt.KeyboardModifier = NO_MOD, steps: int = 6) -> None:
    viewport = win.view.viewport()
    QTest.mousePress(viewport, LEFT, modifier, start)
    for k in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * (k / steps))
    QTest.mouseRelease(viewport, LEFT, modifier, end)


def first_face(win: MainWindow):
    store = win.session.store
    return store.faces(win.navigator.record.id)[0]


def test_dragging_a_landmark_moves_it_in_the_store(window: MainWindow) -> None:
    face = first_face(window)
    window.view.set_zoom(1.5)
    window.view.centerOn(*face.box.center)
    x, y, _ = face.landmarks[30]  # nose tip
    start = view_point(window, x, y)
    drag(window, start, start + QPoint(24, -12))
    stored = window.session.store.face(face.id)
    zoom = window.view.zoom
    assert stored.landmarks[30][0] == pytest.approx(x + 24 / zoom, abs=1.0 / zoom)
    assert stored.landmarks[30][1] == pytest.approx(y - 12 / zoom, abs=1.0 / zoom)
    assert stored.landmarks[:30] == face.landmarks[:30] and stored.landmarks[31:] == face.landmarks[31:]
    assert stored.box == face.box  # the point moved, not the face
    stack = window.session.undo_stack
    assert stack.count() == 1  # one drag = one command
    # the scene shows exactly what the store holds
    assert window.scene.items_by_id[face.id].landmark_item.points == stored.landmarks
    stack.undo()
    assert window.session.store.face(face.id).landmarks == face.landmarks
    assert window.scene.items_by_id[face.id].landmark_item.points == face.landmarks


def test_shift_drag_moves_the_whole_group(window: MainWindow) -> None:
    face = first_face(window)
    window.view.set_zoom(1.5)
    window.view.centerOn(*face.box.center)
    x, y, _ = face.landmarks[37]  # an eye point
    start = view_point(window, x, y)
    drag(window, start, start + QPoint(0, 15), Qt.KeyboardModifier.ShiftModifier)
    stored = window.session.store.face(face.id)
    eye = set(group_of(37).indices)
    for i in range(68):
        dy = stored.landmarks[i][1] - face.landmarks[i][1]
        if i in eye:
            assert dy == pytest.approx(15 / window.view.zoom, abs=1.0)
        else:
            assert dy == 0
    assert window.navigator.points == tuple(sorted(eye))


def test_click_selects_point_and_v_toggles_visibility(window: MainWindow) -> None:
    face = first_face(window)
    window.view.set_zoom(1.5)
    window.view.centerOn(*face.box.center)
    x, y, _ = face.landmarks[8]
    pos = view_point(window, x, y)
    QTest.mouseClick(window.view.viewport(), LEFT, NO_MOD, pos)
    assert window.navigator.points == (8,)
    assert window.session.undo_stack.count() == 0  # a click is not an edit
    QTest.keyClick(window.view, Qt.Key.Key_V)
    assert window.session.store.face(face.id).landmarks[8][2] == 1
    QTest.keyClick(window.view, Qt.Key.Key_V)
    assert window.session.store.face(face.id).landmarks[8][2] == 2
    QTest.keyClick(window.view, Qt.Key.Key_Left)  # arrows nudge the selected point
    assert window.session.store.face(face.id).landmarks[8][0] == pytest.approx(x - 1)


def test_move_and_resize_box(window: MainWindow) -> None:
    face = first_face(window)
    window.view.fit()
    # press inside the box but away from landmarks (top-left area, above the brows)
    inside = view_point(window, face.box.x + face.box.w * 0.05, face.box.y + face.box.h * 0.05)
    drag(window, inside, inside + QPoint(20, 10))
    moved = window.session.store.face(face.id).box
    zoom = window.view.zoom
    assert moved.x == pytest.approx(face.box.x + 20 / zoom, abs=1.5 / zoom)
    assert moved.y == pytest.approx(face.box.y + 10 / zoom, abs=1.5 / zoom)
    assert (moved.w, moved.h) == pytest.approx((face.box.w, face.box.h))
    # bottom-right handle grows the box
    corner = view_point(window, moved.x2, moved.y2)
    drag(window, corner, corner + QPoint(30, 30))
    grown = window.session.store.face(face.id).box
    assert grown.w == pytest.approx(moved.w + 30 / zoom, abs=1.5 / zoom)
    assert (grown.x, grown.y) == pytest.approx((moved.x, moved.y))
    assert window.session.undo_stack.count() == 2


def test_draw_a_box_adds_a_human_face(window: MainWindow) -> None:
    window.view.fit()
    before = len(window.session.store.faces(window.navigator.record.id))
    window.actions["draw_box"].trigger()
    assert window.view.tool is Tool.DRAW_BOX
    a, b = view_point(window, 10, 10), view_point(window, 110, 140)
    drag(window, a, b)
    faces = window.session.store.faces(window.navigator.record.id)
    assert len(faces) == before + 1
    added = max(faces, key=lambda f: f.id)
    assert added.source is FaceSource.HUMAN and added.status.value == "accepted"
    assert added.box.w == pytest.approx(100, abs=2 / window.view.zoom + 1)
    assert window.navigator.face_id == added.id
    window.session.undo_stack.undo()
    assert len(window.session.store.faces(window.navigator.record.id)) == before
    window.session.undo_stack.redo()  # the face comes back under the same id
    assert window.session.store.face(added.id).box == added.box


def test_eyedropper_sets_colour_from_the_image(window: MainWindow) -> None:
    face = first_face(window)
    window.navigator.select_face(face.id)
    window.view.fit()
    window.editor.start_eyedropper("hair")
    assert window.view.tool is Tool.EYEDROPPER
    # a background pixel far from any face
    record = window.navigator.record
    bx, by = record.width - 5, record.height - 5
    expected = window.scene.sample_color(QPointF(bx, by))
    QTest.mouseClick(window.view.viewport(), LEFT, NO_MOD, view_point(window, bx, by))
    assert window.session.store.face(face.id).colors.hair == expected.name()
    assert window.view.tool is Tool.EDIT
    assert window.inspector.hex_labels["hair"].text() == expected.name()
    window.editor.set_color("skin", QColor("#123456").name())
    assert window.session.store.face(face.id).colors.skin == "#123456"


def test_ctrl_wheel_zooms_around_the_cursor(window: MainWindow, qtbot) -> None:
    window.view.fit()
    anchor = QPoint(window.view.viewport().width() // 3, window.view.viewport().height() // 3)
    before = window.view.mapToScene(anchor)
    zoom = window.view.zoom
    viewport = window.view.viewport()
    event = QWheelEvent(QPointF(anchor), QPointF(viewport.mapToGlobal(anchor)), QPoint(), QPoint(0, 360),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(viewport, event)
    after = window.view.mapToScene(anchor)
    assert window.view.zoom == pytest.approx(zoom * 1.0015**360, rel=1e-3)
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()), abs=2.0 / window.view.zoom + 0.5)
    # without Ctrl the wheel scrolls (animated) instead of zooming
    bar = window.view.verticalScrollBar()
    start = bar.value()
    event = QWheelEvent(QPointF(anchor), QPointF(viewport.mapToGlobal(anchor)), QPoint(), QPoint(0, -120),
                        Qt.MouseButton.NoButton, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)
    qtbot.waitUntil(lambda: bar.value() > start, timeout=2000)
    assert window.view.zoom == pytest.approx(zoom * 1.0015**360, rel=1e-3)
