"""trainer/data/layout.py, the check before the first step: which files of an export it picks per split, the
size it reports, and each broken file or folder refused with its name (no Qt, no training, tiny images)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from trainer_data import _entry, paired_export, unpaired_export, write_manifest

from trainer.data import DataError, check_export


def test_a_paired_layout_holds_the_split_asked_for_and_only_it(tmp_path: Path) -> None:
    root = paired_export(tmp_path / "exp", n=3, val=2)
    train = check_export(root, paired=True)
    assert [p.name for p in train.a] == ["pair0.png", "pair1.png", "pair2.png"] and train.b == ()
    assert all(p.parent == root / "train" for p in train.a)
    val = check_export(root, paired=True, split="val")
    assert [p.name for p in val.a] == ["pair3.png", "pair4.png"]
    assert (train.format, train.paired, train.folder) == ("pix2pix", True, root)
    assert len(train.manifest_sha256) == 64 and train.manifest_sha256 == val.manifest_sha256


def test_an_unpaired_layout_holds_both_domains(tmp_path: Path) -> None:
    layout = check_export(unpaired_export(tmp_path / "exp", n=2, size=24), paired=False)
    assert [p.name for p in layout.a] == ["trainA0.png", "trainA1.png"]
    assert [p.name for p in layout.b] == ["trainB0.png", "trainB1.png"]
    assert layout.size == (24, 24) and not layout.paired


def test_the_size_is_that_of_the_first_file(tmp_path: Path) -> None:
    root = paired_export(tmp_path / "one", n=1, size=20, val=0)
    assert check_export(root, paired=True).size == (40, 20)  # one A|B pair: 2N × N


def test_the_layout_cannot_be_changed_after_the_check(tmp_path: Path) -> None:
    # one checked layout feeds every loader worker: a mutable one could drift from what was checked
    layout = check_export(paired_export(tmp_path / "exp", n=1, val=0), paired=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.a = ()  # type: ignore[misc]


def test_a_file_instead_of_a_folder_is_named(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "export.zip"
    not_a_folder.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"export.zip is not a folder"):
        check_export(not_a_folder, paired=True)


def test_a_truncated_png_whose_header_still_reads_is_refused(tmp_path: Path) -> None:
    # Image.open reads only the header: width and height look fine; only verify() sees the broken data
    root = paired_export(tmp_path / "exp", n=2, val=0)
    pair = root / "train" / "pair1.png"
    data = pair.read_bytes()
    pair.write_bytes(data[: len(data) - 30])
    with Image.open(pair) as im:
        assert im.size == (64, 32)
    with pytest.raises(DataError, match=r"pair1.png is not a readable image"):
        check_export(root, paired=True)


def _concat4(root: Path, mode: str) -> Path:
    path = root / "train" / "face0.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16, len(mode)), np.uint8)).save(path)  # 4 channels: RGBA
    write_manifest(root, "concat4", [_entry(root, path, "train")])
    return root


def test_concat4_files_must_be_rgba_and_are_square(tmp_path: Path) -> None:
    layout = check_export(_concat4(tmp_path / "ok", "RGBA"), paired=True)
    assert layout.size == (16, 16) and layout.format == "concat4"  # not 2N × N: that is pix2pix only
    with pytest.raises(DataError, match=r"face0.png: a concat4 file must be RGBA .*this one is RGB"):
        check_export(_concat4(tmp_path / "rgb", "RGB"), paired=True)


def test_an_unpaired_export_without_b_images_names_trainb_without_the_trainA_hint(tmp_path: Path) -> None:
    root = unpaired_export(tmp_path / "exp", n=2)
    a_only = [_entry(root, p, "train") for p in sorted((root / "trainA").iterdir())]
    write_manifest(root, "cyclegan", a_only)
    with pytest.raises(DataError) as caught:
        check_export(root, paired=False)
    assert str(caught.value) == f"{root}/trainB holds no images (the manifest lists none)"
