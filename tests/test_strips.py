from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import strip_with_panels

from f2a_studio.core.strips import SplitOptions, find_cuts, parse_source_name


def test_strip_splits_at_gutters() -> None:
    pixels, spans = strip_with_panels([300, 500, 200], width=300, gutter=60)
    cuts = find_cuts(pixels)
    assert [(c.top, c.bottom) for c in cuts] == spans


def test_panel_taller_than_a_window_stays_one_cut() -> None:
    pixels, spans = strip_with_panels([4000, 300], width=300, gutter=80)
    cuts = find_cuts(pixels)
    assert [(c.top, c.bottom) for c in cuts] == spans
    assert cuts[0].height == 4000


def test_flat_band_inside_a_panel_is_not_a_gutter() -> None:
    pixels, spans = strip_with_panels([600], width=200, gutter=50)
    top = spans[0][0]
    pixels[top + 200 : top + 208] = 255  # a thin white band across the panel (a floor line, a sky)
    assert [(c.top, c.bottom) for c in find_cuts(pixels)] == spans


def test_coloured_gutters_and_sliver_merging() -> None:
    pixels, spans = strip_with_panels([400, 400], width=200, gutter=70)
    pixels[pixels.sum(axis=2) == 765] = (20, 20, 30)  # black-ish gutters
    mid = (spans[0][1] + spans[1][0]) // 2
    pixels[mid : mid + 5, 50:60] = 250  # a 5-row mark in the gutter joins a neighbour
    cuts = find_cuts(pixels)
    assert len(cuts) == 2


def test_ordinary_scene_is_one_untrimmed_cut() -> None:
    pixels = np.full((400, 600, 3), 255, np.uint8)
    pixels[100:300, 100:500] = 0
    assert [(c.top, c.bottom) for c in find_cuts(pixels)] == [(0, 400)]


def test_blank_strip_has_no_cut() -> None:
    assert find_cuts(np.full((3000, 300, 3), 255, np.uint8)) == []


def test_untrimmed_cuts_share_gutters() -> None:
    pixels, _ = strip_with_panels([300, 300], width=200, gutter=60)
    cuts = find_cuts(pixels, SplitOptions(trim=False))
    assert cuts[0].top == 0 and cuts[-1].bottom == pixels.shape[0]
    assert cuts[0].bottom == cuts[1].top


@pytest.mark.parametrize(
    ("path", "title", "episode", "cut"),
    [
        ("597447_13_cut_007.png", "597447", "13", 7),
        ("597447_013_full.jpg", "597447", "13", None),
        ("webtoons/597447/13/001.jpg", "597447", "13", None),
        ("신의탑_2_strip.png", "신의탑", "2", None),
        ("신의 탑_5_컷.png", "신의-탑", "5", None),
        ("my scene (final).png", "my-scene-final", "1", None),
        ("a_b_c.png", "a-b-c", "1", None),
    ],
)
def test_parse_source_name(path: str, title: str, episode: str, cut: int | None) -> None:
    name = parse_source_name(Path(path))
    assert (name.title_id, name.episode, name.cut_index) == (title, episode, cut)
