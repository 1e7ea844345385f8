"""Studio responsiveness, offscreen (QT_QPA_PLATFORM=offscreen), JSON out. Targets from issue 4.

- first paint of a 10,000-cut project (≤ 1 s), beside a naive eager QTreeWidget of the same cuts;
- switching to a 2000×8000 cut with 20 faces + landmarks (p95 ≤ 50 ms): warm cache, and cold (overlays
  at once, pixels decoded off the GUI thread) with the decode time beside it;
- dragging one landmark: frame = mouse move + synchronous repaint (p95 ≤ 16 ms);
- RSS while paging 1,000 cuts with a 256 MB cache, beside an unbounded cache's growth per cut;
- the longest GUI-thread stall while a background job (import; detection when available) runs (≤ 50 ms);
- visiting every cut of a project of varied sizes (PgDn through them, at three window sizes): the longest
  GUI-thread stall of a first visit (≤ 100 ms; issue 8: some sizes used to freeze the studio for good),
  of a revisit, and of the idle loop beside them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QPoint, QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem, QWidget

from benchmarks.common import machine, percentiles
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import draw_cut, make_demo_project, make_large_project
from f2a_studio.gui.image_cache import ImageCache
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings
from f2a_studio.gui.workers import detect_job, detection_unavailable, import_job

N_CUTS = int(os.environ.get("F2A_BENCH_CUTS", "10000"))
N_PAGE = int(os.environ.get("F2A_BENCH_PAGE", "1000"))
REPEATS = int(os.environ.get("F2A_BENCH_REPEATS", "30"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def window(tmp: Path, cache: ImageCache | None = None) -> MainWindow:
    win = MainWindow(StudioSettings.in_file(tmp / f"settings-{time.monotonic_ns()}.ini"), cache=cache)
    win.resize(1600, 1000)
    return win


def shown(win: MainWindow) -> MainWindow:
    """Show and wait until exposed: an unexposed window paints nothing, and would time nothing."""
    win.show()
    if not QTest.qWaitForWindowExposed(win, 10000):
        raise RuntimeError("the window was never exposed")
    return win


class PaintCounter(QObject):
    """Counts paint events on the canvas viewport, to prove each measured frame really painted."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def first_paint(big: Path, tmp: Path) -> dict:
    app = QApplication.instance()
    start = time.perf_counter()
    win = shown(window(tmp))
    win.open_project(big, quiet=True)
    win.cache.wait_idle()
    app.processEvents()  # the first frame with the first cut's pixels
    win.grab()  # and a full render of the window, to be sure it is all there
    ours = time.perf_counter() - start
    win.close()
    with ProjectStore.open(big, read_only=True) as store:  # baseline: every cut an eager tree item
        start = time.perf_counter()
        records = store.images()
        tree = QTreeWidget()
        titles: dict[str, QTreeWidgetItem] = {}
        episodes: dict[tuple[str, str], QTreeWidgetItem] = {}
        for r in records:
            t = titles.get(r.title_id) or titles.setdefault(r.title_id, QTreeWidgetItem(tree, [r.title_id]))
            key = (r.title_id, r.episode)
            e = episodes.get(key) or episodes.setdefault(key, QTreeWidgetItem(t, [r.episode]))
            QTreeWidgetItem(e, [r.name, str(len(store.faces(r.id)))])
        tree.resize(300, 900)
        tree.expandAll()
        tree.show()
        tree.grab()
        naive = time.perf_counter() - start
        tree.close()
    return {"cuts": N_CUTS, "first_paint_s": round(ours, 3), "target_s": 1.0,
            "naive_eager_tree_s": round(naive, 3), "naive_over_ours": round(naive / ours, 2)}


