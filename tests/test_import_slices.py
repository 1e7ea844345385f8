"""A folder of numbered slices of one episode imports as one title/episode, joined before splitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import strip_with_panels, write_png
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.imageio import read_image
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face, FaceSource
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import plan_units
from f2a_studio.export.filters import FaceFilter, episode_key
from f2a_studio.export.plan import ExportOptions, plan_export
from f2a_studio.gui.demo import template_landmarks

PANELS = [350, 500, 260, 700, 420, 300, 640, 380, 520, 450]
SLICE = 400  # rows per slice: 13 slices, so `10.png` sorts before `2.png` by name


def write_slices(folder: Path, pixels: np.ndarray, name: str = "{}.png", rows: int = SLICE) -> list[Path]:
    paths = []
    for k, top in enumerate(range(0, len(pixels), rows), start=1):
        paths.append(write_png(folder / name.format(k), pixels[top : top + rows]))
    return paths


def crossing(spans: list[tuple[int, int]]) -> list[int]:
    """Indices of the panels that a slice edge runs through."""
    return [i for i, (top, bottom) in enumerate(spans) if top // SLICE != (bottom - 1) // SLICE]


def test_slices_import_as_one_episode_with_panels_joined_across_edges(store: ProjectStore, tmp_path: Path) -> None:
    strip, spans = strip_with_panels(PANELS, width=300, gutter=60, seed=3)
    paths = write_slices(tmp_path / "ep", strip)
    assert len(paths) == 13 and len(crossing(spans)) >= 5  # the data really has panels across slice edges
    report = import_sources(store, [tmp_path / "ep"])
    assert report.problems == [] and report.files_done == 13
    cuts = store.images()
    assert {(c.title_id, c.episode) for c in cuts} == {("ep", "1")}
    assert [c.name for c in cuts] == [f"ep_1_cut_{k:03d}" for k in range(1, len(PANELS) + 1)]
    # One cut per panel, in strip order (numeric, not by name), each exactly the panel: no slivers.
    for cut, (top, bottom) in zip(cuts, spans, strict=True):
        assert np.array_equal(read_image(store.cut_file(cut)), strip[top:bottom])
    # Each cut names the slice its first row comes from.
    for cut, (top, _) in zip(cuts, spans, strict=True):
        assert Path(cut.source_path).name == f"{top // SLICE + 1}.png"


def test_reimporting_a_slice_set_adds_nothing_and_a_new_slice_adds_only_new_cuts(
    store: ProjectStore, tmp_path: Path
) -> None:
    strip, spans = strip_with_panels(PANELS, width=300, gutter=60, seed=4)
    last_panel_top = spans[-1][0]
    head = strip[: (last_panel_top // SLICE) * SLICE]  # the episode as first published, without the end
    write_slices(tmp_path / "ep", head)
    first = import_sources(store, [tmp_path / "ep"])
    again = import_sources(store, [tmp_path / "ep"])
    assert again.added == [] and again.already_present == len(list((tmp_path / "ep").iterdir()))
    write_slices(tmp_path / "ep", strip)  # the rest of the episode arrives: same slices, more of them
    more = import_sources(store, [tmp_path / "ep"])
    assert len(more.added) >= 1 and store.image_count() == len(first.added) + len(more.added)
    assert np.array_equal(read_image(store.cut_file(more.added[-1])), strip[spans[-1][0] : spans[-1][1]])


def test_naming_rule_for_slice_sets(tmp_path: Path) -> None:
    files = [tmp_path / "a" / f"{k}.jpg" for k in (1, 2, 10, 3, 4, 5, 6, 7, 8, 9)]
    files += [tmp_path / "b" / f"name{k:02d}.jpg" for k in (1, 2, 3)]
    files += [tmp_path / "c" / f"ttl_{k}.png" for k in (1, 2)]  # <title>_<episode>: two episodes
    files += [tmp_path / "c" / f"demo_1_cut_{k:03d}.png" for k in (1, 2)]  # already cuts
    files += [tmp_path / "d" / f"s{k}.png" for k in (1, 2, 4, 5)]  # a gap: two sets
    files += [tmp_path / "e" / "12" / f"{k:02d}.jpg" for k in (1, 2)]
    units = {u.paths[0].relative_to(tmp_path).as_posix(): (u.title_id, u.episode, len(u.paths))
             for u in plan_units(files)}
    assert units == {
        "a/1.jpg": ("a", "1", 10),
        "b/name01.jpg": ("name", "1", 3),
        "c/ttl_1.png": ("ttl", "1", 1), "c/ttl_2.png": ("ttl", "2", 1),
        "c/demo_1_cut_001.png": ("demo", "1", 1), "c/demo_1_cut_002.png": ("demo", "1", 1),
        "d/s1.png": ("s", "1", 2), "d/s4.png": ("s", "1", 2),
        "e/12/01.jpg": ("e", "12", 2),
    }
    ordered = [p.name for u in plan_units(files) if u.paths[0].parent.name == "a" for p in u.paths]
    assert ordered == [f"{k}.jpg" for k in range(1, 11)]


def test_landscape_numbered_pictures_are_not_stacked(store: ProjectStore, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for k in (1, 2, 3):  # anime screenshots: numbered, one width, but scenes of their own
        write_png(tmp_path / "shots" / f"shot{k}.png", rng.integers(0, 256, (180, 320, 3), dtype=np.uint8))
    report = import_sources(store, [tmp_path / "shots"])
    assert len(report.added) == 3 and all(c.height == 180 for c in store.images())


def test_cli_title_and_episode_and_the_split_keeps_the_episode_together(tmp_path: Path) -> None:
    strip, _ = strip_with_panels(PANELS, width=300, gutter=60, seed=5)
    write_slices(tmp_path / "jb", strip, name="wt-jb{:02d}.jpg")
    project = tmp_path / "p"
    result = CliRunner().invoke(app, ["import", str(project), str(tmp_path / "jb"), "--title", "jungle boy",
                                      "--episode", "07", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["files"] == 13
    for k, seed in ((1, 6), (2, 7)):  # two more episodes, one strip each
        other, _ = strip_with_panels([300, 300], width=300, gutter=60, seed=seed)
        write_png(tmp_path / f"other_{k}.png", other)
    with ProjectStore.open(project) as store:
        import_sources(store, [tmp_path / "other_1.png", tmp_path / "other_2.png"])
        cuts = store.images()
        jb = [c for c in cuts if c.title_id == "jungle-boy"]
        assert len(jb) == len(PANELS) and {c.episode for c in jb} == {"7"}  # named by the options
        for cut in cuts:
            box_size = min(cut.width, cut.height) * 0.5
            box = Box(10, 10, box_size, box_size)
            store.add_faces([Face(image_id=cut.id, box=box, score=0.9, source=FaceSource.DETECTOR,
                                  landmarks=template_landmarks(box))], actor="detector")
        plan = plan_export(store, ExportOptions(format="pix2pix", ratios=(0.5, 0.25, 0.25), seed=0,
                                                filters=FaceFilter(statuses=("unreviewed",))))
    splits = {item.split for item in plan.items if item.image.title_id == "jungle-boy"}
    assert len(jb) == len(PANELS) and len(splits) == 1  # every face of the episode lands in one split: no leakage
    assert len({episode_key(item.image) for item in plan.items}) == 3
    assert len({item.split for item in plan.items}) == 3  # and the other episodes fill the other splits
