"""A photo dropped on the studio's Preview dock, as Qt delivers a drop from a file manager (a QDragEnterEvent
then a QDropEvent carrying the file's URL): its face is found and aligned offline (the photo finder and the
human landmark backend) and translated by the chosen face → anime checkpoint, one trainer/ wrote.

Real window, real photo (scikit-image's astronaut), a real CycleGAN generator (trainer/ code, randomly
initialised, tiny) saved and loaded through the checkpoint files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from f2a_studio.preview.loader import trainer_missing

if trainer_missing():
    pytest.skip(f"trainer checkpoints cannot be read here: {trainer_missing()}", allow_module_level=True)

import torch
from conftest import write_png
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication
from skimage.data import astronaut
from studio_window import open_studio

from f2a_studio.core.models import Box
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.panels.preview import tile_pixmap
from f2a_studio.preview import GeneratorKind, PreviewRequest
from f2a_studio.preview.frames import aligned_face, square_photo

ASTRONAUT_FACE = Box(176.0, 68.0, 99.0, 99.0)  # the face in skimage's astronaut photo (human_bench's truth)


def cyclegan_checkpoint(folder: Path) -> Path:
    """A face → anime CycleGAN generator at 64 px, randomly initialised, saved by trainer/'s checkpoint code."""
    from trainer.checkpoint import save_checkpoint
    from trainer.config import preset
    from trainer.models import MODELS
    from trainer.nets import build_generator

    torch.manual_seed(0)
    cfg = preset("cyclegan-fast-cpu").override(ngf=8, crop_size=64, load_size=64, net_g="resnet", n_blocks=1)
    net = build_generator(cfg)
    return save_checkpoint(folder, cfg, {MODELS[cfg.model].generator_name: net}, {}, {"step": 1}).weights


def drop(widget, path: Path) -> tuple[bool, bool]:
    """Drag `path` over `widget` and drop it there, as Qt does: (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction | Qt.DropAction.LinkAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, actions, mime, buttons, mods)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False, False
    dropped = QDropEvent(QPointF(centre), actions, mime, buttons, mods)
    QApplication.sendEvent(widget, dropped)
    return True, dropped.isAccepted()


def shown(label) -> QImage:
    pixmap = label.pixmap()
    return QImage() if pixmap is None or pixmap.isNull() else pixmap.toImage()


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    project = make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(1,), size=(400, 500), durability="normal")
    win = open_studio(qtbot, tmp_path / "settings.ini", project)
    panel = win.preview
    weights = cyclegan_checkpoint(tmp_path / "run" / "checkpoints")
    panel.load_model(0, weights)  # as the Open… button does
    qtbot.waitUntil(lambda: panel.slots[0].engine is not None or bool(panel.slots[0].failed_text), timeout=30000)
    assert panel.slots[0].engine is not None, panel.slots[0].failed_text
    assert panel.slots[0].engine.spec.kind is GeneratorKind.FACE
    yield win
    win.close()


def test_a_dropped_photo_shows_its_aligned_face_and_the_checkpoints_translation(window, qtbot,
                                                                                 tmp_path: Path) -> None:
    panel = window.preview
    photo = astronaut()
    path = write_png(tmp_path / "drops" / "astronaut.png", photo)
    assert drop(panel, path) == (True, True)
    qtbot.waitUntil(lambda: panel.photo_search_done, timeout=60000)
    text = panel.message.text()
    assert "astronaut.png" in text and "face found" in text, text
    face = panel._photo_face
    assert face is not None and len(face.landmarks) == 68
    assert face.box.iou(ASTRONAUT_FACE) > 0.5  # the photo finder's face, not the centre square
    engine = panel.slots[0].engine
    spec = engine.spec
    crop = aligned_face(photo, face.landmarks, spec.size, spec.margin)
    assert shown(panel.crop_label) == tile_pixmap(crop).toImage()  # C: the aligned face
    assert shown(panel.crop_label) != tile_pixmap(square_photo(photo, spec.size)).toImage()
    expected = engine.render(PreviewRequest(landmarks=face.landmarks, image=photo)).output
    assert expected is not None and expected.shape == (spec.size, spec.size, 3)
    qtbot.waitUntil(lambda: panel.slots[0].worker.idle() and shown(panel.output_labels[0])
                    == tile_pixmap(expected).toImage(), timeout=20000)  # B: the checkpoint's translation
    # the engine is fed the aligned face: its output differs from translating the centre square
    unaligned = engine.render(PreviewRequest(image=photo)).output
    assert not np.array_equal(unaligned, expected)


def test_a_dropped_photo_without_a_face_says_so_and_the_dock_goes_on(window, qtbot, tmp_path: Path) -> None:
    panel = window.preview
    wall = write_png(tmp_path / "drops" / "wall.png", np.full((240, 320, 3), 120, np.uint8))
    assert drop(panel, wall) == (True, True)
    qtbot.waitUntil(lambda: panel.photo_search_done, timeout=60000)
    assert "wall.png" in panel.message.text() and "no face found" in panel.message.text()
    assert panel._photo_face is None
    qtbot.waitUntil(lambda: panel.slots[0].worker.idle() and not shown(panel.output_labels[0]).isNull(),
                    timeout=20000)  # its centre square is still translated
    # not a picture: the drag is refused, nothing changes
    notes = write_png(tmp_path / "drops" / "x.png", np.zeros((4, 4, 3), np.uint8)).with_suffix(".txt")
    notes.write_text("not a photo")
    before = panel.message.text()
    assert drop(panel, notes) == (False, False) and panel.message.text() == before
    # a photo with a face afterwards is found as usual: the failed search left nothing stuck
    assert drop(panel, write_png(tmp_path / "drops" / "astronaut.png", astronaut())) == (True, True)
    qtbot.waitUntil(lambda: panel.photo_search_done, timeout=60000)
    assert "face found" in panel.message.text() and panel._photo_face is not None
