"""The Preview dock's first model: a new user sees the shipped keypoints demo working on a face without picking
anything; once the user picks a model (or none), that choice is remembered and wins in the next window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QImage
from studio_window import open_studio

from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.panels.preview import NONE_LABEL, TILE, tile_pixmap
from f2a_studio.gui.settings import NO_PREVIEW_MODEL
from f2a_studio.preview import GeneratorKind, PreviewRequest
from f2a_studio.preview.catalog import DEFAULT_MODEL, find_generators

LOAD_MS = 60000  # loading warms every runtime up: generous on a loaded 2-core machine (not a timing assertion)


def shown(label) -> QImage:
    pixmap = label.pixmap()
    return QImage() if pixmap is None or pixmap.isNull() else pixmap.toImage()


def pixels(image: QImage) -> np.ndarray:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    return np.frombuffer(rgb.constBits(), np.uint8, h * stride).reshape(h, stride)[:, :w * 3].reshape(h, w, 3).copy()


def shipped(name: str) -> Path:
    for entry in find_generators(None):
        if entry.origin == "shipped" and entry.path.name == name:
            return entry.path
    raise AssertionError(f"no shipped model {name}")


def shipped_face_model() -> Path:
    """A shipped image → image model (its header's config says it reads a face), found without loading it."""
    import json

    from safetensors import safe_open

    from f2a_studio.preview.loader import spec_from_config

    for entry in find_generators(None):
        if entry.origin != "shipped":
            continue
        with safe_open(str(entry.path), framework="numpy") as handle:
            config = json.loads(handle.metadata()["f2a_trainer"])["config"]
        if spec_from_config(config).kind is GeneratorKind.FACE:
            return entry.path
    raise AssertionError("no shipped face → image model")


def open_window(qtbot, project: Path, settings: Path) -> MainWindow:
    return open_studio(qtbot, settings, project, size=(1500, 950), wait_idle=True)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    from f2a_studio.gui.demo import make_demo_project

    return make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(2, 2), size=(600, 800), durability="normal")


def select_first_face(win: MainWindow):
    face = win.session.store.faces(win.navigator.record.id)[0]
    win.navigator.select_face(face.id)
    return face


def settled_output(panel, qtbot) -> QImage:
    slot = panel.slots[0]
    qtbot.waitUntil(lambda: slot.worker is not None and slot.worker.idle() and not shown(panel.output_labels[0])
                    .isNull(), timeout=LOAD_MS)
    return shown(panel.output_labels[0])


def test_a_new_user_sees_the_shipped_keypoints_model_on_the_selected_face(qtbot, project: Path,
                                                                          tmp_path: Path) -> None:
    win = open_window(qtbot, project, tmp_path / "settings.ini")  # fresh settings: nothing chosen yet
    try:
        panel = win.preview
        qtbot.waitUntil(lambda: panel.slots[0].engine is not None, timeout=LOAD_MS)
        assert panel.slots[0].path == shipped(DEFAULT_MODEL)
        assert panel.pickers[0].currentData() == str(shipped(DEFAULT_MODEL))
        face = select_first_face(win)
        image = settled_output(panel, qtbot)
        assert (image.width(), image.height()) == (TILE, TILE)
        engine = panel.slots[0].engine
        assert engine.spec.kind is GeneratorKind.KEYPOINTS
        made = engine.render(PreviewRequest(landmarks=face.landmarks)).output
        assert made.shape == (engine.spec.size, engine.spec.size, 3)
        assert image == tile_pixmap(made).toImage()  # B is that generator's drawing of this face
        assert pixels(image).std() > 5  # a drawn face, not a blank tile
        assert win.settings.preview_model == ""  # showing the default is not a choice of the user's
    finally:
        win.close()


def test_the_users_pick_is_remembered_and_wins_over_the_default(qtbot, project: Path, tmp_path: Path) -> None:
    settings = tmp_path / "settings.ini"
    style = shipped_face_model()
    win = open_window(qtbot, project, settings)
    try:
        combo = win.preview.pickers[0]
        index = combo.findData(str(style))
        assert index > 0
        combo.setCurrentIndex(index)
        combo.activated.emit(index)  # what a click in the picker sends
        assert win.settings.preview_model == str(style)
        qtbot.waitUntil(lambda: win.preview.slots[0].engine is not None, timeout=LOAD_MS)
    finally:
        win.close()

    win = open_window(qtbot, project, settings)
    try:
        panel = win.preview
        qtbot.waitUntil(lambda: panel.slots[0].engine is not None, timeout=LOAD_MS)
        assert panel.slots[0].path == style
        engine = panel.slots[0].engine
        assert engine.spec.kind is GeneratorKind.FACE
        face = select_first_face(win)
        image = settled_output(panel, qtbot)
        cut = panel._cut_pixels()
        made = engine.render(PreviewRequest(landmarks=face.landmarks, image=cut)).output
        assert image == tile_pixmap(made).toImage()  # the selected face, translated
        assert pixels(image).std() > 5

        combo = panel.pickers[0]
        assert combo.itemText(0) == NONE_LABEL
        combo.setCurrentIndex(0)
        combo.activated.emit(0)  # "none" is a choice too
        assert panel.slots[0].path is None and win.settings.preview_model == NO_PREVIEW_MODEL
    finally:
        win.close()

    win = open_window(qtbot, project, settings)
    try:
        assert win.preview.slots[0].path is None and win.preview.slots[0].engine is None
    finally:
        win.close()


def test_a_project_with_its_own_checkpoint_opens_with_it(qtbot, project: Path, tmp_path: Path) -> None:
    import shutil

    own = project / "checkpoints" / "mine.safetensors"
    own.parent.mkdir(exist_ok=True)
    shutil.copyfile(shipped_face_model(), own)
    win = open_window(qtbot, project, tmp_path / "settings.ini")  # the window loads the default before a project
    try:
        panel = win.preview
        qtbot.waitUntil(lambda: panel.slots[0].engine is not None, timeout=LOAD_MS)
        assert panel.slots[0].path == own  # trained for this project: it replaces the shipped default
        assert win.settings.preview_model == ""
    finally:
        win.close()


def test_closing_while_a_generator_loads_hides_the_window_before_waiting_for_the_load(
        qtbot, project: Path, tmp_path: Path, monkeypatch) -> None:
    from f2a_studio.gui.panels import preview as preview_panel

    seen: list[bool] = []  # was the window on screen when the close began to wait for a slot's loads?
    real_join = preview_panel._Slot.join

    def observed_join(slot, timeout_s: float = 60.0) -> None:
        seen.append(win.isVisible())
        real_join(slot, timeout_s)

    monkeypatch.setattr(preview_panel._Slot, "join", observed_join)
    win = open_window(qtbot, project, tmp_path / "settings.ini")
    win.preview.load_model(0, str(shipped(DEFAULT_MODEL)))  # a fresh load: closed at once, while it runs
    win.close()
    assert seen and not any(seen)  # the person saw the window go before any wait
    assert not any(t.is_alive() for slot in win.preview.slots for t in slot._loaders)  # and the loads were drained
