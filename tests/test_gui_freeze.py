"""The studio never freezes on a cut: visit every cut of a project of varied sizes, in a real window.

Issue 8: with auto-fit on, the view refitted on every resize, and a scroll bar appearing or disappearing
(the fitted scene just over or under the viewport) resized it again, forever: 100% CPU until kill -9 on
cuts such as 690×736. Offscreen rendering hid it, so this runs a real X server (Xvfb, xcb platform).

A freeze is judged by what the loop did, never by a clock (CI machines are noisy: a busy one once took
1.001 s over a cut and failed a "no gap over a second" rule): the viewport resizing over and over is the
feedback loop starting, however fast the machine gets through it, and a freeze that never ends is caught
by faulthandler's watchdog, which ends the child with a traceback. The event-loop gaps a QTimer heartbeat
sees are still reported beside each visit (the benchmark owns the ≤ 100 ms stall goal).
"""

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

CHILD = textwrap.dedent(
    """
    import faulthandler, json, sys, time
    from pathlib import Path
    from PySide6.QtCore import QRectF, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from f2a_studio.gui.demo import make_demo_project
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    folder, settings_file, window_sizes = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    win = MainWindow(StudioSettings.in_file(settings_file))
    win.show()
    assert QTest.qWaitForWindowExposed(win, 10000), "window never exposed"

    # Cut sizes: fixed ones seen on real work, then for each window size the two that used to toggle a
    # scroll bar there: fitted, the scene (cut + its 4% margin) is within a scroll bar's width of the viewport.
    sizes = [(690, 736), (736, 690), (690, 1600), (800, 1100), (1000, 700), (640, 640), (2000, 600), (300, 200)]
    make_demo_project(folder, sizes=sizes, faces_per_cut=(1, 0, 2), durability="normal")
    assert win.open_project(folder, quiet=True)
    bar = win.view.verticalScrollBar().sizeHint().width()
    derived = []
    for w, h in window_sizes:
        win.resize(w, h)
        QTest.qWait(50)
        port_w, port_h = win.view.viewport().width(), win.view.viewport().height()
        for long_side, short_port, long_port in ((port_h, port_w, port_h), (port_w, port_h, port_w)):
            side = int(long_side * 0.85)  # the fitted side; the other makes the scene straddle the bar
            other = (short_port - bar) * side / (long_port - 4 - bar / 2) - 0.08 * side
            other = other if other <= side else (other + 0.08 * side) / 1.08
            derived.append((int(other), side) if long_side == port_h else (side, int(other)))
        derived.append((port_w, port_h))
    win.close_project()
    import cv2, numpy as np
    from f2a_studio.core.importer import import_sources
    from f2a_studio.core.store import ProjectStore
    from f2a_studio.core.strips import SplitOptions
    from f2a_studio.gui.demo import draw_cut
    rng = np.random.default_rng(1)
    for k, (w, h) in enumerate(derived):
        cv2.imwrite(str(folder / f"near_1_cut_{k:03d}.png"), draw_cut(rng, w, h, 1)[0])
    with ProjectStore.open(folder) as store:
        report = import_sources(store, sorted(folder.glob("near_*.png")), split=SplitOptions(min_aspect=99))
        assert len(report.added) == len(derived), report.problems
    assert win.open_project(folder, quiet=True)

    from PySide6.QtCore import QEvent, QObject

    class Resizes(QObject):  # viewport resizes: a scroll bar toggling back and forth shows here at once
        count = 0
        def eventFilter(self, _obj, event):
            if event.type() == QEvent.Type.Resize:
                Resizes.count += 1
            return False
    resizes = Resizes()
    win.view.viewport().installEventFilter(resizes)

    gaps = [0.0]
    last = [time.monotonic()]
    def beat():
        now = time.monotonic()
        gaps[0] = max(gaps[0], now - last[0])
        last[0] = now
    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(10)

    visits = []
    order = list(win.navigator.order)
    for w, h in window_sizes:
        win.resize(w, h)
        QTest.qWait(50)
        for image_id in order:
            record = win.session.reads.image(image_id)
            print(f"visiting {record.width}x{record.height} at window {w}x{h}", file=sys.stderr, flush=True)
            faulthandler.dump_traceback_later(20, exit=True)  # a freeze for good ends the child here
            last[0] = time.monotonic()
            gaps[0] = 0.0
            Resizes.count = 0
            win.browser.select_cut(image_id)
            win.navigator.open_cut(image_id)
            win.cache.wait_idle()
            QTest.qWait(30)
            beat()
            faulthandler.cancel_dump_traceback_later()
            view = win.view
            shown = view.mapFromScene(QRectF(0, 0, record.width, record.height)).boundingRect()
            port = view.viewport().rect()
            visits.append({
                "window": [w, h], "cut": [record.width, record.height], "stall_s": round(gaps[0], 3),
                "viewport_resizes": Resizes.count,
                "open": win.navigator.record.id == image_id,
                "tall": record.height > 2.2 * record.width,
                "fits_width": shown.left() >= port.left() and shown.right() <= port.right(),
                "fits_height": shown.top() >= port.top() and shown.bottom() <= port.bottom(),
            })
    print(json.dumps({"platform": app.platformName(), "cuts": len(order), "visits": visits}))
    win.close()
    """
)

WINDOW_SIZES = [(1500, 950), (1600, 1000), (1280, 800), (1111, 777), (1333, 901), (1021, 1000), (977, 643)]


@pytest.mark.xvfb
def test_visiting_every_cut_at_every_window_size_never_freezes(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb and the libxcb packages in .ci/run)")
    xvfb, display = start_xvfb()
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        args = [str(tmp_path / "p"), str(tmp_path / "s.ini"), json.dumps(WINDOW_SIZES)]
        result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env,
                                timeout=280)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    visiting = [line for line in result.stderr.splitlines() if line.startswith("visiting")]
    assert result.returncode == 0, (f"the studio froze {visiting[-1:] or ['before the first visit']}:\n"
                                    + result.stderr[-3000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb"
    visits = report["visits"]
    assert report["cuts"] == 8 + 3 * len(WINDOW_SIZES)  # every cut went in through the importer
    assert len(visits) == report["cuts"] * len(WINDOW_SIZES)
    assert all(v["open"] for v in visits)
    # Opening a cut may show or hide each scroll bar once; more viewport resizes is the feedback loop
    # starting, however fast the machine gets through it.
    runaway = [v for v in visits if v["viewport_resizes"] > 4]
    assert not runaway, f"viewport resized over and over: {runaway}"
    # Fitted, a cut is shown whole (a tall strip: its full width), not under a scroll bar.
    hidden = [v for v in visits if not v["fits_width"] or not (v["tall"] or v["fits_height"])]
    assert not hidden, f"cuts not shown whole after fitting: {hidden}"
