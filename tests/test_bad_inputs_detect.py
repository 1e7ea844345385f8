"""Bad inputs to face finding and model loading: `f2a faces` on a FIFO, a landmark weights file that cannot
be loaded, a studio screenshot of a project that cannot be opened. Nothing hangs, detection goes on where it
can, and the message says why.

Part of the `test_bad_inputs_*.py` family (see test_bad_inputs_import.py). To add a case: make the bad file
or model for real, run the command in a child process with a generous timeout (a hang fails the test, it is
not a speed target) and assert the message and the result.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from f2a_studio.core.errors import F2AError
from f2a_studio.core.store import DB_NAME

BOUND_S = 300  # far above what each command needs; only a hang reaches it


def test_faces_on_a_fifo_returns_an_error_for_it_without_blocking(tmp_path: Path) -> None:
    pytest.importorskip("animeface")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "faces", str(fifo), "--timeout", "10",
                           "--workers", "1"], capture_output=True, text=True, timeout=BOUND_S)
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["image"] == str(fifo) and "FIFO" in result["error"] and result["faces"] == []


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no FAN weights from the user's cache


@pytest.mark.parametrize("content", ["junk", "pickled-object"])
def test_a_bad_fan_weights_file_falls_back_to_the_template_fit(tmp_path: Path, empty_hub: None,
                                                               content: str) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("face_alignment.models")
    pytest.importorskip("animeface")
    from f2a_studio.core.imageio import save_png_atomic
    from f2a_studio.detect import DetectOptions, detect_files
    from f2a_studio.detect.landmarks.fan import WEIGHTS_NAME, load_fan
    from f2a_studio.synth.scene import make_character_image

    models = tmp_path / "models"
    models.mkdir()
    weights = models / WEIGHTS_NAME
    if content == "junk":
        weights.write_bytes(b"not a torch file " * 500)
    else:  # a pickle that needs code to load: refused by weights_only=True
        torch.save({"made": datetime.datetime(2020, 1, 1)}, weights)
    with pytest.raises(F2AError) as info:
        load_fan(weights)
    assert str(weights) in str(info.value) and "weights_only=False" not in str(info.value)
    panel = make_character_image(np.random.default_rng(2), 300)
    save_png_atomic(tmp_path / "face.png", panel.image)
    (result,) = detect_files([tmp_path / "face.png"], DetectOptions(workers=1, models_dir=str(models)))
    assert result.ok, result.error
    assert result.landmark_backend == "template"
    notes = " ".join(result.notes)
    assert "fan landmarks could not be loaded" in notes and "template fit is used instead" in notes
    assert "weights_only=False" not in notes


def test_a_screenshot_of_a_project_that_cannot_open_says_why(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    project = tmp_path / "p"
    project.mkdir()
    (project / DB_NAME).write_bytes(b"")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "studio", str(project), "--screenshot",
                           str(tmp_path / "shot.png")], capture_output=True, text=True, timeout=BOUND_S, env=env)
    assert done.returncode == 2
    assert f"{DB_NAME} is empty: not an F2A project" in done.stderr
    assert not (tmp_path / "shot.png").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_sigkill_of_faces_stops_a_worker_busy_on_an_image(tmp_path: Path) -> None:
    """Pure noise keeps animeface busy for minutes; killing `f2a faces` must end that worker too, not leave
    it on the image until its time limit (the limit here is far beyond the failure bound). The pool ends its
    workers when the parent is gone (detect/pool.py); this guards that for a worker in the middle of an image."""
    pytest.importorskip("animeface")
    import time

    from conftest import noise_image, write_png
    from process_table import descendants, kill_and_collect_left

    noise = tmp_path / "noise.png"
    write_png(noise, noise_image(np.random.default_rng(3), 1400, 1400))
    proc = subprocess.Popen([sys.executable, "-m", "f2a_studio.cli", "faces", str(noise), "--workers", "1",
                             "--timeout", "3000"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + BOUND_S
        # the fork server and the worker it forked (a resource tracker may come too)
        while len(helpers := descendants(proc.pid)) < 2 or not any(
                descendants(pid) for pid in helpers):
            assert proc.poll() is None, f"f2a faces ended before its worker started: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"the worker never started ({helpers})"
            time.sleep(0.05)
        helpers |= {child for pid in helpers for child in descendants(pid)}
    except BaseException:
        kill_and_collect_left(proc, helpers, BOUND_S)
        raise
    left = kill_and_collect_left(proc, helpers, BOUND_S)
    assert left == set(), f"still running after f2a faces was killed: {sorted(left)}"
