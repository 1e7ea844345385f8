"""The studio's Export dialog: live counts as filters change, export and cancel in the background."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from test_export_data import big_project_fixture, project_fixture  # noqa: F401  (fixtures)

from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.export_dialog import ExportDialog


@pytest.fixture
def dialog(qtbot, project):
    with ProjectStore.open(project.root, read_only=True) as store:
        d = ExportDialog(store)
        qtbot.addWidget(d)
        d.workers.setValue(0)
        yield d
        d.runner.wait()


def test_counts_follow_the_filters_live(qtbot, dialog, project):
    assert dialog.plan is not None and len(dialog.plan.items) == len(project.faces)
    assert f"<b>{len(project.faces)}</b> face(s)" in dialog.counts.text()
    dialog.sexes[Sex.FEMALE].setChecked(True)
    females = sum(1 for f in project.faces if f.sex is Sex.FEMALE)
    qtbot.waitUntil(lambda: f"<b>{females}</b> face(s)" in dialog.counts.text(), timeout=5000)
    assert "sex" in dialog.counts.text() and "sex male (wanted female)" in dialog.details.toPlainText()
    dialog.sexes[Sex.FEMALE].setChecked(False)
    dialog.statuses[FaceStatus.ACCEPTED].setChecked(False)
    qtbot.waitUntil(lambda: "at least one status" in dialog.counts.text(), timeout=5000)
    assert not dialog.export_button.isEnabled()
    dialog.statuses[FaceStatus.ACCEPTED].setChecked(True)
    dialog.episodes.item(0).setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: "episode 111_1 not selected" in dialog.details.toPlainText(), timeout=5000)
    assert len(dialog.plan.items) == len(project.faces) - 4
    dialog.size.setCurrentIndex(dialog.size.findData(64))
    dialog.format.setCurrentIndex(dialog.format.findData("concat4"))
    dialog.foreground.setChecked(True)
    dialog.background.setCurrentText("transparent")
    qtbot.waitUntil(lambda: "4th channel" in dialog.counts.text(), timeout=5000)


def test_export_runs_in_the_background_and_reports(qtbot, dialog, tmp_path, project):
    out = tmp_path / "dataset"
    dialog.size.setCurrentIndex(dialog.size.findData(64))
    dialog.min_score.setValue(0.5)
    assert not dialog.export_button.isEnabled()  # no target yet
    dialog.out.setText(str(out))
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(dialog.exported, timeout=60000) as caught:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isEnabled() or dialog.result is not None
    result = caught.args[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filters"]["min_score"] == 0.5 and manifest["options"]["size"] == 64
    assert result.counts["faces"] == len(project.faces) and "exported" in dialog.status.text()
    assert dialog.bar.value() == dialog.bar.maximum()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)  # again: the target holds an export
    qtbot.waitUntil(lambda: "already holds an export" in dialog.status.text(), timeout=30000)


def test_cancel_leaves_nothing(qtbot, big_project, tmp_path):
    with ProjectStore.open(big_project.root, read_only=True) as store:
        d = ExportDialog(store)
        qtbot.addWidget(d)
        d.workers.setValue(0)
        d.size.setCurrentIndex(d.size.findData(1024))
        d.foreground.setChecked(True)
        d.out.setText(str(tmp_path / "out"))
        qtbot.waitUntil(d.export_button.isEnabled, timeout=5000)
        d.start_export()
        qtbot.waitUntil(lambda: d.bar.value() >= 1, timeout=60000)
        d.cancel_button.click()
        qtbot.waitUntil(lambda: "cancelled" in d.status.text(), timeout=60000)
        d.runner.wait()
    assert list(tmp_path.iterdir()) == []
