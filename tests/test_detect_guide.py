"""The guided small-face pass (detect/guide.py): windows from the learned finder's small proposals, the same
faces as the full up-scaled pass on a synthetic strip at fewer up-scaled pixels, the `f2a faces` contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.models import Box
from f2a_studio.detect import DetectOptions
from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer
from f2a_studio.detect.finder import find_raw
from f2a_studio.detect.guide import GuideOptions, coarse_windows, proposal_windows, window_tiles
from f2a_studio.detect.tiling import ScaleBand, default_bands, plan_tiles
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from tests.test_detect_cli import check_image


def strip_with_a_small_and_a_large_face() -> tuple[np.ndarray, Box, Box]:
    """test_detect_real's tall strip: a 22 px face (needs the up-scaled pass) and a 110 px one far below."""
    rng = np.random.default_rng(3)
    image = np.full((3000, 400, 3), 245, np.uint8)
    small = draw_character(image, sample_character(rng, "female"), Pose(120, 300, 22.0))
    large = draw_character(image, sample_character(rng, "male"), Pose(220, 2500, 110.0))
    return image, Box(*small.box), Box(*large.box)


def test_small_confident_proposals_open_merged_windows_clipped_to_the_image() -> None:
    options = GuideOptions(min_score=0.2, max_face=80, context=2.5, min_side=100)
    proposals = [
        (10, 10, 20, 20, 0.9),  # small, confident: a 100 px window, clipped at the top-left corner
        (40, 30, 20, 20, 0.5),  # overlaps the first: merged with it
        (300, 300, 40, 40, 0.9),  # 40 px: a 100 px window (2.5 × 40)
        (100, 400, 200, 200, 0.9),  # too large for the small-face pass
        (500, 20, 20, 20, 0.1),  # below min_score
    ]
    windows = proposal_windows(proposals, 640, 480, options)
    assert windows == [(0, 0, 100, 90), (270, 270, 370, 370)]
    tiles = window_tiles(windows, ScaleBand(2.0, 3072, 300, 40, 260), 640, 480)
    assert [t.inner for t in tiles] == [(False, False, True, True), (True, True, True, True)]
    assert proposal_windows([], 640, 480, options) == []


def test_a_proposal_between_the_two_sizes_opens_a_window_only_when_the_finder_is_sure() -> None:
    options = GuideOptions(min_score=0.05, max_face=45, confident_score=0.5, confident_max_face=64, context=2.5,
                           min_side=100)
    sure, unsure, too_big = (200, 200, 60, 60, 0.8), (500, 200, 60, 60, 0.3), (200, 500, 70, 70, 0.95)
    windows = proposal_windows([sure, unsure, too_big, (500, 500, 40, 40, 0.06)], 800, 800, options)
    assert windows == [(155, 155, 305, 305), (470, 470, 570, 570)]  # the sure 60 px one and the small one


def test_large_proposals_open_half_size_windows_and_none_means_the_whole_image() -> None:
    options = GuideOptions(min_score=0.05, coarse_min_face=100, coarse_context=2.5)
    proposals = [
        (100, 100, 120, 120, 0.3),  # large: a 300 px window around its centre (160, 160)
        (150, 150, 100, 100, 0.06),  # 100 px, overlapping the first: merged with it
        (600, 600, 60, 60, 0.9),  # small, however sure: the up-scaled pass's business
        (600, 100, 200, 200, 0.02),  # below min_score
        (700, 700, 200, 200, 0.9),  # clipped by the image's bottom-right corner
    ]
    assert coarse_windows(proposals, 800, 800, options) == [(10, 10, 325, 325), (550, 550, 800, 800)]
    assert coarse_windows([], 800, 800, options) == []
    assert coarse_windows(proposals, 800, 800, GuideOptions(coarse_min_face=None)) is None
    # a face filling a panel: its window would cover most of it, so the whole panel is looked at
    assert coarse_windows([(60, 50, 150, 150, 0.9)], 300, 260, options) is None
    assert coarse_windows([(60, 50, 150, 150, 0.9)], 1200, 1200, options) == [(0, 0, 323, 313)]


