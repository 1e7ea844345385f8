"""PgDn/PgUp through cuts of mixed and tall sizes on the real studio window, and decoding kept off the GUI
thread: switching to a cut whose decode is held back returns at once, with a placeholder, and the pixels
arrive later. Each test names the mutation of gui/navigator.py it guards (made by hand, seen to fail)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtTest import QTest

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions
from f2a_studio.gui import image_cache
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings

# (width, height) in browsing order: portrait, wide, a tall strip panel, small, a huge tall one, landscape
SIZES = [(600, 800), (1200, 500), (400, 3000), (300, 300), (2000, 8000), (800, 600)]
HUGE = SIZES.index((2000, 8000))


def picture(width: int, height: int, seed: int) -> np.ndarray:
    """Flat colour with a few blocks: cheap to encode at 2000×8000, and each cut's pixels differ."""
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), rng.integers(60, 200, 3), np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        pixels[y : y + height // 8, x : x + width // 8] = rng.integers(0, 256, 3)
    return pixels


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nav")
    sources = folder / "sources"
    sources.mkdir()
    paths = []
    for k, (w, h) in enumerate(SIZES, start=1):
        paths.append(sources / f"nav_1_cut_{k:03d}.png")
        save_png_atomic(paths[-1], picture(w, h, k), compression=1)
    with ProjectStore.create(folder / "project", durability="normal") as store:
        report = import_sources(store, paths, split=SplitOptions(min_aspect=float("inf")))  # never split
        assert not report.problems and len(report.added) == len(SIZES)
    return folder / "project"


@pytest.fixture()
def project(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(template, target, ignore=shutil.ignore_patterns(".f2a.lock"))
    return target


class DecodeSpy:
    """Wraps the real decoder (the one the cache calls for every cut): records which thread decoded what,
    and holds one cut's decode back until released, so a test can look while it is still being decoded."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls: list[tuple[int, int]] = []  # (image id, thread ident)
        self.held: int | None = None
        self.release = threading.Event()
        self.gui_thread = threading.get_ident()

    def __call__(self, image_id: int, path: Path):
        self.calls.append((image_id, threading.get_ident()))
        if image_id == self.held and threading.get_ident() != self.gui_thread:
            # a safety net only (no assertion rests on it): a mutant that waits on this decode from the
            # GUI thread would otherwise hang the test until pytest-timeout
            self.release.wait(timeout=60)
        return self.real(image_id, path)


@pytest.fixture()
def spy(monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
    spy = DecodeSpy(image_cache.decode_cut)
    monkeypatch.setattr(image_cache, "decode_cut", spy)
    yield spy
    spy.release.set()


@pytest.fixture()
def window(qtbot, project: Path, tmp_path: Path, spy: DecodeSpy):
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(project, quiet=True)
    yield win
    spy.release.set()
    win.close()


def key(win: MainWindow, k: Qt.Key) -> None:
    win.view.setFocus()
    QTest.keyClick(win.view, k)


def records(project: Path):
    with ProjectStore.open(project, read_only=True) as store:
        return store.images()


def visible_rect(win: MainWindow) -> QRectF:
    return win.view.mapToScene(win.view.viewport().rect()).boundingRect()


def check_shown(win: MainWindow, qtbot, record) -> None:
    """The cut is the navigator's and the scene's, its pixels arrive at its full size, and it is fitted:
    whole when it is not much taller than wide, by its width from the top when it is a tall strip."""
    assert win.navigator.record.id == record.id and win.scene.record.id == record.id
    qtbot.waitUntil(lambda: not win.scene.image_item.is_placeholder, timeout=30_000)
    full = win.scene.image_item.entry.levels[0]
    assert (full.width(), full.height()) == (record.width, record.height)
    image = QRectF(0, 0, record.width, record.height)

    def fitted() -> bool:
        seen = visible_rect(win)
        if record.height > 2.2 * record.width:  # fitted by width from the top, not shrunk to its whole height
            return seen.left() <= 1 and seen.right() >= record.width - 1 and seen.top() <= 1 \
                and seen.height() < record.height
        return seen.adjusted(-1, -1, 1, 1).contains(image)

    # the scroll bars of the previous cut may go only on the next layout pass: wait for it, then look
    qtbot.waitUntil(fitted, timeout=30_000)


def test_page_down_and_up_walk_every_cut_of_mixed_and_tall_sizes(window: MainWindow, project: Path, qtbot,
                                                                 spy: DecodeSpy) -> None:
    """Guards: "PgDn/PgUp never moves" (and steps of the wrong size or direction), "no fit on a new cut",
    and "the navigator decodes cuts on the GUI thread" (every decode of the walk ran on a worker thread)."""
    cuts = records(project)
    assert [(r.width, r.height) for r in cuts] == SIZES
    check_shown(window, qtbot, cuts[0])  # a project without faces opens on its first cut
    for record in cuts[1:]:
        key(window, Qt.Key.Key_PageDown)
        check_shown(window, qtbot, record)
    key(window, Qt.Key.Key_PageDown)  # past the last: stays, and says so
    assert window.navigator.record.id == cuts[-1].id and window.status.currentMessage() == "last cut"
    for record in reversed(cuts[:-1]):
        key(window, Qt.Key.Key_PageUp)
        check_shown(window, qtbot, record)
    key(window, Qt.Key.Key_PageUp)
    assert window.navigator.record.id == cuts[0].id and window.status.currentMessage() == "first cut"
    assert {r.id for r in cuts} <= {image_id for image_id, _ in spy.calls}
    assert all(thread != spy.gui_thread for _, thread in spy.calls), "a cut was decoded on the GUI thread"


def test_switching_to_a_cut_never_waits_for_its_decode(window: MainWindow, project: Path, qtbot,
                                                       spy: DecodeSpy) -> None:
    """The huge cut's decode is held back; PgDn onto it returns with the cut open and a placeholder shown,
    PgDn/PgUp go on working meanwhile, and the pixels appear once the decode is let go. Every decode of the
    session ran on a worker thread. Guards: "the navigator decodes cuts synchronously on the GUI thread"
    (cache.load_now in open_cut: the GUI thread would decode or wait), and "the loaded signal is ignored"."""
    cuts = records(project)
    huge = cuts[HUGE]
    spy.held = huge.id
    for record in cuts[1:HUGE]:
        key(window, Qt.Key.Key_PageDown)
        check_shown(window, qtbot, record)
    key(window, Qt.Key.Key_PageDown)
    assert window.navigator.record.id == huge.id and window.scene.record.id == huge.id
    assert window.scene.image_item.is_placeholder  # still being decoded: the switch did not wait for it
    assert not spy.release.is_set()
    key(window, Qt.Key.Key_PageDown)  # the window still moves on while that decode is in flight
    check_shown(window, qtbot, cuts[HUGE + 1])
    key(window, Qt.Key.Key_PageUp)
    assert window.navigator.record.id == huge.id and window.scene.image_item.is_placeholder
    spy.release.set()
    check_shown(window, qtbot, huge)
    decoded = {image_id for image_id, _ in spy.calls}
    assert {r.id for r in cuts} <= decoded
    assert all(thread != spy.gui_thread for _, thread in spy.calls), "a cut was decoded on the GUI thread"


def test_neighbours_are_decoded_ahead_in_browsing_order(window: MainWindow, project: Path, qtbot,
                                                        spy: DecodeSpy) -> None:
    """Two cuts ahead and one behind are decoded before they are asked for, and no more. Guards the
    prefetch: its deleted request and each changed bound of `order[k + 1 : k + 1 + 2] + order[k - 1 : k]`."""
    cuts = [r.id for r in records(project)]
    window.cache.wait_idle()
    qtbot.waitUntil(lambda: not window.scene.image_item.is_placeholder, timeout=30_000)
    assert {i for i, _ in spy.calls} == {cuts[0], cuts[1], cuts[2]}
    window.navigator.open_cut(cuts[4])  # a jump (as from the cut browser): the one behind it is new
    window.cache.wait_idle()
    assert {i for i, _ in spy.calls} == set(cuts)
    assert len(spy.calls) == len({i for i, _ in spy.calls})  # each cut decoded once: open cuts come from the cache
    assert all(thread != spy.gui_thread for _, thread in spy.calls)


def test_a_cut_that_cannot_be_shown_says_so_each_time_it_is_opened(window: MainWindow, project: Path,
                                                                   qtbot) -> None:
    """A corrupt cut shows its notice when its decode lands, again when it is reopened from the cache (no
    decode then), and a good cut clears it. Guards the deleted `_show_problem` of open_cut."""
    cuts = records(project)
    with ProjectStore.open(project, read_only=True) as store:
        store.cut_file(cuts[3]).write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    for _ in range(3):
        key(window, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: window.view.notice.isVisible(), timeout=30_000)
    assert window.navigator.record.id == cuts[3].id and cuts[3].name in window.view.notice.text()
    key(window, Qt.Key.Key_PageDown)
    check_shown(window, qtbot, cuts[4])
    assert not window.view.notice.isVisible()
    key(window, Qt.Key.Key_PageUp)  # back to the corrupt one, whose (failed) entry is in the cache
    assert window.view.notice.isVisible() and cuts[3].name in window.view.notice.text()
    assert window.navigator.open_cut(cuts[3].id) is True  # already open
    assert window.navigator.open_cut(10_000) is False and "no image with id 10000" in window.status.currentMessage()


def test_selecting_points_and_closing_the_project_reach_the_window(qtbot, project: Path, tmp_path: Path,
                                                                   spy: DecodeSpy) -> None:
    """Points picked on the canvas become the window's selection; closing the project empties the canvas
    and says there is no cut. Guards the deleted pointsSelected hook-up and close_cut's lines."""
    from f2a_studio.core.models import Box, Face

    with ProjectStore.open(project) as store:
        first = store.images()[0]
        points = tuple((100.0 + 5 * k, 200.0 + 3 * k, 2) for k in range(68))
        face = store.add_face(Face(image_id=first.id, box=Box(80, 180, 400, 250), landmarks=points))
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(project, quiet=True)
    nav = win.navigator
    selections, cuts = [], []
    nav.selectionChanged.connect(lambda fid, pts: selections.append((fid, pts)))
    nav.cutChanged.connect(cuts.append)
    win.scene.points_pressed(face.id, (36, 37))
    assert selections[-1] == (face.id, (36, 37)) and nav.points == (36, 37)
    win.close_project()
    assert cuts == [None] and selections[-1] == (-1, ())
    assert nav.record is None and win.scene.record is None and win.scene.image_item is None
    win.close()
