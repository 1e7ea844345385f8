"""The Preview dock in the real studio window: it follows the selected face and a landmark drag live."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

import torch
from preview_nets import UnetGenerator
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from studio_window import open_studio

from f2a_studio.core.keypoints import aligned_keypoint_image
from f2a_studio.core.models import FaceStatus
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.panels.preview import tile_pixmap
from f2a_studio.gui.settings import StudioSettings
from f2a_studio.preview import Engine, EngineOptions, InputSpec, PreviewRequest

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
FAST = EngineOptions(runtimes=("torch",), warmup=1, measure=1)


def tiny_engine(size: int = 64) -> Engine:
    torch.manual_seed(0)
    return Engine.from_module(UnetGenerator(3, 3, num_downs=6, ngf=8).eval(), InputSpec(size=size), FAST,
                              name="tiny-unet")


def open_window(qtbot, tmp_path: Path) -> MainWindow:
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(1, 2), size=(600, 800), durability="normal")
    return open_studio(qtbot, tmp_path / "settings.ini", project, size=(1500, 950), wait_idle=True)


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    win = open_window(qtbot, tmp_path)
    yield win
    win.close()


def shown(label) -> QImage:
    pixmap = label.pixmap()
    return QImage() if pixmap is None or pixmap.isNull() else pixmap.toImage()


def test_the_dock_follows_a_landmark_drag_live(window: MainWindow, qtbot) -> None:
    panel = window.preview
    panel.set_engine(0, tiny_engine())
    face = window.session.store.faces(window.navigator.record.id)[0]
    window.navigator.select_face(face.id)
    qtbot.waitUntil(lambda: not shown(panel.output_labels[0]).isNull(), timeout=10000)
    assert "ms/frame" in panel.info_labels[0].text() and "torch · cpu · fp32" in panel.info_labels[0].text()
    before_a, before_b = shown(panel.input_label), shown(panel.output_labels[0])
    assert not shown(panel.crop_label).isNull()

    window.view.set_zoom(1.5)
    window.view.centerOn(*face.box.center)
    x, y, _ = face.landmarks[30]  # the nose tip: moving it changes the drawing, not the alignment
    start = window.view.mapFromScene(QPointF(x, y))
    viewport = window.view.viewport()
    QTest.mousePress(viewport, LEFT, NO_MOD, start)
    for k in range(1, 7):
        QTest.mouseMove(viewport, start + QPoint(0, 5 * k))
    # still dragging: nothing is stored yet, but A and B already show the moved nose
    assert window.session.store.face(face.id).landmarks == face.landmarks
    qtbot.waitUntil(lambda: shown(panel.output_labels[0]) != before_b, timeout=10000)
    live = window.scene.items_by_id[face.id].landmark_item.points
    assert live != face.landmarks
    assert shown(panel.input_label) != before_a
    assert panel.landmarks == live
    QTest.mouseRelease(viewport, LEFT, NO_MOD, start + QPoint(0, 30))

    stored = window.session.store.face(face.id).landmarks
    assert stored != face.landmarks
    engine = panel.slots[0].engine
    # the dock settles on the stored face: B is the generator's output for the stored landmarks
    expected_b = tile_pixmap(engine.render(PreviewRequest(landmarks=stored)).output).toImage()
    qtbot.waitUntil(lambda: panel.slots[0].worker.idle() and shown(panel.output_labels[0]) == expected_b,
                    timeout=10000)
    drawn = tile_pixmap(aligned_keypoint_image(stored, 64)).toImage()
    assert shown(panel.input_label) == drawn  # A is the export's drawing of the stored face
    stats = panel.slots[0].worker.stats
    assert stats.rendered >= 2 and stats.submitted == stats.rendered + stats.dropped


def test_two_models_side_by_side_and_a_photo_needs_a_face_model(window: MainWindow, qtbot, tmp_path: Path) -> None:
    panel = window.preview
    panel.set_engine(0, tiny_engine())
    panel.set_engine(1, tiny_engine())
    face = window.session.store.faces(window.navigator.record.id)[0]
    window.navigator.select_face(face.id)
    qtbot.waitUntil(lambda: all(not shown(lab).isNull() for lab in panel.output_labels), timeout=10000)
    assert shown(panel.output_labels[0]) == shown(panel.output_labels[1])  # same weights, same picture
    assert "B′" in panel.info_labels[1].text()
    from conftest import write_png

    photo = write_png(tmp_path / "photo.png", np.full((40, 60, 3), 128, np.uint8))
    panel.show_photo(photo)
    assert "face → anime" in panel.message.text()  # keypoint models cannot translate a photo


def test_translate_selection_to_a_folder_in_the_background(window: MainWindow, qtbot, tmp_path: Path) -> None:
    panel = window.preview
    panel.set_engine(0, tiny_engine())
    qtbot.waitUntil(lambda: panel.translate_buttons["episode"].isEnabled(), timeout=10000)
    items = panel.items("episode")
    assert len(items) >= 2
    rejected = window.session.store.faces(window.navigator.record.id)[0]
    window.editor.navigator.select_face(rejected.id)
    window.editor.set_status(FaceStatus.REJECTED)
    assert [i.name for i in panel.items("selection")] == [f"{window.navigator.record.name}_face_{rejected.id}"]
    window.navigator.select_face(None)
    items = panel.items("episode")
    assert all(not i.name.endswith(f"_face_{rejected.id}") for i in items) and items
    out = tmp_path / "translated"
    with qtbot.waitSignal(panel.translateFinished, timeout=30000) as done:
        assert panel.translate("episode", out)
    assert "translated" in done.args[0]
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{item.name}.png" for item in items)


def test_onnx_checkpoint_in_the_project_is_offered_and_loaded(qtbot, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    project = make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(1, 1), size=(600, 800), durability="normal")
    torch.manual_seed(0)
    net = UnetGenerator(3, 3, num_downs=6, ngf=8).eval()
    (project / "checkpoints").mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, 64, 64),), str(project / "checkpoints" / "tiny.onnx"),
                          input_names=["input"], output_names=["output"], dynamo=False)
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    try:
        assert win.open_project(project, quiet=True)
        panel = win.preview
        labels = [panel.pickers[0].itemText(i) for i in range(panel.pickers[0].count())]
        assert any("tiny.onnx" in t and "(project)" in t for t in labels)
        qtbot.waitUntil(lambda: panel.slots[0].engine is not None, timeout=20000)
        assert panel.slots[0].engine.info.runtime == "onnxruntime"
        win.navigator.select_face(win.session.store.faces(win.navigator.record.id)[0].id)
        qtbot.waitUntil(lambda: not shown(panel.output_labels[0]).isNull(), timeout=10000)
        assert "onnxruntime" in panel.info_labels[0].text()
    finally:
        win.close()


def test_a_face_model_shows_the_selected_face_and_a_dropped_photo(window: MainWindow, qtbot, tmp_path: Path) -> None:
    from conftest import write_png
    from preview_nets import ResnetGenerator

    from f2a_studio.preview import GeneratorKind

    torch.manual_seed(0)
    face_model = Engine.from_module(ResnetGenerator(3, 3, ngf=8, n_blocks=1).eval(),
                                    InputSpec(kind=GeneratorKind.FACE, size=64), FAST, name="tiny-resnet")
    panel = window.preview
    panel.set_engine(0, face_model)
    face = window.session.store.faces(window.navigator.record.id)[0]
    window.navigator.select_face(face.id)
    qtbot.waitUntil(lambda: not shown(panel.output_labels[0]).isNull(), timeout=10000)
    on_face = shown(panel.output_labels[0])
    assert "face → anime" in panel.info_labels[0].text()
    rng = np.random.default_rng(0)
    photo = write_png(tmp_path / "photo.png", rng.integers(0, 256, (80, 100, 3), dtype=np.uint8))
    panel.show_photo(photo)
    assert "photo.png" in panel.message.text()
    qtbot.waitUntil(lambda: panel.slots[0].worker.idle() and shown(panel.output_labels[0]) != on_face,
                    timeout=10000)
    from f2a_studio.core.imageio import read_image

    expected = face_model.render(PreviewRequest(image=read_image(photo))).output
    assert shown(panel.output_labels[0]) == tile_pixmap(expected).toImage()
