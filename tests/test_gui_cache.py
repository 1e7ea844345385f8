"""The studio's image cache: byte budget with LRU eviction, mip chain, bad files as errors, async loads."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.gui.image_cache import ImageCache, decode_cut


def _png(path: Path, w: int, h: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    save_png_atomic(path, rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8), compression=1)
    return path


def test_mip_chain_and_pixels(tmp_path: Path, qapp) -> None:
    path = tmp_path / "tall.png"
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, size=(4100, 900, 3), dtype=np.uint8)
    save_png_atomic(path, pixels, compression=1)
    entry = decode_cut(1, path)
    assert entry.ok
    sizes = [(im.width(), im.height()) for im in entry.levels]
    assert sizes[0] == (900, 4100)
    assert sizes[-1][1] <= 1024 and all(b[1] == a[1] // 2 for a, b in itertools.pairwise(sizes))
    colour = entry.levels[0].pixelColor(17, 2345)
    assert (colour.red(), colour.green(), colour.blue()) == tuple(int(c) for c in pixels[2345, 17])


def test_byte_budget_evicts_least_recently_used(tmp_path: Path, qapp) -> None:
    paths = [_png(tmp_path / f"{k}.png", 400, 500, k) for k in range(6)]
    one = decode_cut(0, paths[0]).nbytes
    cache = ImageCache(limit_bytes=int(one * 3.5))
    for k in range(3):
        cache.load_now(k, paths[k])
    assert cache.get(0) is not None  # touch 0: now 1 is the least recently used
    cache.load_now(3, paths[3])
    assert cache.get(1) is None and cache.get(0) is not None and cache.get(3) is not None
    for k in range(6):
        cache.load_now(k, paths[k])
        assert cache.bytes_used <= cache.limit_bytes
    assert len(cache) == 3
    # A cut bigger than the whole budget is still shown (kept alone).
    big = _png(tmp_path / "big.png", 1500, 2000)
    entry = cache.load_now(99, big)
    assert entry.ok and len(cache) == 1
    cache.shutdown()


@pytest.mark.parametrize(("content", "reason"), [(None, "not found"), (b"\x89PNG\r\n\x1a\nbroken", ""), (b"", "empty")])
def test_bad_files_become_errors(tmp_path: Path, content: bytes | None, reason: str, qapp) -> None:
    path = tmp_path / "cut.png"
    if content is not None:
        path.write_bytes(content)
    entry = decode_cut(7, path)
    assert not entry.ok and entry.error and reason in entry.error
    assert entry.levels == []


def test_request_decodes_in_background_and_signals(tmp_path: Path, qtbot) -> None:
    path = _png(tmp_path / "a.png", 300, 300)
    cache = ImageCache(limit_bytes=1 << 26)
    with qtbot.waitSignal(cache.loaded, timeout=5000) as blocker:
        assert cache.request(5, path) is None
    assert blocker.args == [5]
    assert cache.get(5) is not None and cache.request(5, path) is cache.get(5)
    cache.shutdown()


def test_paging_cuts_in_the_window_stays_within_the_budget(qtbot, tmp_path: Path) -> None:
    from f2a_studio.gui.demo import make_large_project
    from f2a_studio.gui.main_window import MainWindow
    from f2a_studio.gui.settings import StudioSettings

    project = make_large_project(tmp_path / "p", cuts=40)
    cache = ImageCache(limit_bytes=30 << 20)
    win = MainWindow(StudioSettings.in_file(tmp_path / "s.ini"), cache=cache)
    qtbot.addWidget(win)
    assert win.cache is cache
    assert win.open_project(project, quiet=True)
    for image_id in [r.id for r in win.session.store.images()]:
        win.navigator.open_cut(image_id)
        cache.wait_idle()
        assert cache.bytes_used <= cache.limit_bytes
    assert 0 < len(cache) < 10  # ~4.4 MB per 800×1100 cut with its mip level
    win.close()


def test_face_reader_never_returns_a_stale_face(tmp_path: Path) -> None:
    from dataclasses import replace

    from f2a_studio.core.models import Box, Face
    from f2a_studio.core.store import ProjectStore
    from f2a_studio.gui.demo import make_demo_project
    from f2a_studio.gui.queries import FaceReader

    project = make_demo_project(tmp_path / "p", cuts=1, faces_per_cut=(3,), size=(400, 500), durability="normal")
    with ProjectStore.open(project) as store:
        reader = FaceReader(store)
        image_id = store.images()[0].id
        first = reader.faces(image_id)
        assert first == store.faces(image_id)
        assert reader.faces(image_id) == first  # unchanged: served from the parsed rows
        moved = store.update_face(replace(first[0], box=Box(1, 2, 30, 40)))
        assert reader.faces(image_id)[0] == moved
        last = store.delete_face(first[-1].id)  # the highest id: SQLite may hand it out again
        again = store.add_face(Face(image_id=image_id, box=Box(5, 5, 20, 20)))
        assert again.id == last.id and again.revision == last.revision == 1
        assert reader.faces(image_id)[-1] == again
        assert reader.faces(image_id) == store.faces(image_id)
