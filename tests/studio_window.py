"""The studio's real main window for pytest-qt tests, and a recorded answer to its questions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings


def open_studio(qtbot, settings_file: Path, project: Path, size: tuple[int, int] = (1400, 900),
                wait_idle: bool = False) -> MainWindow:
    """A MainWindow with its settings in `settings_file`, exposed at `size`, with `project` open; with
    `wait_idle`, also after the image cache has decoded what the open asked for."""
    win = MainWindow(StudioSettings.in_file(settings_file))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(project, quiet=True)
    if wait_idle:
        win.cache.wait_idle()
    return win


def answering(reply: QMessageBox.StandardButton, asked: list[str]) -> Callable[..., QMessageBox.StandardButton]:
    """A stand-in for QMessageBox.question that records the question's text and gives `reply`."""
    def question(*args, **kwargs) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return reply
    return question
