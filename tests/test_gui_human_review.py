"""A human face photo (domain A) in the real studio window, reviewed like an anime face: its box and 68
landmarks are drawn, A accepts it, a corrected box is refitted by the human backends (never the project's
anime landmark model), and the Preview dock translates the selected photo face with a face → anime model.

Real window (offscreen Qt), real project: synthetic anime cuts plus skimage's astronaut imported with
--domain human and detected by the photo finder in a worker process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import torch
from conftest import write_png
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from skimage.data import astronaut
from studio_window import open_studio

from f2a_studio.core.imageio import load_image
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Domain, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.pipeline import DetectOptions, detect_images
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow

WAIT_MS = 60_000  # an upper bound on a background fit or render, not a timing check


def project_with_a_photo(root: Path, photos: Path) -> tuple[Path, int]:
    """Demo anime cuts, the astronaut as a human photo (detected), and a learned anime landmark model in the
    project's checkpoints (tiny, random): the model a photo's refit must not use. Returns (project, face id)."""
    from f2a_studio.detect.cropnet import save_model
    from f2a_studio.detect.landmarks.learned import STEM
    from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig

    project = make_demo_project(root, cuts=1, faces_per_cut=(1,), size=(400, 500), durability="normal")
    write_png(photos / "astronaut.png", astronaut())
    with ProjectStore.open(project) as store:
        import_sources(store, [photos], domain="human")
        (record,) = store.images(domain=Domain.HUMAN)
        report = detect_images(store, [record.id], DetectOptions(workers=1))
        assert not report.failed
        (face,) = store.faces(record.id)
        assert face.finder == "photo" and len(face.landmarks) == 68
        torch.manual_seed(0)
        cfg = LandmarkNetConfig(widths=(4, 8, 8, 8), hidden=16)
        save_model(store.checkpoints_dir, STEM, LandmarkNet(cfg).state_dict(), {"net": cfg.to_json()})
        return project, face.id


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    project, face_id = project_with_a_photo(tmp_path / "p", tmp_path / "photos")
    win = open_studio(qtbot, tmp_path / "settings.ini", project)
    win.photo_face_id = face_id
    yield win
    win.close()


def shown(label) -> QImage:
    pixmap = label.pixmap()
    return QImage() if pixmap is None or pixmap.isNull() else pixmap.toImage()


def test_a_photo_face_is_drawn_and_accepted_like_an_anime_face(window: MainWindow) -> None:
    store = window.session.store
    face = store.face(window.photo_face_id)
    assert window.navigator.select_face(face.id)
    assert window.navigator.record.domain is Domain.HUMAN
    item = window.scene.items_by_id[face.id]
    assert item.box == face.box and len(item.landmark_item.points) == 68
    assert item.landmark_item.points == face.landmarks
    window.actions["advance"].setChecked(False)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_A)
    accepted = store.face(face.id)
    assert accepted.status is FaceStatus.ACCEPTED and "status" in accepted.human_fields
    QTest.keyClick(window.view, Qt.Key.Key_X)
    assert store.face(face.id).status is FaceStatus.REJECTED
    window.session.undo_stack.undo()
    assert store.face(face.id).status is FaceStatus.ACCEPTED


def test_a_corrected_photo_box_is_refitted_by_the_human_backends(window: MainWindow, qtbot) -> None:
    from f2a_studio.detect.refit import refit_face

    store = window.session.store
    face = store.face(window.photo_face_id)
    window.navigator.select_face(face.id)
    window.editor.set_box(face.id, face.box.translated(12, 6))
    moved = store.face(face.id)
    steps = window.session.undo_stack.count()
    window.actions["refit_landmarks"].trigger()
    qtbot.waitUntil(lambda: window.session.undo_stack.count() == steps + 1, timeout=WAIT_MS)
    after = store.face(face.id)
    pixels = load_image(store.cut_file(store.image(face.image_id))).pixels[:, :, :3]
    human = refit_face(pixels, moved, search_path=[], domain="human")
    assert after.landmarks == human.landmarks  # the human backend (MediaPipe or the template), ...
    anime = refit_face(pixels, moved, search_path=[store.checkpoints_dir])
    assert anime.landmarks != human.landmarks  # ... not the project's anime landmark model


def test_a_selected_photo_face_is_translated_in_the_preview(window: MainWindow, qtbot) -> None:
    from preview_nets import ResnetGenerator

    from f2a_studio.gui.panels.preview import tile_pixmap
    from f2a_studio.preview import Engine, EngineOptions, GeneratorKind, InputSpec, PreviewRequest

    torch.manual_seed(0)
    engine = Engine.from_module(ResnetGenerator(3, 3, ngf=8, n_blocks=1).eval(),
                                InputSpec(kind=GeneratorKind.FACE, size=64),
                                EngineOptions(runtimes=("torch",), warmup=1, measure=1), name="tiny-resnet")
    panel = window.preview
    panel.set_engine(0, engine)
    face = window.session.store.face(window.photo_face_id)
    window.navigator.select_face(face.id)
    expected = engine.render(PreviewRequest(landmarks=face.landmarks, image=astronaut())).output
    qtbot.waitUntil(lambda: panel.slots[0].worker.idle()
                    and shown(panel.output_labels[0]) == tile_pixmap(expected).toImage(), timeout=WAIT_MS)
