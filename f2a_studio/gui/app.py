"""Entry points: `f2a studio [PROJECT] [--screenshot out.png] [--select FACE_ID] [--review]` and `f2a-studio`.

`run_studio` returns an exit code. With `--screenshot` it lays the window out at a fixed size, waits for
the cut's pixels, renders the window to a PNG and exits (offscreen when there is no display), with
throw-away preferences so the picture does not depend on the user's settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

SCREENSHOT_SIZE = (1600, 1000)


def _needs_offscreen() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def _app():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "f2a-studio"])
        app.setApplicationName("F2A Studio")
        app.setOrganizationName("F2A")
    return app


def run_studio(project: Path | None, *, screenshot: Path | None = None, select: int | None = None,
               review: bool = False) -> int:
    """Open the studio on `project` (or empty); with `screenshot`, render to that PNG and return."""
    if project is not None:
        from f2a_studio.core.store import is_project

        if not is_project(project):
            print(f"error: {project} is not an F2A project (no project.f2a.sqlite). "
                  "Create one with `f2a sample` or `f2a import`.", file=sys.stderr)
            return 2
    if screenshot is not None and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = _app()

    from f2a_studio.gui import theme
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    if screenshot is not None:
        scratch = tempfile.TemporaryDirectory()
        settings = StudioSettings.in_file(Path(scratch.name) / "settings.ini")
    else:
        settings = StudioSettings()
    theme.apply_theme(app, settings.theme)
    from f2a_studio.core.jobs import reserve_core_for_ui

    reserve_core_for_ui()  # jobs started from now on leave one core for the window (core/jobs.py)
    window = MainWindow(settings)

    def closed(code: int) -> int:
        # closing waits for the preview's generator load started with the window: a process that exits
        # while torch is importing on that thread aborts ("terminate called without an active exception")
        window.close()
        scratch.cleanup()
        return code

    opened = project is None or window.open_project(project, quiet=screenshot is not None)
    if not opened and screenshot is not None:
        why = window.status.currentMessage()  # open_project leaves the reason there
        print(f"error: {why or f'cannot open {project}'}", file=sys.stderr)
        return closed(2)
    if select is not None and not window.select_face(select):
        print(f"warning: no face with id {select} in this project", file=sys.stderr)
        if screenshot is not None:
            return closed(2)
    if screenshot is None:
        geometry, state = settings.window_state()
        if geometry is not None:
            window.restoreGeometry(geometry)
        if state is not None:
            window.restoreState(state)
        else:
            window.resize(1500, 950)
        window.show()
        if review and window.navigator is not None:
            window.navigator.review_next()
        return int(app.exec())
    return closed(save_screenshot(window, screenshot, select, review=review))


def save_screenshot(window, path: Path, select: int | None = None, *, review: bool = False) -> int:
    """Lay out `window` at SCREENSHOT_SIZE, wait for the open cut's pixels, and save it as PNG."""
    from PySide6.QtWidgets import QApplication

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    QApplication.processEvents()
    window.cache.wait_idle()
    window.browser.wait_for_summaries()
    QApplication.processEvents()  # delivers the `loaded` signals to the scene
    if window.navigator is not None:
        window.view.fit_cut()
        if select is not None:
            window.navigator.select_face(select)
        if review:
            window.navigator.review_next()  # as Space: the next face to review, zoomed to
    QApplication.processEvents()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.preview.wait_idle()  # the generators load in the background: show their output, not a blank
    if not window.grab().save(str(path), "PNG"):
        print(f"error: cannot write {path}", file=sys.stderr)
        return 1
    print(f"screenshot written to {path}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    """The `f2a-studio` console script."""
    parser = argparse.ArgumentParser(prog="f2a-studio", description="F2A Studio: review faces on webtoon scenes.")
    parser.add_argument("project", nargs="?", type=Path, help="project folder to open")
    parser.add_argument("--screenshot", type=Path, help="render the main window to this PNG and exit")
    parser.add_argument("--select", type=int, help="select this face id at start")
    parser.add_argument("--review", action="store_true", help="start on the next face to review, zoomed to")
    args = parser.parse_args(argv)
    sys.exit(run_studio(args.project, screenshot=args.screenshot, select=args.select, review=args.review))


if __name__ == "__main__":
    main()
