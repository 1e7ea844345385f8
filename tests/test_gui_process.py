"""The studio as a process: killed with SIGKILL it loses no completed edit; a second studio on the same
project opens read-only with a notice; `f2a studio --screenshot` renders a PNG offscreen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QImage

from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import make_demo_project
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings

# A real studio window in a child process, reviewing by keyboard (Space, A, F) on a timer and printing
# each face id once the keys for it have returned, i.e. once the studio shows the edit as done.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings
    win = MainWindow(StudioSettings.in_file(Path(sys.argv[2])))
    win.show()
    assert QTest.qWaitForWindowActive(win, 10000), "window never became active (shortcuts need it)"
    assert win.open_project(Path(sys.argv[1]), quiet=True)
    win.actions["advance"].setChecked(False)
    print("READY", flush=True)

    def step():
        QTest.keyClick(win.view, Qt.Key.Key_Space)
        face = win.navigator.face_id
        if face is None:
            print("EMPTY", flush=True)
            return
        QTest.keyClick(win.view, Qt.Key.Key_A)
        QTest.keyClick(win.view, Qt.Key.Key_F)
        print("DONE", face, flush=True)

    timer = QTimer(interval=30)
    timer.timeout.connect(step)
    timer.start()
    app.exec()
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return make_demo_project(tmp_path / "p", cuts=4, faces_per_cut=(3, 3, 2, 3), size=(500, 650), durability="normal")


def test_sigkill_loses_no_completed_edit_and_second_studio_is_read_only(qtbot, project: Path, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project), str(tmp_path / "child.ini")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(),
    )
    done: list[int] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY"
        while len(done) < 5:
            line = child.stdout.readline().split()
            assert line and line[0] == "DONE", f"child stopped early: {line}"
            done.append(int(line[1]))
        # A second studio while the first is alive and editing: read-only, with a notice.
        second = MainWindow(StudioSettings.in_file(tmp_path / "second.ini"))
        qtbot.addWidget(second)
        second.show()
        assert second.open_project(project, quiet=True)
        assert second.session.read_only
        assert second.banner.isVisible() and "another F2A Studio" in second.banner.text()
        assert not second.actions["accept"].isEnabled()
        second.close()
        line = child.stdout.readline().split()  # one more, then kill mid-session
        if line and line[0] == "DONE":
            done.append(int(line[1]))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    # The lock died with the process: the project opens for writing, intact, with every reported edit.
    with ProjectStore.open(project) as store:
        assert not store.read_only
        assert store.integrity_check() == "ok"
        for face_id in done:
            face = store.face(face_id)
            assert face.status is FaceStatus.ACCEPTED and face.sex is Sex.FEMALE, face_id
    reopened = MainWindow(StudioSettings.in_file(tmp_path / "third.ini"))
    qtbot.addWidget(reopened)
    reopened.show()
    assert reopened.open_project(project, quiet=True)
    assert not reopened.session.read_only and not reopened.banner.isVisible()
    assert reopened.select_face(done[0])
    assert reopened.inspector.status_buttons[FaceStatus.ACCEPTED].isChecked()
    reopened.close()


def test_screenshot_cli_renders_png_offscreen(project: Path, tmp_path: Path) -> None:
    with ProjectStore.open(project, read_only=True) as store:
        face_id = store.all_faces()[-1].id
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "f2a_studio.cli", "studio", str(project), "--screenshot", str(out),
         "--select", str(face_id)],
        capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    colours = {image.pixel(x, y) for x in range(0, 1600, 37) for y in range(0, 1000, 29)}
    assert len(colours) > 50  # a real rendering, not a blank window
    bad = subprocess.run(
        [sys.executable, "-m", "f2a_studio.cli", "studio", str(tmp_path / "nothing"), "--screenshot", str(out)],
        capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert bad.returncode == 2 and "not an F2A project" in bad.stderr
