"""The trainer reads the export layouts as the exporter writes them, checks them up front with the file
named, and augments A and B with one seeded draw."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_export_data import project_fixture  # noqa: F401  (fixture)
from trainer_data import paired_export, tiny, unpaired_export, write_manifest

from f2a_studio.core.keypoints import draw_keypoints
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, plan_export, run_export
from trainer.data import DataError, ResumableSampler, check_export, make_dataset
from trainer.data.augment import draw_params, mirror_landmarks


def test_real_pix2pix_export_loads_as_pairs_of_keypoints_and_face(project, tmp_path):
    with ProjectStore.open(project.root, read_only=True) as store:
        plan = plan_export(store, ExportOptions(format="pix2pix", size=64))
    run_export(plan, tmp_path / "exp")
    layout = check_export(tmp_path / "exp", paired=True)
    assert len(layout.a) == plan.counts()["train"] and layout.size == (128, 64)
    ds = make_dataset(layout, tiny(load_size=64, crop_size=64), augment=False)
    item = ds[(0, 0)]
    assert item["A"].shape == item["B"].shape == (3, 64, 64)
    assert item["A"].min() == -1.0  # the drawing's black background
    assert (item["A"] > -1).float().mean() < 0.2  # thin lines
    assert (item["B"] > -1).float().mean() > 0.5  # a face on white


def test_concat4_gives_the_keypoint_channel_as_a(project, tmp_path):
    with ProjectStore.open(project.root, read_only=True) as store:
        plan = plan_export(store, ExportOptions(format="concat4", size=64))
    run_export(plan, tmp_path / "c4")
    layout = check_export(tmp_path / "c4", paired=True)
    item = make_dataset(layout, tiny(load_size=64, crop_size=64), augment=False)[(0, 0)]
    assert item["A"].shape == (1, 64, 64) and item["B"].shape == (3, 64, 64)


def test_empty_export_is_refused_naming_the_folder(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    write_manifest(root, "pix2pix", [])
    with pytest.raises(DataError, match=r"empty/train holds no pix2pix pairs"):
        check_export(root, paired=True)
    with pytest.raises(DataError, match=r"not an F2A export: manifest.json is missing"):
        check_export(tmp_path, paired=True)
    with pytest.raises(DataError, match=r"trainA holds no images.*--human-photos"):
        write_manifest(root, "cyclegan", [])
        check_export(root, paired=False)


def test_a_and_b_of_different_sizes_are_named(tmp_path):
    root = paired_export(tmp_path / "exp", n=3)
    bad = root / "train" / "pair1.png"
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(bad)
    with pytest.raises(DataError, match=r"pair1.png: A and B have different sizes \(the pair is 48×32"):
        check_export(root, paired=True)


def test_unreadable_and_missing_files_are_named(tmp_path):
    root = paired_export(tmp_path / "exp", n=3)
    (root / "train" / "pair2.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"pair2.png is not a readable image"):
        check_export(root, paired=True)
    (root / "train" / "pair2.png").unlink()
    with pytest.raises(DataError, match=r"pair2.png is listed in the export's manifest but missing on disk"):
        check_export(root, paired=True)


def test_manifest_from_a_newer_version_and_wrong_format_are_refused(tmp_path):
    root = paired_export(tmp_path / "exp", n=2)
    data = json.loads((root / "manifest.json").read_text())
    with pytest.raises(DataError, match=r"is a pix2pix export; this model trains on unpaired data"):
        check_export(root, paired=False)
    (root / "manifest.json").write_text(json.dumps({**data, "f2a_export": 99}))
    with pytest.raises(DataError, match=r"newer F2A Studio \(manifest version 99"):
        check_export(root, paired=True)


def test_one_draw_per_pair_applies_to_a_and_b_alike(tmp_path):
    root = tmp_path / "same"
    (root / "train").mkdir(parents=True)
    rng = np.random.default_rng(0)
    half = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(np.hstack([half, half])).save(root / "train" / "p.png")  # A == B
    from trainer_data import _entry

    write_manifest(root, "pix2pix", [_entry(root, root / "train" / "p.png", "train")])
    ds = make_dataset(check_export(root, paired=True), tiny(load_size=48, crop_size=32))
    crops = set()
    for epoch in range(6):
        item = ds[(epoch, 0)]
        assert torch.equal(item["A"], item["B"])  # same crop and flip on both sides
        assert torch.equal(item["A"], ds[(epoch, 0)]["A"])  # the draw is a function of (seed, epoch, index)
        crops.add(draw_params(0, epoch, 0, 48, 32, True))
    assert len(crops) > 1  # and it does jitter
    flips = {draw_params(0, e, 0, 48, 32, True).flip for e in range(20)}
    assert flips == {True, False}


def test_flipping_the_keypoint_drawing_is_the_drawing_of_the_mirrored_points():
    rng = np.random.default_rng(1)
    size = 64
    pts = np.column_stack([rng.uniform(8, 56, 68), rng.uniform(8, 56, 68), np.full(68, 2.0)])
    mirrored = mirror_landmarks(pts, size)
    assert np.allclose(mirror_landmarks(mirrored, size), pts)  # an involution
    assert mirrored[36, 0] == size - pts[45, 0]  # the outer eye corners swap
    flipped = draw_keypoints(pts, size)[:, ::-1].astype(int)
    redrawn = draw_keypoints(mirrored, size).astype(int)
    assert np.abs(flipped - redrawn).mean() < 1.0  # same colours on both sides: equal up to antialiasing
    assert np.abs(flipped - draw_keypoints(pts, size).astype(int)).mean() > 5  # (a real change)


def test_sampler_resumes_mid_epoch_and_splits_across_ranks():
    full = list(ResumableSampler(10, 3))
    s = ResumableSampler(10, 3)
    s.set_epoch(0, 4)
    assert list(s) == full[4:]
    ranks = [list(ResumableSampler(10, 3, rank=r, world=3)) for r in range(3)]
    assert sorted(i for r in ranks for _, i in r)[:10] == list(range(10)) or len({i for r in ranks for _, i in r}) == 10
    assert len({len(r) for r in ranks}) == 1  # padded to equal length


def test_unpaired_export_draws_b_from_the_seeded_generator(tmp_path):
    root = unpaired_export(tmp_path / "cg", n=4)
    ds = make_dataset(check_export(root, paired=False), tiny("cyclegan"))
    first = ds[(0, 1)]
    assert torch.equal(first["B"], ds[(0, 1)]["B"])
    assert first["A"].shape == first["B"].shape == (3, 32, 32)
