"""Zoom on the real canvas: Space brings a small face up to a useful size and Esc goes back; Ctrl+wheel
zooms about the scene point under the cursor, within a pixel."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from f2a_studio.core.models import Box, Face, FaceSource
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import make_demo_project, template_landmarks
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings


def add_face(project: Path, box: Box, score: float) -> int:
    with ProjectStore.open(project) as store:
        image = store.images()[0]
        (face,) = store.add_faces([Face(image_id=image.id, box=box, score=score, source=FaceSource.DETECTOR,
                                        landmarks=template_landmarks(box))], actor="detector")
        return int(face.id)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(0,), size=(1200, 900), durability="normal")


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def open_project(win: MainWindow, project: Path, qtbot) -> None:
    assert win.open_project(project, quiet=True)
    win.actions["advance"].setChecked(False)
    win.cache.wait_idle()
    qtbot.wait(10)


def test_space_zooms_a_30px_face_to_the_set_fraction_and_esc_returns(window: MainWindow, project: Path,
                                                                    qtbot) -> None:
    box = Box(585, 430, 30, 30)  # mid-cut, so it can be centred
    face_id = add_face(project, box, score=0.55)
    open_project(window, project, qtbot)
    view = window.view
    before = (view.zoom, view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    assert 30 * view.zoom < 40  # fitted, the face is tiny
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert window.navigator.face_id == face_id
    port = view.viewport().rect()
    fill = window.settings.face_fill
    shown = view.viewportTransform().mapRect(QRectF(box.x, box.y, box.w, box.h))
    assert shown.height() == pytest.approx(fill * min(port.width(), port.height()), abs=0.5)
    assert shown.center().x() == pytest.approx(port.center().x(), abs=1.5)
    assert shown.center().y() == pytest.approx(port.center().y(), abs=1.5)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert window.navigator.face_id is None
    assert (view.zoom, view.horizontalScrollBar().value(), view.verticalScrollBar().value()) == before


def test_space_never_zooms_out_below_fit_and_can_be_turned_off(window: MainWindow, project: Path, qtbot) -> None:
    big = add_face(project, Box(100, 80, 700, 700), score=0.5)  # bigger than the fraction of the view at fit
    small = add_face(project, Box(585, 430, 30, 30), score=0.6)
    open_project(window, project, qtbot)
    view = window.view
    fitted = view.zoom
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert window.navigator.face_id == big and view.zoom == pytest.approx(fitted)
    QTest.keyClick(view, Qt.Key.Key_A)  # accepted: the small face is next in the queue
    window.actions["zoom_to_face"].setChecked(False)
    assert window.settings.zoom_to_face is False
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert window.navigator.face_id == small and view.zoom == pytest.approx(fitted)  # off: no zoom


def ctrl_wheel(win: MainWindow, at: QPoint, notches: int) -> None:
    viewport = win.view.viewport()
    event = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(viewport, event)


@pytest.mark.parametrize("start", ["actual_size", "fit"])
def test_ctrl_wheel_keeps_the_scene_point_under_the_cursor(window: MainWindow, project: Path, qtbot,
                                                           start: str) -> None:
    open_project(window, project, qtbot)
    view = window.view
    getattr(view, start)()
    port = view.viewport().rect()
    cursor = QPoint(port.width() // 3, port.height() * 2 // 5)
    point = view.scene_at(QPointF(cursor))
    drift, peak = [], 0.0
    for k, notches in enumerate([1] * 14 + [-1] * 5):
        ctrl_wheel(window, cursor, notches)
        shown = view.viewportTransform().map(point)
        peak = max(peak, view.zoom)
        if k >= 2:  # from fit, the first notches leave the cut narrower than the view, centred by Qt
            drift.append(max(abs(shown.x() - cursor.x()), abs(shown.y() - cursor.y())))
    assert peak > 6  # past 600%, where the point used to land ~300 px away
    assert max(drift) <= 1.0, drift