def test_the_half_size_pass_looks_only_inside_its_windows() -> None:
    image, _small, large = strip_with_a_small_and_a_large_face()
    height, width = image.shape[:2]
    guided = Analyzer(AnalyzeOptions(landmarks="template"))
    proposals = guided.guide.find_boxes(image, threshold=guided.guide_options.min_score)
    windows = coarse_windows(proposals, width, height, guided.guide_options)
    assert windows  # the 110 px face opens one ...
    assert any(x0 <= large.x and y0 <= large.y and large.x2 <= x1 and large.y2 <= y1 for x0, y0, x1, y1 in windows)
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in windows) < 0.25 * width * height  # ... not the strip
    up = next(b for b in guided.finders if b.name == "animeface")
    native, coarse = (b for b in default_bands(width, height) if b.scale <= 1.0)
    assert coarse.scale < 1.0
    nowhere = find_raw(image, detect=up.find, small_windows=[], coarse_windows=[])
    assert nowhere.tiles == len(plan_tiles(width, height, [native]))  # no half-size tile at all
    inside = find_raw(image, detect=up.find, small_windows=[], coarse_windows=windows)
    assert inside.tiles == nowhere.tiles + len(windows)


def test_bad_guide_settings_are_named() -> None:
    with pytest.raises(ValueError, match="min_score"):
        GuideOptions(min_score=2.0)
    with pytest.raises(ValueError, match="context"):
        GuideOptions(context=0.5)
    with pytest.raises(ValueError, match="confident_score"):
        GuideOptions(confident_score=-0.1)
    with pytest.raises(ValueError, match="coarse_min_face"):
        GuideOptions(coarse_min_face=0)
    with pytest.raises(F2AError, match="small_faces must be one of guided, full"):
        DetectOptions(small_faces="half")
    with pytest.raises(ValueError, match="small_faces"):
        AnalyzeOptions(small_faces="")


def test_guided_pass_finds_the_same_faces_as_the_full_pass_on_fewer_pixels() -> None:
    image, small, large = strip_with_a_small_and_a_large_face()
    full = Analyzer(AnalyzeOptions(landmarks="template", small_faces="full"))
    guided = Analyzer(AnalyzeOptions(landmarks="template"))
    assert full.guide is None and guided.guide is not None  # the shipped learned finder model guides
    full_faces, guided_faces = full.analyze(image).faces, guided.analyze(image).faces
    # the same faces, one for one (a window starts at another origin than a tile, so animeface's own box
    # can move by a pixel or two)
    assert len(guided_faces) == len(full_faces)
    for face in full_faces:
        assert max(g.box.iou(face.box) for g in guided_faces) > 0.7, face.box
    for truth in (small, large):
        assert any(f.box.iou(truth) > 0.4 for f in guided_faces), truth
    # the up-scaled pass looked at a fraction of the image: its windows cover the small face, not the strip
    proposals = guided.guide.find_boxes(image, threshold=guided.guide_options.min_score)
    windows = proposal_windows(proposals, image.shape[1], image.shape[0], guided.guide_options)
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in windows)
    assert 0 < area < 0.5 * image.shape[0] * image.shape[1]
    assert any(x0 <= small.x and y0 <= small.y and small.x2 <= x1 and small.y2 <= y1 for x0, y0, x1, y1 in windows)
    up = next(b for b in guided.finders if b.name == "animeface")
    no_windows = find_raw(image, detect=up.find, small_windows=[])
    assert not any(h.box.iou(small) > 0.4 for h in no_windows.hits)  # the windows are what finds it


def test_without_a_learned_finder_model_the_full_pass_runs(tmp_path: Path) -> None:
    image, small, _ = strip_with_a_small_and_a_large_face()
    analyzer = Analyzer(AnalyzeOptions(landmarks="template", models_dir=str(tmp_path)))
    assert analyzer.guide is None
    assert any(f.box.iou(small) > 0.4 for f in analyzer.analyze(image).faces)


@pytest.mark.parametrize("mode", ["guided", "full"])
def test_faces_contract_with_either_small_face_pass(tmp_path: Path, mode: str) -> None:
    image, small, large = strip_with_a_small_and_a_large_face()
    path = tmp_path / "strip.png"
    save_png_atomic(path, image)
    result = CliRunner().invoke(app(), ["faces", str(path), "--jsonl", "--small-faces", mode])
    assert result.exit_code == 0, result.output
    [obj] = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    check_image(obj)
    boxes = [Box(*f["box"]) for f in obj["faces"]]
    assert any(b.iou(small) > 0.4 for b in boxes) and any(b.iou(large) > 0.4 for b in boxes)


def test_an_unknown_small_face_pass_is_refused_by_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "strip.png"
    save_png_atomic(path, np.full((64, 64, 3), 200, np.uint8))
    result = CliRunner().invoke(app(), ["faces", str(path), "--small-faces", "half"])
    assert result.exit_code != 0
    assert "small_faces must be one of guided, full" in result.output


def app():
    from f2a_studio.cli import app as cli_app

    return cli_app
