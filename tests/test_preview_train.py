"""The studio's train dialog drives the real trainer CLI (`python -m trainer train`) as a subprocess.

Skipped while trainer/ has no CLI here; slow (a torch process start and two training steps)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from studio_window import answering

from f2a_studio.gui.dialogs.train_dialog import LossPlot, read_losses

needs_trainer = pytest.mark.skipif(importlib.util.find_spec("trainer.cli") is None,
                                   reason="trainer/ has no CLI (python -m trainer) in this tree")


def test_loss_log_parsing_keeps_losses_and_skips_a_partial_line(tmp_path: Path, qtbot) -> None:
    log = tmp_path / "log.csv"
    log.write_text("step,epoch,lr,sec_per_step,G_GAN,G_L1\n10,0,0.0002,0.5,1.5,0.8\n20,0,0.0002,0.5,1.2,nan\n30,0,")
    series = read_losses(log)
    assert series == {"G_GAN": [(10, 1.5), (20, 1.2)], "G_L1": [(10, 0.8)]}
    assert read_losses(tmp_path / "missing.csv") == {}
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.set_series(series)
    image = plot.grab().toImage()
    assert image.pixelColor(image.width() // 2, image.height() // 2).isValid()


@pytest.mark.slow
@needs_trainer
def test_a_two_step_run_from_the_dialog_lands_in_the_picker(qtbot, tmp_path: Path) -> None:
    from f2a_studio.core.models import FaceStatus
    from f2a_studio.core.store import ProjectStore
    from f2a_studio.export import ExportOptions, plan_export, run_export
    from f2a_studio.gui.demo import make_demo_project
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    project = make_demo_project(tmp_path / "p", cuts=3, faces_per_cut=(1, 2), size=(600, 800), durability="normal")
    with ProjectStore.open(project) as store:
        for face in store.all_faces():
            store.update_face(replace(face, status=FaceStatus.ACCEPTED))
        export = run_export(plan_export(store, ExportOptions(format="pix2pix", size=128, workers=0)),
                            tmp_path / "export").out
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    try:
        assert win.open_project(project, quiet=True)
        dialog = win.preview.open_train_dialog()
        assert dialog.presets.findText("pix2pix-fast-cpu") >= 0, dialog.status.text()
        dialog.data.setText(str(export))
        dialog.steps.setValue(2)
        with qtbot.waitSignal(dialog.checkpointReady, timeout=240000) as done:
            assert dialog.start()
            assert dialog.running and dialog.stop_button.isEnabled()
        weights = Path(done.args[0])
        assert weights.name == "step-00000002.safetensors" and weights.is_file()
        assert dialog.plot.series and all(v for v in dialog.plot.series.values())  # the logged losses
        assert not dialog.samples.pixmap().isNull()  # the sample grid
        picker = win.preview.pickers[0]
        assert picker.findData(str(weights)) >= 0  # the new checkpoint is offered...
        qtbot.waitUntil(lambda: win.preview.slots[0].engine is not None, timeout=60000)  # ...and loaded
        assert win.preview.slots[0].engine.spec.size == 128
        assert dialog.resume_button.isEnabled() and not dialog.stop_button.isEnabled()
    finally:
        win.close()


@needs_trainer
def test_closing_the_studio_asks_before_stopping_a_run(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    from f2a_studio.gui.demo import make_demo_project
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    project = make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(1, 1), size=(600, 800), durability="normal")
    export = tmp_path / "export"
    export.mkdir()
    # the run fails on this manifest, but only after starting Python and importing torch: it runs while we close
    (export / "manifest.json").write_text("{}")
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(project, quiet=True)
    dialog = win.preview.open_train_dialog()
    dialog.data.setText(str(export))
    asked: list[str] = []

    assert dialog.start()
    monkeypatch.setattr(QMessageBox, "question", answering(QMessageBox.StandardButton.No, asked))
    assert not win.close()  # the user keeps the run: the studio stays open
    assert win.isVisible() and dialog.running and "training run is in progress" in asked[-1]
    monkeypatch.setattr(QMessageBox, "question", answering(QMessageBox.StandardButton.Yes, asked))
    assert win.close()
    assert not dialog.running and len(asked) == 2
