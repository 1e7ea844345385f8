"""Menus and dialogs on real widgets: import with progress and an error list, statistics, keymap, recent projects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.demo import draw_cut
from f2a_studio.gui.dialogs.keymap_dialog import KeymapDialog, keymap_rows
from f2a_studio.gui.dialogs.stats_dialog import StatsDialog
from f2a_studio.gui.main_window import MainWindow
from f2a_studio.gui.settings import StudioSettings


@pytest.fixture()
def window(qtbot, tmp_path: Path):
    win = MainWindow(StudioSettings.in_file(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_import_into_new_project_lists_bad_files(window: MainWindow, qtbot, tmp_path: Path) -> None:
    store = ProjectStore.create(tmp_path / "new")
    window.set_store(store)
    assert window.navigator.record is None and window.browser.order() == []
    sources = tmp_path / "in"
    rng = np.random.default_rng(0)
    for k in range(2):
        pixels, _ = draw_cut(rng, 400, 500, 1)
        save_png_atomic(sources / f"ttl_{k + 1}.png", pixels)
    (sources / "broken.png").write_bytes(b"not a png at all")
    dialog = window.project_menu.run_import([sources])
    assert dialog.report is None and dialog.plan.count() == 3  # nothing goes in before the user confirms
    assert (dialog.title.text(), dialog.episode.text()) == ("", "")  # two episodes: names decide
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        dialog.import_button.click()
    assert dialog.report is not None and len(dialog.report.added) == 2
    assert sorted(i.name for i in store.images()) == ["ttl_1_cut_001", "ttl_2_cut_001"]
    assert dialog.problems.isVisible() and dialog.problems.count() == 1
    assert "broken.png" in dialog.problems.item(0).text()
    assert len(window.browser.order()) == 2  # the browser reloaded
    assert window.navigator.record is not None  # and the first cut opened
    dialog.close()


def test_import_dialog_shows_a_slice_set_as_one_episode_to_confirm(window: MainWindow, qtbot, tmp_path: Path) -> None:
    store = ProjectStore.create(tmp_path / "new")
    window.set_store(store)
    rng = np.random.default_rng(1)
    pixels, _ = draw_cut(rng, 300, 1300, 2)
    for k in range(1, 5):  # one drawn scene sliced in four: 1.png … 4.png, 300×325 each
        save_png_atomic(tmp_path / "jb" / f"{k}.png", pixels[(k - 1) * 325 : k * 325])
    dialog = window.project_menu.run_import([tmp_path / "jb"])
    assert dialog.plan.count() == 1 and "4 slices joined as one episode" in dialog.plan.item(0).text()
    assert (dialog.title.text(), dialog.episode.text()) == ("jb", "1")
    dialog.title.setText("Jungle Boy")  # the user corrects the title the folder gave
    dialog.episode.setText("3")
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        dialog.import_button.click()
    (cut,) = store.images()
    assert (cut.name, cut.width, cut.height) == ("Jungle-Boy_3_cut_001", 300, 1300)  # joined again
    dialog.close()


def test_statistics_keymap_and_recent_projects(window: MainWindow, qtbot, tmp_path: Path) -> None:
    from f2a_studio.gui.demo import make_demo_project

    a = make_demo_project(tmp_path / "a", cuts=2, faces_per_cut=(1, 2), size=(300, 400), durability="normal")
    b = make_demo_project(tmp_path / "b", cuts=1, faces_per_cut=(1,), size=(300, 400), durability="normal")
    assert window.open_project(a, quiet=True)
    assert window.open_project(b, quiet=True)
    assert window.settings.recent_projects()[:2] == [b.resolve(), a.resolve()]
    recent = [act.text() for act in window.actions.recent_menu.actions()]
    assert recent[:2] == [str(b.resolve()), str(a.resolve())]
    window.actions.recent_menu.actions()[1].trigger()  # reopen a from the recent list
    assert window.session.store.root == a
    stats = StatsDialog(window.session.store.stats(), window)
    assert "3</b> faces" in stats.summary.text() and stats.table.rowCount() == 1
    rows = keymap_rows()
    assert ("Edit", "A", "Accept Face") in rows and any(r[2].startswith("Next Unreviewed") for r in rows)
    dialog = KeymapDialog(window)
    assert dialog.table.rowCount() == len(rows)


def test_question_mark_opens_the_keymap(window: MainWindow, qtbot) -> None:
    seen = []

    def close_it() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, KeymapDialog) and w.isVisible():
                seen.append(w.table.rowCount())
                w.reject()

    from PySide6.QtCore import QTimer

    window.activateWindow()
    QTest.qWaitForWindowActive(window)
    QTimer.singleShot(200, close_it)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert seen and seen[0] > 20
