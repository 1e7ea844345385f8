from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, strip_with_panels, write_png
from PIL import Image
from privileges import run_without_dac

from f2a_studio.core.errors import ProjectError
from f2a_studio.core.imageio import read_image
from f2a_studio.core.importer import import_sources
from f2a_studio.core.store import ProjectStore

RNG = np.random.default_rng(7)


def make_batch(folder: Path) -> dict[str, Path]:
    """Good files and every kind of bad file the foundation issue lists."""
    files = {}
    strip, _ = strip_with_panels([300, 400, 250], width=300, gutter=80)
    files["strip"] = write_png(folder / "597447_13_strip.png", strip)
    files["scene"] = write_png(folder / "sub" / "deep" / "777_2_scene.png", noise_image(RNG, 120, 160))
    files["korean"] = write_png(folder / "신의 탑_5_컷.png", noise_image(RNG, 100, 100))
    files["zero"] = folder / "zero.png"
    files["zero"].write_bytes(b"")
    files["text"] = folder / "readme.png"
    files["text"].write_text("not a picture")
    files["dot"] = folder / "dot.png"
    Image.new("RGB", (1, 1)).save(files["dot"])
    truncated = folder / "cut.jpg"
    Image.fromarray(noise_image(RNG, 100, 100)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:800])
    files["truncated"] = truncated
    return files


def test_batch_goes_in_around_bad_files(store: ProjectStore, tmp_path: Path) -> None:
    files = make_batch(tmp_path / "in")
    report = import_sources(store, [tmp_path / "in"])
    reasons = {Path(p.path).name: p.reason for p in report.problems}
    assert "empty file" in reasons["zero.png"]
    assert "text" in reasons["readme.png"]
    assert "1×1" in reasons["dot.png"]
    assert "truncated" in reasons["cut.jpg"]
    names = sorted(i.name for i in store.images())
    assert names == [
        "597447_13_cut_001", "597447_13_cut_002", "597447_13_cut_003",
        "777_2_cut_001", "신의-탑_5_cut_001",
    ]
    for record in store.images():  # cuts are stored by content hash, originals untouched
        assert Path(store.cut_file(record)).name == f"{record.hash}.png"
        assert read_image(store.cut_file(record)).shape == (record.height, record.width, 3)
    assert files["strip"].exists()


def test_import_is_idempotent(store: ProjectStore, tmp_path: Path) -> None:
    make_batch(tmp_path / "in")
    first = import_sources(store, [tmp_path / "in"])
    again = import_sources(store, [tmp_path / "in"])
    assert len(first.added) == 5 and again.added == []
    # the same picture re-encoded under another name is still the same cut
    scene = tmp_path / "in" / "sub" / "deep" / "777_2_scene.png"
    Image.open(scene).save(tmp_path / "copy.png", compress_level=9)
    third = import_sources(store, [tmp_path / "copy.png"])
    assert third.added == [] and third.already_present == 1
    assert store.image_count() == 5


def test_cut_indices_continue_across_files_of_an_episode(store: ProjectStore, tmp_path: Path) -> None:
    for part in (1, 2):
        strip, _ = strip_with_panels([200, 200], width=200, gutter=60, seed=part)
        write_png(tmp_path / f"123_4_{part:03d}.png", strip)
    import_sources(store, [tmp_path])
    assert [i.name for i in store.images()] == [f"123_4_cut_{k:03d}" for k in range(1, 5)]


def test_alpha_is_kept(store: ProjectStore, tmp_path: Path) -> None:
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 16:48] = (200, 100, 50, 255)
    write_png(tmp_path / "fg.png", rgba)
    (record,) = import_sources(store, [tmp_path / "fg.png"]).added
    assert record.has_alpha
    assert read_image(store.cut_file(record), with_alpha=True)[0, 0, 3] == 0


def test_missing_source_is_reported(store: ProjectStore, tmp_path: Path) -> None:
    report = import_sources(store, [tmp_path / "nope"])
    assert report.problems[0].reason == "no such file or folder"


def test_read_only_store_refuses_import(store: ProjectStore, tmp_path: Path) -> None:
    with ProjectStore.open(store.root) as second, pytest.raises(ProjectError, match="read-only"):
        import_sources(second, [tmp_path])


def test_unreadable_file_is_reported_and_the_rest_goes_in(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_png(src / "ok.png", noise_image(RNG, 50, 60))
    secret = write_png(src / "secret.png", noise_image(RNG, 50, 60))
    secret.chmod(0o000)
    result = run_without_dac(["-m", "f2a_studio.cli", "import", str(tmp_path / "proj"), str(src), "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 1
    assert report["problems"] == [{"path": str(secret), "reason": "permission denied: the file cannot be read"}]


def test_read_only_project_folder_gives_clear_error(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with ProjectStore.create(project):
        pass
    image = write_png(tmp_path / "scene.png", noise_image(RNG, 40, 40))
    for path in [project, *project.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = run_without_dac(["-m", "f2a_studio.cli", "import", str(project), str(image)])
        assert result.returncode == 2
        assert "read-only" in result.stderr and "no write permission" in result.stderr
        assert "Traceback" not in result.stderr
        with ProjectStore.open(project, read_only=True) as reader:  # still intact and readable
            assert reader.image_count() == 0 and reader.integrity_check() == "ok"
    finally:
        for path in [project, *project.rglob("*")]:
            path.chmod(0o755)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a tmpfs mount, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_stops_with_clear_error_and_keeps_earlier_cuts(tiny_disk: Path, tmp_path: Path) -> None:
    small = write_png(tmp_path / "src" / "a.png", noise_image(RNG, 100, 100))
    big = write_png(tmp_path / "src" / "b.png", noise_image(RNG, 800, 800))  # ~1.9 MB: cannot fit
    with ProjectStore.create(tiny_disk / "proj") as store:
        import_sources(store, [small])
        with pytest.raises(ProjectError, match="disk is full"):
            import_sources(store, [big])
        assert store.image_count() == 1
        assert store.integrity_check() == "ok"
    leftovers = [p.name for p in (tiny_disk / "proj" / "cuts").rglob("*.tmp")]
    assert leftovers == []
