"""The navigator's selection, Tab order, threshold and store-change slots, on the real canvas, view, image cache
and session the studio window gives it (offscreen Qt, a real SQLite project). Every expectation is worked out by
hand from the faces placed here: three faces on one cut at known boxes and scores, one face far down a tall
strip, one empty cut. These pin the survivors docs/mutation.md listed for gui/navigator.py (select_face /
reveal, Tab direction, set_threshold, the store-change slots, step_cut without an open cut, the prefetch guard,
the problem notice, damaged rows, disconnect_all)."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRectF

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus
from f2a_studio.core.store import DB_NAME, ProjectStore
from f2a_studio.core.strips import SplitOptions
from f2a_studio.gui.canvas import CanvasView, CutScene
from f2a_studio.gui.image_cache import ImageCache
from f2a_studio.gui.navigator import Navigator
from f2a_studio.gui.session import Session

# cut A (800×600): boxes inserted bottom, top, middle so face ids are NOT in reading order.
# Reading order (top to bottom): TOP (y 50), MIDDLE (y 250), BOTTOM (y 450).
BOTTOM = Box(300, 450, 100, 100)
TOP = Box(600, 50, 100, 100)
MIDDLE = Box(100, 250, 100, 100)
SCORES = {"bottom": 0.6, "top": 0.9, "middle": 0.2}
FAR_DOWN = Box(100, 2600, 120, 120)  # on the tall strip B (400×3000), far below its first screenful


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("navstate")
    paths = []
    for k, (w, h) in enumerate([(800, 600), (400, 3000), (500, 500)], start=1):
        paths.append(folder / f"state_1_cut_{k:03d}.png")
        save_png_atomic(paths[-1], np.full((h, w, 3), 40 * k, np.uint8), compression=1)
    with ProjectStore.create(folder / "project", durability="normal") as store:
        report = import_sources(store, paths, split=SplitOptions(min_aspect=float("inf")))
        assert not report.problems and len(report.added) == 3
        a, b, _ = store.images()
        store.add_faces([Face(image_id=a.id, box=box, score=SCORES[name], source=FaceSource.DETECTOR)
                         for name, box in (("bottom", BOTTOM), ("top", TOP), ("middle", MIDDLE))])
        store.add_faces([Face(image_id=b.id, box=FAR_DOWN, score=0.8, source=FaceSource.DETECTOR)])
    return folder / "project"


@dataclass
class Parts:
    """The navigator with the real parts it drives (the window's canvas, view, cache and session), without
    the rest of the studio window: its teardown waits on worker pools and took ~10 s per test here."""

    session: Session
    scene: CutScene
    view: CanvasView
    cache: ImageCache
    navigator: Navigator


@pytest.fixture()
def window(qtbot, template: Path, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(template, project, ignore=shutil.ignore_patterns(".f2a.lock"))
    session = Session(ProjectStore.open(project))
    scene = CutScene()
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    cache = ImageCache(workers=1)
    parts = Parts(session, scene, view, cache, Navigator(session, scene, view, cache))
    parts.navigator.set_threshold(0.0)  # every face visible
    yield parts
    parts.navigator.disconnect_all()
    cache.shutdown()
    session.close()


def ids(win: Parts) -> dict[str, int]:
    """Face and cut ids by name, read back from the store (ids follow insertion order)."""
    store = win.session.reads
    a, b, c = store.images()
    bottom, top, middle = (f.id for f in store.faces(a.id))
    (far,) = (f.id for f in store.faces(b.id))
    return {"a": a.id, "b": b.id, "c": c.id, "bottom": bottom, "top": top, "middle": middle, "far": far}


def seen(win: Parts) -> QRectF:
    return win.view.mapToScene(win.view.viewport().rect()).boundingRect()


def box_rect(box: Box) -> QRectF:
    return QRectF(box.x, box.y, box.w, box.h)


def recorder(win: Parts) -> list[tuple[int, tuple[int, ...]]]:
    got: list[tuple[int, tuple[int, ...]]] = []
    win.navigator.selectionChanged.connect(lambda fid, pts: got.append((fid, tuple(pts))))
    return got


# ------------------------------------------------------------ select_face


def test_select_face_opens_its_cut_and_reports_what_happened(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["c"])
    selections = recorder(window)
    assert nav.select_face(n["top"]) is True  # on another cut: that cut opens, the face is selected
    assert nav.record.id == n["a"] and window.scene.selected_face == n["top"] and nav.face_id == n["top"]
    assert selections[-1] == (n["top"], ())
    assert nav.select_face(None) is True  # nothing selected
    assert window.scene.selected_face is None and nav.face_id is None
    assert nav.select_face(987_654) is False  # no such face: nothing changes
    assert nav.record.id == n["a"] and nav.face_id is None


def test_select_face_refuses_a_face_the_open_cut_does_not_show(window: Parts) -> None:
    """A face stored behind the session's back (no signal) is in the store but not on the canvas."""
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    (ghost,) = window.session.store.add_faces([Face(image_id=n["a"], box=Box(10, 10, 50, 50), score=0.9)])
    assert ghost.id not in window.scene.items_by_id
    assert nav.select_face(ghost.id) is False
    assert nav.face_id is None


def test_select_face_scrolls_a_face_into_view_only_when_asked(window: Parts) -> None:
    """The tall strip opens fitted by its width from the top, so the face at y 2600 is out of view."""
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["b"])
    before = seen(window)
    assert before.bottom() < FAR_DOWN.y  # out of view at first
    assert nav.select_face(n["far"], reveal=False) is True
    assert nav.face_id == n["far"] and seen(window) == before  # selected, the view stays put
    nav.select_face(None)
    assert nav.select_face(n["far"]) is True
    assert seen(window).contains(box_rect(FAR_DOWN))


