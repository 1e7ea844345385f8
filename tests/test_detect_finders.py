"""Face finders are plug-ins: a registry, several finders per image merged by NMS after per-finder
calibration, and every face records its finder and model file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.detect.finders import FINDERS, available_finders, choose_finders, register_finder
from f2a_studio.detect.finders.calibration import ScoreMap, side_file_calibration
from f2a_studio.synth.scene import make_character_image

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def _scene(path: Path) -> Path:
    """A synthetic character (240 px) with a white margin on the right where the fixed box lies."""
    panel = make_character_image(np.random.default_rng(0), 240)
    pixels = np.full((240, 420, 3), 255, np.uint8)
    pixels[:, :240] = panel.image[:, :, :3]
    save_png_atomic(path, pixels)
    return path


def test_a_registered_finder_shows_up_in_f2a_faces_merged_with_animeface(tmp_path: Path) -> None:
    image = _scene(tmp_path / "scene.png")
    env = {k: v for k, v in os.environ.items() if k not in ("F2A_PLUGINS",)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
    env["F2A_PLUGINS"] = "plugin_fixed_finder"
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "faces", str(image), "--workers", "1"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    by_finder = {f["finder"]: f for f in result["faces"]}
    assert set(by_finder) == {"animeface", "fixed-box"}, result["faces"]
    fixed = by_finder["fixed-box"]
    assert fixed["box"] == [300.0, 40.0, 80.0, 80.0]
    assert fixed["score"] == pytest.approx(0.9)  # no calibration file: the identity map
    assert fixed["model"] == {"name": "fixed-box.bin", "sha256": "0" * 64}
    assert len(fixed["landmarks"]) == 68  # landmarks and colours are the pipeline's, for any finder
    anime = by_finder["animeface"]
    assert anime["model"]["name"].startswith("animeface") and len(anime["model"]["sha256"]) == 64
    assert anime["box"][0] + anime["box"][2] <= 240  # on the character, not merged into the fixed box


def test_unknown_finder_names_are_refused_loudly() -> None:
    with pytest.raises(F2AError, match="unknown face finder 'nope'"):
        choose_finders(["nope"], [])
    assert "animeface" in available_finders([])
    assert choose_finders(None, []) == available_finders([])


def test_registering_another_class_under_a_taken_name_is_an_error() -> None:
    class Impostor:
        name = "animeface"

    with pytest.raises(F2AError, match="registered already"):
        register_finder(Impostor)
    assert FINDERS["animeface"].__name__ == "AnimefaceFinder"


def test_calibration_beside_the_weights_maps_raw_scores(tmp_path: Path) -> None:
    assert side_file_calibration("finder-learned.safetensors", [tmp_path])(0.7) == pytest.approx(0.7)
    (tmp_path / "finder-learned.json").write_text(json.dumps(
        {"calibration": {"kind": "piecewise", "knots": [[0.0, 0.0], [0.5, 0.1], [1.0, 0.9]]}}))
    mapped = side_file_calibration("finder-learned.safetensors", [tmp_path])
    assert mapped(0.75) == pytest.approx(0.5) and mapped(2.0) == pytest.approx(0.9)
    logistic = ScoreMap("logistic", a=10.0, b=-5.0)
    assert logistic(0.5) == pytest.approx(0.5) and logistic(0.9) > 0.95
