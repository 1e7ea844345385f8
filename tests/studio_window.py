"""The studio's real main window for pytest-qt tests: shown at a fixed size, a project open."""

from __future__ import annotations

from pathlib import Path

from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings


def open_studio(qtbot, tmp_path: Path, project: Path, size: tuple[int, int] = (1400, 900)) -> MainWindow:
    """A MainWindow with its own settings file under `tmp_path`, exposed, with `project` open."""
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(project, quiet=True)
    return win
