"""A plain (not editable) install works: the wheel carries its package data, and `f2a sample` (which
draws, imports and detects) and the studio run from it, away from the source checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done


def _source_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked and new, not ignored): no build/ or egg-info leftovers."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_the_wheel_installs_and_runs_f2a_sample_outside_the_checkout(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    source = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(source)])
    [wheel] = dist.glob("f2a_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("f2a_studio/resources/mean_face_3d.json", "f2a_studio/resources/detector_parts.json",
                 "f2a_studio/resources/detect_calibration.json", "f2a_studio/resources/themes/dark.qss",
                 "f2a_studio/resources/themes/light.qss"):
        assert data in names, f"{data} is not in the wheel"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # Install first, then make the already-installed dependencies visible (fast and offline): pip must not
    # see the shared environment's editable f2a-studio while installing.
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "zz_shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "F2A_RESOURCES", "F2A_MODELS",
                                                            "F2A_PLUGINS", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(python), "-c", "import f2a_studio; print(f2a_studio.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's, not the checkout's

    done = _run([str(venv / "bin" / "f2a"), "sample", "proj", "--scenes", "1"], cwd=work, env=env)
    assert "sample project proj" in done.stderr and "detected" in done.stderr, done.stderr
    info = _run([str(venv / "bin" / "f2a"), "info", "proj", "--json"], cwd=work, env=env)
    assert '"images_detected": ' in info.stdout and '"images_detected": 0' not in info.stdout
    _run([str(venv / "bin" / "f2a"), "studio", "proj", "--screenshot", "shot.png"], cwd=work, env=env)
    assert (work / "shot.png").stat().st_size > 0