def switching(tall: Path, tmp: Path) -> dict:
    """Open the tall cut from another one; a switch ends when its first frame has been painted."""
    app = QApplication.instance()
    win = shown(window(tmp))
    win.open_project(tall, quiet=True)
    nav, store = win.navigator, win.session.store
    paints = PaintCounter(win.view.viewport())
    records = store.images()
    big = max(records, key=lambda r: r.height)
    small = next(r for r in records if r.id != big.id)

    def switch_to_big() -> tuple[float, float]:
        nav.open_cut(small.id)
        app.processEvents()
        before = paints.count
        start, c = time.perf_counter(), time.thread_time()
        nav.open_cut(big.id)
        while paints.count == before:  # the event loop's repaint of the new cut
            app.processEvents()
        return time.perf_counter() - start, time.thread_time() - c

    for r in (big, small):
        win.cache.load_now(r.id, store.cut_file(r))
    warm, warm_cpu = zip(*(switch_to_big() for _ in range(REPEATS)), strict=True)
    cold, cold_cpu, until_pixels = [], [], []
    for _ in range(max(5, REPEATS // 3)):
        nav.open_cut(small.id)
        win.cache.wait_idle()  # the neighbour prefetch of `big` must not be in flight
        win.cache.invalidate(big.id)
        wall, cpu = switch_to_big()
        cold.append(wall)
        cold_cpu.append(cpu)
        start = time.perf_counter()
        win.cache.wait_idle()
        until_pixels.append(wall + time.perf_counter() - start)
        app.processEvents()
    faces = len(store.faces(big.id))
    win.close()
    return {"cut": f"{big.width}x{big.height}", "faces": faces,
            "revisit_pixels_cached": percentiles(list(warm)),
            "revisit_gui_thread_cpu": percentiles(list(warm_cpu)),
            "first_visit_overlays": percentiles(cold),
            "first_visit_gui_thread_cpu": percentiles(cold_cpu),
            "first_visit_until_pixels": percentiles(until_pixels),
            "target_p95_ms": 50}


def dragging(tall: Path, tmp: Path) -> dict:
    win = shown(window(tmp))
    win.open_project(tall, quiet=True)
    nav, store = win.navigator, win.session.store
    paints = PaintCounter(win.view.viewport())
    big = max(store.images(), key=lambda r: r.height)
    win.cache.load_now(big.id, store.cut_file(big))
    nav.open_cut(big.id)
    QApplication.instance().processEvents()
    face = store.faces(big.id)[0]
    win.view.set_zoom(1.0)
    win.view.centerOn(*face.box.center)
    viewport = win.view.viewport()
    viewport.repaint()
    x, y, _ = face.landmarks[30]
    start_pos = win.view.mapFromScene(QPointF(x, y))
    frames, cpu = [], []
    app = QApplication.instance()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start_pos)
    app.processEvents()
    for k in range(1, 241):
        pos = start_pos + QPoint(round(30 * math.sin(k / 10)), 1 + k // 6)
        before = paints.count
        t, c = time.perf_counter(), time.thread_time()
        QTest.mouseMove(viewport, pos)
        for _ in range(50):  # the event loop's repaint of what changed
            app.processEvents()
            if paints.count > before:
                break
        frames.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    t = time.perf_counter()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    commit = time.perf_counter() - t
    moved = store.face(face.id).landmarks[30] != face.landmarks[30]
    win.close()
    return {"frames": len(frames), "frames_painted": paints.count, "wall": percentiles(frames),
            "gui_thread_cpu": percentiles(cpu),
            "target_p95_ms": 16,
            "release_commit_ms": round(commit * 1000, 2), "stored": moved}


def paging(big: Path, tmp: Path) -> dict:
    app = QApplication.instance()

    def page(limit: int, count: int) -> tuple[list[float], float]:
        cache = ImageCache(limit_bytes=limit)
        win = window(tmp, cache)
        win.show()
        win.open_project(big, quiet=True)
        ids = [r.id for r in win.session.store.images()][:count]
        samples = []
        base = rss_mb()
        for k, image_id in enumerate(ids):
            win.navigator.open_cut(image_id)
            cache.wait_idle()
            app.processEvents()
            if k % 50 == 0:
                samples.append(round(rss_mb() - base, 1))
        win.close()
        return samples, base

    bounded, base = page(256 << 20, N_PAGE)
    unbounded, _ = page(1 << 40, 120)
    growth = (unbounded[-1] - unbounded[0]) / max(1, 50 * (len(unbounded) - 1))
    return {"cuts_paged": N_PAGE, "cache_limit_mb": 256, "rss_start_mb": round(base, 1),
            "rss_growth_mb_every_50_cuts": bounded, "rss_growth_max_mb": max(bounded),
            "unbounded_growth_mb_per_cut": round(growth, 2)}


def stall_during_job(tmp: Path, tall: Path) -> dict:
    """Longest gap between 5 ms timer ticks on the GUI thread while a background job runs."""
    app = QApplication.instance()
    out: dict = {}
    sources = tmp / "sources"
    sources.mkdir(exist_ok=True)
    import numpy as np

    from f2a_studio.core.imageio import save_png_atomic

    rng = np.random.default_rng(3)
    for k in range(12):
        pixels, _ = draw_cut(rng, 900, 2600, 3)
        save_png_atomic(sources / f"bench_{k + 1}_strip.png", pixels, compression=1)
    jobs = {"idle_baseline": None, "import": lambda store: import_job(store, [sources])}
    if detection_unavailable() is None:
        jobs["detect"] = lambda store: detect_job(store, [r.id for r in store.images()])
    for name, make in jobs.items():
        project = tmp / f"job-{name}"
        shutil.copytree(tall, project, ignore=shutil.ignore_patterns(".f2a.lock"))
        win = window(tmp)
        win.show()
        win.open_project(project, quiet=True)
        # Settle first: the open cut's pixels are decoded and shown (that cost is `switch_tall_cut`'s), so
        # the ticks below time the job alone. Until 2026-11-29 this section included the decode of the
        # 2000×8000 cut, which put a ~50 ms stall even into the idle baseline.
        win.cache.wait_idle()
        settle = time.monotonic() + 1.0
        while time.monotonic() < settle:
            app.processEvents()
            time.sleep(0.001)
        gaps: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick(clock: QElapsedTimer = clock, gaps: list[float] = gaps, last: list[int] = last) -> None:
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e9)
            last[0] = now

        timer = QTimer(interval=5)
        timer.timeout.connect(tick)
        timer.start()
        if make is None:  # the same loop with no job: what the machine's load alone costs
            until = time.monotonic() + 3.0
            while time.monotonic() < until:
                app.processEvents()
                time.sleep(0.001)
        else:
            win.jobs.start(name, make(win.session.store))
            while win.jobs.busy:
                app.processEvents()
                time.sleep(0.001)
        timer.stop()
        out[name] = {"max_stall_ms": round(max(gaps) * 1000, 1), **percentiles(gaps, (50, 99)), "ticks": len(gaps)}
        win.close()
    if "detect" not in out:
        out["detect"] = detection_unavailable()
    out["target_max_stall_ms"] = 50
    return out


VARIED_SIZES = [(690, 736), (736, 690), (690, 1600), (800, 1100), (1000, 700), (640, 640), (2000, 600), (300, 200),
                (900, 8000)] + [(round(736 * (0.9 + 0.025 * k)), 736) for k in range(17)]  # around the view's shape
VISIT_WINDOWS = [(1600, 1000), (1280, 800), (1111, 777)]


def visit_every_cut(varied: Path, tmp: Path) -> dict:
    """Longest gap between 5 ms ticks while each cut opens (as PgDn does) until its pixels are shown.

    Each gap also carries the GUI thread's CPU time within it: on a loaded machine (other processes on
    the cores) a gap can be mostly waiting for a core, which the CPU figure separates from work."""
    app = QApplication.instance()
    win = shown(window(tmp))
    win.open_project(varied, quiet=True)
    win.cache.wait_idle()

    def pump(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            app.processEvents()
            time.sleep(0.001)

    pump(0.5)
    gaps: list[tuple[float, float]] = []  # (wall, GUI-thread CPU) seconds
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed(), time.thread_time()]

    def tick() -> None:
        now, cpu = clock.nsecsElapsed(), time.thread_time()
        gaps.append(((now - last[0]) / 1e9, cpu - last[1]))
        last[0], last[1] = now, cpu

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    timer.start()
    pump(2.0)
    idle = max(gaps)
    order = list(win.navigator.order)
    first: list[tuple[float, float, str]] = []
    again: list[tuple[float, float]] = []
    froze: list[str] = []
    for round_, size in enumerate(VISIT_WINDOWS):
        win.resize(*size)
        pump(0.3)
        for image_id in order:
            record = win.session.reads.image(image_id)
            gaps.clear()
            last[0], last[1] = clock.nsecsElapsed(), time.thread_time()
            QTimer.singleShot(0, lambda i=image_id: win.navigator.open_cut(i))  # from the event loop, as a key
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and not (
                win.navigator.record is not None and win.navigator.record.id == image_id
                and win.cache.get(image_id) is not None and not win.scene.image_item.is_placeholder
            ):
                app.processEvents()
                time.sleep(0.001)
            if time.monotonic() >= deadline:
                froze.append(f"{record.width}x{record.height} at {size[0]}x{size[1]}")
            pump(0.05)
            wall, cpu = max(gaps, default=(0.0, 0.0))
            if round_ == 0:
                first.append((wall, cpu, f"{record.width}x{record.height}"))
            else:
                again.append((wall, cpu))
    timer.stop()
    win.close()
    worst = max(first)
    return {"cuts": len(order), "window_sizes": [f"{w}x{h}" for w, h in VISIT_WINDOWS],
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "first_visit_max_stall_ms": round(worst[0] * 1000, 1), "first_visit_worst_cut": worst[2],
            "first_visit_max_stall_gui_cpu_ms": round(worst[1] * 1000, 1),
            "first_visit_per_cut_max_stall": percentiles([f[0] for f in first], (50, 95)),
            "first_visit_per_cut_max_stall_gui_cpu": percentiles([f[1] for f in first], (50, 95)),
            "revisit_max_stall_ms": round(max(again)[0] * 1000, 1),
            "revisit_per_cut_max_stall": percentiles([a[0] for a in again], (50, 95)),
            "revisit_per_cut_max_stall_gui_cpu": percentiles([a[1] for a in again], (50, 95)),
            "idle_baseline_max_stall_ms": round(idle[0] * 1000, 1),
            "visits_that_never_settled": froze, "target_first_visit_max_stall_ms": 100}


SECTIONS = {
    "first_paint": lambda tmp: first_paint(tmp / "big", tmp),
    "switch_tall_cut": lambda tmp: switching(tmp / "tall", tmp),
    "landmark_drag": lambda tmp: dragging(tmp / "tall", tmp),
    "paging_memory": lambda tmp: paging(tmp / "big", tmp),
    "gui_stall_during_job": lambda tmp: stall_during_job(tmp, tmp / "tall"),
    "visit_every_cut": lambda tmp: visit_every_cut(tmp / "varied", tmp),
}


def run_section(name: str, tmp: Path) -> dict:
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    return SECTIONS[name](tmp)


def run() -> dict:
    """Build the projects once, then measure each section in a fresh process (no garbage from the others)."""
    tmp = Path(tempfile.mkdtemp(prefix="f2a-gui-bench-"))
    try:
        t = time.perf_counter()
        make_large_project(tmp / "big", cuts=N_CUTS)
        make_demo_project(tmp / "tall", cuts=2, faces_per_cut=(2, 1), tall_cut=(2000, 8000, 20), durability="normal")
        make_demo_project(tmp / "varied", sizes=VARIED_SIZES, faces_per_cut=(1, 2, 0), durability="normal")
        result: dict = {
            "machine": machine(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "setup_s": round(time.perf_counter() - t, 1),
        }
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        for name in SECTIONS:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.gui_bench", "--section", name, str(tmp)],
                                  capture_output=True, text=True, env=env, timeout=1200)
            lines = proc.stdout.strip().splitlines()
            result[name] = json.loads(lines[-1]) if proc.returncode == 0 and lines else {
                "error": proc.stderr.strip().splitlines()[-1:] or f"exit {proc.returncode}"}
        result["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--section":
        print(json.dumps(run_section(sys.argv[2], Path(sys.argv[3]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--only":  # one section on its own projects: `--only visit_every_cut`
        only = Path(tempfile.mkdtemp(prefix="f2a-gui-bench-"))
        try:
            make_demo_project(only / "varied", sizes=VARIED_SIZES, faces_per_cut=(1, 2, 0), durability="normal")
            print(json.dumps({"machine": machine(), sys.argv[2]: run_section(sys.argv[2], only)}, indent=1))
        finally:
            shutil.rmtree(only, ignore_errors=True)
    else:
        print(json.dumps(run(), indent=1))
