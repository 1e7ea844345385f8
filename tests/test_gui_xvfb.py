"""Real-window smoke test: the studio on a real X server (Xvfb, xcb platform), driven by keyboard.

Skipped when Xvfb is not installed (.ci/run installs it with the xcb libraries Qt needs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from xvfb_server import start_xvfb

from f2a_studio.core.models import FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import make_demo_project

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from f2a_studio.gui import theme
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings
    theme.apply_theme(app, "light")
    win = MainWindow(StudioSettings.in_file(Path(sys.argv[2])))
    win.resize(1400, 900)
    win.show()
    assert QTest.qWaitForWindowExposed(win, 10000), "window never exposed"
    assert win.open_project(Path(sys.argv[1]), quiet=True)
    win.actions["advance"].setChecked(False)
    win.activateWindow()
    QTest.qWaitForWindowActive(win, 5000)
    win.cache.wait_idle()
    QTest.qWait(100)
    QTest.keyClick(win.view, Qt.Key.Key_Space)
    face = win.navigator.face_id
    QTest.keyClick(win.view, Qt.Key.Key_A)
    QTest.qWait(50)
    shot = app.primaryScreen().grabWindow(0)  # what the X server shows, not an offscreen render
    shot.save(sys.argv[3])
    print(json.dumps({"platform": app.platformName(), "face": face, "screen": [shot.width(), shot.height()]}))
    win.close()
    """
)


@pytest.mark.xvfb
def test_real_window_keyboard_review_under_xvfb(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb and the libxcb packages in .ci/run)")
    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(2, 1), size=(500, 650), durability="normal")
    xvfb, display = start_xvfb()
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(project), str(tmp_path / "s.ini"), str(tmp_path / "screen.png")],
            capture_output=True, text=True, env=env, timeout=120,
        )
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb"
    assert report["screen"] == [1600, 1000]
    with ProjectStore.open(project, read_only=True) as store:
        assert store.face(report["face"]).status is FaceStatus.ACCEPTED
    from PySide6.QtGui import QImage

    screen = QImage(str(tmp_path / "screen.png"))
    colours = {screen.pixel(x, y) for x in range(0, 1400, 23) for y in range(0, 900, 19)}
    assert len(colours) > 50  # the window really is on the X screen
