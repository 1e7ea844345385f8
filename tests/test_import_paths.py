"""Import paths the batch tests do not reach: the megapixel count, folders and FIFOs named like images,
animated-file notes, cut numbers from file names, which slices join, slice sets already imported or with an
undecodable slice, and the write-error wording. Every expected figure is worked out from the pictures made here."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, write_png
from PIL import Image
from privileges import run_without_dac

from f2a_studio.core.importer import _joinable, _project_write_error, import_sources
from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.pts import write_pts
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions

RNG = np.random.default_rng(16)


def test_megapixels_count_the_pixels_imported_and_nothing_for_files_already_in(store: ProjectStore,
                                                                                tmp_path: Path) -> None:
    a = write_png(tmp_path / "a.png", noise_image(RNG, 50, 60))
    b = write_png(tmp_path / "b.png", noise_image(RNG, 30, 70))
    first = import_sources(store, [a, b], workers=1)
    assert first.megapixels == pytest.approx((50 * 60 + 30 * 70) / 1e6)
    again = import_sources(store, [a, b], workers=1)  # both seen: nothing decoded, nothing counted
    assert again.megapixels == 0.0 and again.already_present == 2 and again.added == []


def test_a_folder_named_like_an_image_is_searched_and_a_fifo_named_like_one_is_reported(store: ProjectStore,
                                                                                         tmp_path: Path) -> None:
    src = tmp_path / "src"
    inner = write_png(src / "album.png" / "inner.png", noise_image(RNG, 40, 40))
    fifo = src / "pipe.png"
    os.mkfifo(fifo)
    report = import_sources(store, [src], workers=1)
    assert [r.source_path for r in report.added] == [str(inner)]
    assert [p.path for p in report.problems] == [str(fifo)]  # named, never opened (it would block)


def test_only_an_animated_file_gets_a_note_about_its_frames(store: ProjectStore, tmp_path: Path) -> None:
    still = write_png(tmp_path / "still.png", noise_image(RNG, 40, 50))
    frames = [Image.fromarray(noise_image(RNG, 40, 50)) for _ in range(2)]
    gif = tmp_path / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    report = import_sources(store, [still, gif], workers=1)
    assert len(report.added) == 2
    assert [(n.path, n.reason) for n in report.notes] == [
        (str(gif), "animated (2 frames): only the first frame was imported")]


def test_a_single_cut_file_keeps_the_cut_number_its_name_gives(store: ProjectStore, tmp_path: Path) -> None:
    path = write_png(tmp_path / "597447_13_cut_007.png", noise_image(RNG, 60, 50))
    (record,) = import_sources(store, [path], workers=1).added
    assert (record.title_id, record.episode, record.cut_index) == ("597447", "13", 7)


@pytest.mark.parametrize(("shapes", "joins"), [
    ([(100, 50, 3), (100, 50, 3), (30, 50, 3)], True),  # portrait slices, a short last one
    ([(50, 50, 3), (50, 50, 3)], True),  # square slices: as tall as wide is enough
    ([(100, 50, 3), (100, 60, 3)], False),  # two widths
    ([(40, 50, 3), (100, 50, 3)], False),  # a landscape picture before the last: a scene, not a slice
])
def test_which_slices_join_into_one_strip(shapes: list[tuple[int, int, int]], joins: bool) -> None:
    assert _joinable(shapes) is joins


def test_a_slice_set_imported_twice_counts_every_slice_as_present(store: ProjectStore, tmp_path: Path) -> None:
    src = tmp_path / "ep"
    slices = [write_png(src / f"{k}.png", noise_image(RNG, 120, 80)) for k in (1, 2)]
    first = import_sources(store, [src], workers=1)
    assert len(first.added) == 1 and first.files_done == 2  # one noise strip: no gutter, one cut
    assert first.added[0].source_path == str(slices[0])  # the cut starts in the first slice
    again = import_sources(store, [src], workers=1)
    assert again.added == [] and again.already_present == 2 and again.files_done == len(slices)


def test_a_slice_set_with_an_undecodable_slice_imports_the_others_one_by_one(store: ProjectStore,
                                                                            tmp_path: Path) -> None:
    src = tmp_path / "ep"
    good = write_png(src / "1.png", noise_image(RNG, 120, 80))
    bad = src / "2.png"
    bad.write_bytes(b"not a picture at all")
    report = import_sources(store, [src], workers=1)
    assert [r.source_path for r in report.added] == [str(good)]
    assert [p.path for p in report.problems] == [str(bad)]


@pytest.mark.parametrize(("code", "why"), [
    (errno.ENOSPC, "the disk is full"),
    (errno.EROFS, "the project folder is read-only"),
    (errno.EACCES, "the project folder is read-only"),
    (errno.EPERM, "the project folder is read-only"),
    (errno.EIO, os.strerror(errno.EIO)),
])
def test_a_failed_write_into_the_project_names_its_cause(store: ProjectStore, code: int, why: str) -> None:
    error = _project_write_error(store, OSError(code, os.strerror(code)))
    assert str(error) == f"cannot write into project {store.root}: {why}"


def test_re_encoded_slices_of_cuts_already_in_count_as_present(store: ProjectStore, tmp_path: Path) -> None:
    """The same pixels saved again (other PNG bytes, so sources not seen before): decoded, found by content."""
    pixels = [noise_image(RNG, 120, 80) for _ in range(2)]
    for k, px in enumerate(pixels, start=1):
        write_png(tmp_path / "ep" / f"{k}.png", px)
        (tmp_path / "again").mkdir(exist_ok=True)
        Image.fromarray(px).save(tmp_path / "again" / f"{k}.png", compress_level=0)
    assert len(import_sources(store, [tmp_path / "ep"], workers=1).added) == 1
    again = import_sources(store, [tmp_path / "again"], workers=1)
    assert again.added == [] and again.already_present == 1  # the one joined cut


def test_an_opaque_slice_joined_with_a_transparent_one_gets_an_opaque_alpha(store: ProjectStore,
                                                                           tmp_path: Path) -> None:
    rgba = noise_image(RNG, 120, 80, channels=4)
    rgba[..., 3] = 100
    write_png(tmp_path / "ep" / "1.png", noise_image(RNG, 120, 80))
    write_png(tmp_path / "ep" / "2.png", rgba)
    (record,) = import_sources(store, [tmp_path / "ep"], workers=1).added
    cut = np.asarray(Image.open(store.cut_file(record)))
    assert record.has_alpha and cut.shape == (240, 80, 4)
    assert (cut[:120, :, 3] == 255).all() and (cut[120:, :, 3] == 100).all()


def test_two_identical_panels_in_one_strip_make_one_cut_and_count_one_present(store: ProjectStore,
                                                                            tmp_path: Path) -> None:
    panel = noise_image(RNG, 150, 200)
    strip = np.full((60 + 2 * (150 + 60), 200, 3), 255, np.uint8)
    strip[60:210], strip[270:420] = panel, panel
    report = import_sources(store, [write_png(tmp_path / "strip.png", strip)], workers=1)
    assert len(report.added) == 1 and report.already_present == 1


def test_a_human_photo_without_landmarks_beside_it_imports_with_no_note(store: ProjectStore,
                                                                       tmp_path: Path) -> None:
    photo = write_png(tmp_path / "person.png", noise_image(RNG, 64, 48))
    report = import_sources(store, [photo], workers=1, domain="human")
    assert len(report.added) == 1 and report.notes == [] and store.faces(report.added[0].id) == []


def test_without_splitting_numbered_slices_stay_separate_pictures(store: ProjectStore, tmp_path: Path) -> None:
    """--no-split (min_aspect infinite): every file is one cut as it is, so slices are not joined either."""
    slices = [write_png(tmp_path / "ep" / f"{k}.png", noise_image(RNG, 120, 80)) for k in (1, 2)]
    report = import_sources(store, [tmp_path / "ep"], workers=1, split=SplitOptions(min_aspect=float("inf")))
    assert sorted(r.source_path for r in report.added) == sorted(map(str, slices))
    assert all((r.width, r.height) == (80, 120) for r in report.added)


def test_progress_counts_each_unit_and_ends_at_the_total(store: ProjectStore, tmp_path: Path) -> None:
    paths = [write_png(tmp_path / f"{name}.png", noise_image(RNG, 40, 40)) for name in ("a", "b", "c")]
    calls: list[tuple[int, int, str]] = []
    import_sources(store, paths, workers=1, progress=lambda done, total, what: calls.append((done, total, what)))
    assert calls == [(0, 3, str(paths[0])), (1, 3, str(paths[1])), (2, 3, str(paths[2])), (3, 3, "")]


def test_a_cancel_stops_before_the_next_unit_is_written_and_says_so(store: ProjectStore, tmp_path: Path) -> None:
    paths = [write_png(tmp_path / f"{name}.png", noise_image(RNG, 40, 40)) for name in ("a", "b")]
    token = CancelToken()
    calls: list[int] = []

    def progress(done: int, total: int, what: str) -> None:
        calls.append(done)
        if done == 1:
            token.cancel()  # after the first file is in

    report = import_sources(store, paths, workers=1, progress=progress, cancel=token)
    assert report.cancelled is True and [r.source_path for r in report.added] == [str(paths[0])]
    assert calls == [0, 1] and report.files_done == 1  # no "all done" call after a cancel
    assert store.image_count() == 1


def test_title_and_episode_given_name_every_cut_of_the_batch(store: ProjectStore, tmp_path: Path) -> None:
    path = write_png(tmp_path / "597447_13_cut_002.png", noise_image(RNG, 40, 40))
    (record,) = import_sources(store, [path], workers=1, title="Night Shift", episode="07").added
    assert (record.episode, record.cut_index) == ("7", 2)  # "07" reads as episode 7; the cut number stays
    assert record.title_id != "597447" and "Night" in record.title_id


def test_a_human_photo_with_landmarks_beside_it_gets_that_face(store: ProjectStore, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "person.png", noise_image(RNG, 100, 100))
    points = [(20.0 + (k % 17) * 3.0, 30.0 + (k // 17) * 10.0) for k in range(68)]  # x 20..68, y 30..60
    write_pts(photo.with_suffix(".pts"), points)
    report = import_sources(store, [photo], workers=1, domain="human")
    (face,) = store.faces(report.added[0].id)
    assert report.notes == [] and len(face.landmarks) == 68
    assert [(round(p[0], 1), round(p[1], 1)) for p in face.landmarks[:2]] == [(20.0, 30.0), (23.0, 30.0)]


def test_an_unreadable_slice_sends_its_set_one_by_one_and_is_named(tmp_path: Path) -> None:
    """Hashing the slices fails on the unreadable one: the others import alone, the bad one is reported."""
    src = tmp_path / "ep"
    good = write_png(src / "1.png", noise_image(RNG, 120, 80))
    secret = write_png(src / "2.png", noise_image(RNG, 120, 80))
    secret.chmod(0o000)
    result = run_without_dac(["-m", "f2a_studio.cli", "import", str(tmp_path / "proj"), str(src), "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 1 and report["problems"] == [
        {"path": str(secret), "reason": "permission denied: the file cannot be read"}]
    with ProjectStore.open(tmp_path / "proj", read_only=True) as reader:
        assert [r.source_path for r in reader.images()] == [str(good)]
