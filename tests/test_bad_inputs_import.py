"""Bad inputs to `f2a import` (and the image reader under it): each gets a clear message naming the file and
what is wrong, nothing hangs, nothing half-written stays behind.

The `test_bad_inputs_*.py` family (import, coco, export, store, detect) is where a new feature adds its bad
cases: one test per case, named for the behaviour, building the bad thing for real (a FIFO with os.mkfifo,
/dev/zero, a tmpfs that is full, a child process that is killed) and asserting the message a user sees and
the state left on disk. A hang is caught by a generous timeout on a child process, never by timing.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, write_png
from PIL import Image

from f2a_studio.core.errors import ImageError
from f2a_studio.core.files import temp_name
from f2a_studio.core.imageio import load_image, write_bytes_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.store import CUTS_DIR, ProjectStore

RNG = np.random.default_rng(9)
HANG_BOUND_S = 120  # a failure bound for "does not hang", far above what the command needs


def f2a(*args: str, timeout: float = HANG_BOUND_S, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "f2a_studio.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


# ---------------------------------------------------------------- case 1: FIFOs and devices


def test_a_fifo_or_device_is_reported_by_name_and_does_not_hang_the_import(tmp_path: Path) -> None:
    fifo = tmp_path / "dir" / "fifo.png"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    good = write_png(tmp_path / "dir" / "good.png", noise_image(RNG, 40, 50))
    project = tmp_path / "p"
    done = f2a("import", str(project), str(fifo), "/dev/zero", str(good), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    reasons = {p["path"]: p["reason"] for p in report["problems"]}
    assert "FIFO" in reasons[str(fifo)] and "character device" in reasons["/dev/zero"]
    assert report["added"] == 1
    with ProjectStore.open(project) as store:  # the lock was released: a writer can open it again
        assert not store.read_only and store.image_count() == 1


def test_a_fifo_inside_a_folder_is_reported_not_opened(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "page.png")
    write_png(folder / "ok.png", noise_image(RNG, 30, 30))
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_sources(store, [folder])
    assert [p.path for p in report.problems] == [str(folder / "page.png")]
    assert "FIFO" in report.problems[0].reason and len(report.added) == 1


def test_opening_refuses_a_fifo_even_when_called_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="FIFO"):
        load_image(fifo)


# ---------------------------------------------------------------- case 9: a huge non-image


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_a_huge_non_image_is_not_read_whole_for_its_error_message(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:  # 1 GiB of text, sparse on disk
        handle.write(b"not an image " * 100)
        handle.truncate(1 << 30)
    # Peak memory from VmHWM (this program's own high-water mark): ru_maxrss would carry over the
    # parent's size across exec on Linux.
    probe = ("import re, sys\n"
             "from f2a_studio.core.errors import ImageError\n"
             "from f2a_studio.core.imageio import load_image\n"
             "try:\n    load_image(sys.argv[1])\n"
             "except ImageError as exc:\n    print(exc.reason)\n"
             "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(huge)], capture_output=True, text=True,
                          timeout=HANG_BOUND_S)
    reason, peak_kib = done.stdout.splitlines()
    assert "not a recognised image" in reason or "not an image" in reason
    assert int(peak_kib) * 1024 < (1 << 30) // 2, "the whole file was read into memory"


# ---------------------------------------------------------------- case 11: the smaller ones


def test_an_animated_gif_imports_its_first_frame_and_says_so(tmp_path: Path) -> None:
    frames = [Image.fromarray(noise_image(RNG, 40, 40)) for _ in range(3)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_sources(store, [gif])
        assert len(report.added) == 1
    assert [n.path for n in report.notes] == [str(gif)]
    assert "3 frames" in report.notes[0].reason and "first frame" in report.notes[0].reason
    done = f2a("import", str(tmp_path / "q"), str(gif))
    assert done.returncode == 0 and "only the first frame" in done.stderr


def test_a_folder_named_like_an_image_and_empty_is_reported(tmp_path: Path) -> None:
    odd = tmp_path / "x.png"
    odd.mkdir()
    done = f2a("import", str(tmp_path / "p"), str(odd), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert report["problems"] == [{"path": str(odd), "reason": report["problems"][0]["reason"]}]
    assert "holds no image files" in report["problems"][0]["reason"]


def test_a_symlink_loop_is_reported_as_a_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").symlink_to(tmp_path / "in" / "b.png")
    (tmp_path / "in" / "b.png").symlink_to(tmp_path / "in" / "a.png")
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_sources(store, [loop, tmp_path / "in"])
    reasons = {p.path: p.reason for p in report.problems}
    assert set(reasons) == {str(loop), str(tmp_path / "in" / "a.png"), str(tmp_path / "in" / "b.png")}
    assert all("symbolic link loop" in r for r in reasons.values())


@pytest.mark.slow  # decodes a 182 MP picture (about 0.7 GB of memory)
def test_f2a_max_pixels_raises_the_limit_past_pillows_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    side = 13_500  # 182 MP: over Pillow's 2 × 89.5 MP bomb limit
    path = tmp_path / "big.png"
    Image.new("1", (side, side)).save(path)
    with pytest.raises(ImageError, match="F2A_MAX_PIXELS"):
        load_image(path)  # the default limit (150 MP) refuses it, and says how to raise it
    monkeypatch.setenv("F2A_MAX_PIXELS", str(200_000_000))
    loaded = load_image(path)
    assert (loaded.width, loaded.height) == (side, side)


def test_f2a_max_pixels_above_pillows_limit_passes_the_header_check(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A 182 MP PNG whose data is cut short: the header passes the raised limit, so the error is about the
    # data, not a decompression bomb (before, Pillow refused it at 179 MP whatever F2A_MAX_PIXELS said).
    side = 13_500
    path = tmp_path / "big.png"
    Image.new("1", (side, side)).save(path)
    path.write_bytes(path.read_bytes()[:4096])
    monkeypatch.setenv("F2A_MAX_PIXELS", str(200_000_000))
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert "bomb" not in info.value.reason and "truncated" in info.value.reason


def test_cuts_are_written_with_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "x.bin"
        write_bytes_atomic(target, b"data")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        os.umask(0o077)
        other = tmp_path / "y.bin"
        write_bytes_atomic(other, b"data")
        assert stat.S_IMODE(other.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    with ProjectStore.create(tmp_path / "p") as store:
        report = import_sources(store, [write_png(tmp_path / "s.png", noise_image(RNG, 20, 20))])
        cut = store.cut_file(report.added[0])
    assert stat.S_IMODE(cut.stat().st_mode) == 0o666 & ~old


def test_a_killed_imports_temp_file_is_removed_when_the_project_is_next_opened(tmp_path: Path) -> None:
    with ProjectStore.create(tmp_path / "p"):
        pass
    shard = tmp_path / "p" / CUTS_DIR / "ab"
    shard.mkdir()
    # A child process starts writing a cut the way an import does, and is killed before the rename.
    code = ("import os, sys, time\nfrom pathlib import Path\nfrom f2a_studio.core.files import temp_name\n"
            "p = Path(sys.argv[1]) / temp_name(Path('ab' * 32 + '.png'))\np.write_bytes(b'half')\n"
            "print(p, flush=True)\ntime.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(shard)], stdout=subprocess.PIPE, text=True)
    try:
        left = Path(child.stdout.readline().strip())
        assert left.exists()
        mine = shard / temp_name(Path("cd" * 32 + ".png"))  # a live writer's (this process) is kept
        mine.write_bytes(b"busy")
        with ProjectStore.open(tmp_path / "p"):
            assert left.exists()  # its writer still runs
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with ProjectStore.open(tmp_path / "p"):
        pass
    assert not left.exists() and mine.exists()


def test_importing_only_bad_files_creates_no_project_folder(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    project = tmp_path / "new" / "project"
    done = f2a("import", str(project), str(bad), str(tmp_path / "missing.png"))
    assert done.returncode == 1 and "bad.png" in done.stderr and "missing.png" in done.stderr
    assert not project.exists()
    # a folder that was there before stays, with what the user had in it
    existing = tmp_path / "mine"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep")
    done = f2a("import", str(existing), str(bad))
    assert done.returncode == 1 and sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


# ---------------------------------------------------------------- case 7: rich markup in names


def test_names_that_look_like_rich_markup_are_printed_as_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "a["  # its files print as ".../a[/name": a closing tag to rich
    folder.mkdir()
    (folder / "[raw] notes.png").write_text("text, not a picture")
    write_png(folder / "[b]good[i].png", noise_image(RNG, 30, 30))
    done = f2a("import", str(tmp_path / "p"), str(folder / "[raw] notes.png"), str(folder / "[b]good[i].png"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"skipped {folder}/[raw] notes.png: not an image" in done.stderr.replace("\n", "")
    with ProjectStore.open(tmp_path / "p", read_only=True) as store:
        assert [Path(i.source_path).name for i in store.images()] == ["[b]good[i].png"]