def test_focus_zooms_the_box_to_the_face_fill_share_of_the_view(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    zoom = window.view.zoom
    nav.face_fill = 0.0  # off: focus only reveals, the zoom stays
    nav.select_face(n["top"], focus=True)
    assert window.view.zoom == pytest.approx(zoom)
    nav.face_fill = 0.5
    nav.select_face(n["middle"])  # focus not asked: the zoom stays
    assert window.view.zoom == pytest.approx(zoom)
    nav.select_face(n["middle"], focus=True)
    port = window.view.viewport().rect()
    shown = window.view.mapFromScene(box_rect(MIDDLE)).boundingRect()
    # a square box: its side on screen is half the viewport's shorter side (±2 px of rounding)
    assert abs(shown.height() - 0.5 * min(port.width(), port.height())) <= 2
    assert window.view.viewport().rect().contains(shown)


# ------------------------------------------------------------ Tab order


def test_tab_walks_faces_in_reading_order_and_shift_tab_walks_back(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    nav.select_face(None)
    nav.step_face(1)  # nothing selected: Tab takes the first in reading order
    assert nav.face_id == n["top"]
    nav.step_face(1)
    assert nav.face_id == n["middle"]
    nav.step_face(1)
    assert nav.face_id == n["bottom"]
    nav.step_face(1)  # wraps
    assert nav.face_id == n["top"]
    nav.step_face(-1)  # back, wrapping the other way
    assert nav.face_id == n["bottom"]
    nav.step_face(-1)
    assert nav.face_id == n["middle"]
    nav.select_face(None)
    nav.step_face(-1)  # nothing selected: Shift+Tab takes the last
    assert nav.face_id == n["bottom"]


def test_tab_on_a_cut_without_faces_says_so(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    messages: list[str] = []
    nav.message.connect(messages.append)
    nav.open_cut(n["c"])
    nav.step_face(1)
    assert messages[-1] == "no faces on this cut" and nav.face_id is None


# ------------------------------------------------------------ threshold


def test_set_threshold_hides_faces_below_it_and_tab_skips_them(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    nav.select_face(n["middle"])  # score 0.2
    nav.set_threshold(0.5)
    assert window.scene.threshold == 0.5
    items = window.scene.items_by_id
    assert [items[n[k]].isVisible() for k in ("top", "middle", "bottom")] == [True, False, True]
    assert nav.face_id is None  # the hidden face is no longer selected
    nav.step_face(1)
    nav.step_face(1)
    assert nav.face_id == n["bottom"]  # top, then bottom: middle is skipped
    nav.set_threshold(0.95)  # above every score: nothing to Tab to, and the selection goes
    assert window.scene.visible_face_ids() == [] and nav.face_id is None


# ------------------------------------------------------------ store changes


def test_an_edit_on_the_open_cut_is_shown_and_the_selection_re_announced(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    nav.select_face(n["top"])
    selections = recorder(window)
    moved = Box(620, 60, 90, 90)
    session.update(n["top"], {"box": moved})
    assert window.scene.items_by_id[n["top"]].face.box == moved
    assert selections == [(n["top"], ())]  # the selected face changed: its panels hear of it once
    session.update(n["bottom"], {"box": Box(310, 460, 90, 90)})  # not the selected one: no announcement
    assert window.scene.items_by_id[n["bottom"]].face.box == Box(310, 460, 90, 90)
    assert selections == [(n["top"], ())]


def test_edits_and_deletes_on_other_cuts_leave_the_open_cut_alone(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    shown = set(window.scene.items_by_id)
    assert shown == {n["top"], n["middle"], n["bottom"]}
    session.update(n["far"], {"box": Box(110, 2500, 100, 100)})
    added = session.add(Face(image_id=n["b"], box=Box(50, 50, 80, 80), score=0.7))
    assert set(window.scene.items_by_id) == shown and added.id not in window.scene.items_by_id
    session.delete(n["far"])
    assert set(window.scene.items_by_id) == shown


def test_a_face_added_or_deleted_on_the_open_cut_appears_and_goes(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    added = session.add(Face(image_id=n["a"], box=Box(400, 300, 60, 60), score=0.7))
    assert window.scene.items_by_id[added.id].face.box == Box(400, 300, 60, 60)
    nav.select_face(n["middle"])
    session.delete(n["middle"])
    assert n["middle"] not in window.scene.items_by_id and nav.face_id is None
    assert set(window.scene.items_by_id) == {n["top"], n["bottom"], added.id}


def test_store_changes_with_no_cut_open_are_ignored(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    nav.close_cut()
    session.update(n["top"], {"box": Box(600, 40, 100, 100)})
    session.imageFacesReset.emit(n["a"])
    assert window.scene.items_by_id == {} and nav.record is None


def test_a_redetection_of_the_open_cut_replaces_its_faces_and_keeps_the_selection(window: Parts) -> None:
    """Re-detection swaps model-only faces and keeps human work (the store's rule); the canvas follows
    once the window announces it, and the selected face, being kept, stays selected."""
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    session.update(n["top"], {"status": FaceStatus.ACCEPTED})  # a person's decision: kept by re-detection
    nav.select_face(n["top"])
    new = Box(50, 500, 70, 70)
    (kept, fresh) = session.store.replace_detections(
        n["a"], [Face(image_id=n["a"], box=new, score=0.55)], detector="test")
    assert kept.id == n["top"]
    session.imageFacesReset.emit(n["a"])
    assert set(window.scene.items_by_id) == {n["top"], fresh.id}
    assert window.scene.items_by_id[fresh.id].face.box == new
    assert nav.face_id == n["top"] and window.scene.items_by_id[n["top"]].isVisible()


def test_a_redetection_of_another_cut_leaves_the_open_one_alone(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    session.store.replace_detections(n["b"], [Face(image_id=n["b"], box=Box(20, 20, 90, 90))], detector="t")
    session.imageFacesReset.emit(n["b"])
    assert set(window.scene.items_by_id) == {n["top"], n["middle"], n["bottom"]}


# ------------------------------------------------------------ browsing order


def test_page_down_with_no_cut_open_opens_the_first_in_order(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.order = [n["c"], n["a"], n["b"]]
    nav.close_cut()
    nav.step_cut(1)
    assert nav.record.id == n["c"]
    nav.step_cut(1)
    assert nav.record.id == n["a"]
    nav.order = [n["b"]]  # the open cut left the order (a filter): PgDn starts over at its first
    nav.step_cut(1)
    assert nav.record.id == n["b"]
    nav.order = []
    nav.step_cut(1)  # nothing to browse: stays
    assert nav.record.id == n["b"]


def test_opening_a_cut_outside_the_browsing_order_prefetches_nothing(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.order = [n["a"], n["c"]]
    assert nav.open_cut(n["b"]) is True  # no error looking it up in the order
    assert nav.record.id == n["b"]


def test_opening_a_cut_prefetches_the_next_two_and_the_previous_one(window: Parts) -> None:
    """PgDn and PgUp land on decoded pixels: the cuts around the open one in browsing order are requested."""
    nav, n, cache = window.navigator, ids(window), window.cache
    nav.order = [n["c"], n["a"], n["b"]]
    nav.open_cut(n["a"])  # index 1: next two are b (only one left), previous is c
    cache.wait_idle()
    assert {k for k in ("a", "b", "c") if cache.get(n[k]) is not None} == {"a", "b", "c"}


def test_opening_the_first_cut_in_order_prefetches_only_ahead(window: Parts) -> None:
    nav, n, cache = window.navigator, ids(window), window.cache
    nav.order = [n["a"], n["c"]]
    nav.open_cut(n["a"])
    cache.wait_idle()
    assert cache.get(n["c"]) is not None and cache.get(n["b"]) is None  # b is not in the order


# ------------------------------------------------------------ opening and closing cuts


def test_opening_a_cut_announces_it_with_nothing_selected(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    nav.select_face(n["top"])
    cuts: list[object] = []
    nav.cutChanged.connect(cuts.append)
    selections = recorder(window)
    assert nav.open_cut(n["b"]) is True
    assert [c.id for c in cuts] == [n["b"]] and selections == [(-1, ())]  # the panels drop the old face
    nav.close_cut()
    assert cuts[-1] is None and selections == [(-1, ()), (-1, ())]


def test_a_cut_whose_file_is_gone_shows_a_notice_until_another_cut_or_none_is_shown(qtbot, window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    session.reads.cut_file(session.reads.image(n["c"])).unlink()
    problems: list[str] = []
    nav.imageProblem.connect(problems.append)
    nav.open_cut(n["c"])
    qtbot.waitUntil(lambda: any(problems), timeout=10_000)  # the decode fails off the GUI thread
    assert problems[-1].startswith("Cannot show ") and window.view.notice.isVisibleTo(window.view)
    nav.open_cut(n["a"])  # a readable cut: the notice goes and the panels hear "no problem"
    assert problems[-1] == "" and not window.view.notice.isVisibleTo(window.view)
    nav.open_cut(n["c"], force=True)
    qtbot.waitUntil(lambda: problems[-1] != "", timeout=10_000)
    assert window.view.notice.isVisibleTo(window.view)
    nav.close_cut()  # nothing open: no notice left over an empty canvas
    assert not window.view.notice.isVisibleTo(window.view)


def test_a_damaged_face_row_on_the_opened_cut_is_reported_and_a_healthy_cut_says_nothing(window: Parts) -> None:
    nav, n, session = window.navigator, ids(window), window.session
    with sqlite3.connect(session.store.root / DB_NAME) as conn:  # a row the reader cannot parse
        conn.execute("UPDATE faces SET landmarks = '[[1, 2, 2], [3' WHERE id = ?", (n["middle"],))
    conn.close()
    messages: list[str] = []
    nav.message.connect(messages.append)
    nav.open_cut(n["b"])
    assert messages == []  # nothing damaged there
    assert nav.open_cut(n["a"]) is True
    assert messages == [f"face(s) {n['middle']} on this cut are damaged in the project database and are not shown"]
    assert set(window.scene.items_by_id) == {n["top"], n["bottom"]}


def test_a_disconnected_navigator_no_longer_follows_the_store(window: Parts) -> None:
    """What a closed project's navigator must do: the window makes a new one for the next project, and the
    old one must not redraw the shared canvas on the old session's signals."""
    nav, n, session = window.navigator, ids(window), window.session
    nav.open_cut(n["a"])
    nav.disconnect_all()
    session.update(n["top"], {"box": Box(610, 70, 80, 80)})
    session.delete(n["bottom"])
    assert window.scene.items_by_id[n["top"]].face.box == TOP and n["bottom"] in window.scene.items_by_id
    nav.disconnect_all = lambda: None  # already done: the fixture's teardown must not disconnect twice


# ------------------------------------------------------------ focus (Space)


def test_deselecting_after_a_focus_zoom_returns_to_the_view_before_it(window: Parts) -> None:
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    fitted_zoom, fitted_view = window.view.zoom, seen(window)
    nav.face_fill = 0.6
    nav.select_face(n["top"], focus=True)
    assert window.view.zoom > fitted_zoom
    nav.select_face(None)
    assert window.view.zoom == pytest.approx(fitted_zoom) and seen(window) == fitted_view


def test_space_zooms_to_the_least_confident_face(window: Parts) -> None:
    """review_next opens the face the queue ranks first (lowest score: middle, 0.2) and zooms to it."""
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["c"])
    nav.face_fill = 0.5
    assert nav.review_next() is True
    assert nav.record.id == n["a"] and nav.face_id == n["middle"]
    port = window.view.viewport().rect()
    shown = window.view.mapFromScene(box_rect(MIDDLE)).boundingRect()
    assert abs(shown.height() - 0.5 * min(port.width(), port.height())) <= 2


def test_with_face_zoom_off_space_keeps_a_zoom_the_user_chose(window: Parts) -> None:
    """face_fill 0 means "do not zoom to faces": a view zoomed in by hand stays at that zoom, only scrolled."""
    nav, n = window.navigator, ids(window)
    nav.open_cut(n["a"])
    chosen = 4 * window.view.zoom
    window.view.set_zoom(chosen)
    nav.face_fill = 0.0
    nav.select_face(n["bottom"], focus=True)
    assert window.view.zoom == pytest.approx(chosen)
    assert seen(window).contains(box_rect(BOTTOM))  # revealed all the same
