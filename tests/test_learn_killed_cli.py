"""A killed `f2a train-landmarks` / `f2a train-sex` process (SIGTERM to the real command, mid-training)
resumes from the step it saved, and ends with the weights of a run that was never interrupted; what a killed
run leaves in checkpoints/ is its resume file only, never a half-written model (every write is atomic)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.landmarks.learned import STEM as LM_STEM
from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
from f2a_studio.detect.landmarks.learned_train import train_project as train_lm_project
from f2a_studio.detect.sex.backends import STEM as SEX_STEM
from f2a_studio.detect.sex.net import SexNet, SexNetConfig
from f2a_studio.detect.sex.train import train_project as train_sex_project
from f2a_studio.detect.small_train import read_resume, resume_path
from tests.learn_projects import synthetic_project

LM_TINY = LandmarkNetConfig(size=32, widths=(4, 8), hidden=8)
SEX_TINY = SexNetConfig(size=32, widths=(4, 8, 8, 8))
STEPS = 400  # the first resume file is written at step 50 (small_train's save_every): the kill lands after it
POLL_S = 0.02

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _base_model(models: Path, kind: str) -> None:
    torch.manual_seed(0)
    if kind == "landmarks":
        save_model(models, LM_STEM, LandmarkNet(LM_TINY).state_dict(), {"net": LM_TINY.to_json()})
    else:
        save_model(models, SEX_STEM, SexNet(SEX_TINY).state_dict(), {"net": SEX_TINY.to_json()})


def _project(root: Path, kind: str):
    if kind == "landmarks":
        return synthetic_project(root, 4, label_points=4, size=64)[0]
    return synthetic_project(root, 8, label_sex=8, size=64)[0]


def _kill_mid_training(command: list[str], resume: Path, env: dict) -> subprocess.CompletedProcess:
    """Start the real command, SIGTERM it once its first resume file is on disk, and wait for it to stop."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while not resume.is_file():
            if proc.poll() is not None:
                pytest.fail(f"the trainer ended before writing a resume file:\n{proc.stdout.read()}")
            time.sleep(POLL_S)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, out, "")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["landmarks", "sex"])
def test_a_killed_training_command_resumes_from_its_saved_step_to_the_uninterrupted_weights(kind: str,
                                                                                         tmp_path: Path) -> None:
    from f2a_studio.cli import app

    models = tmp_path / "models"
    _base_model(models, kind)
    stem, command = (LM_STEM, "train-landmarks") if kind == "landmarks" else (SEX_STEM, "train-sex")
    min_faces = "3" if kind == "landmarks" else "6"
    args = [command, str(tmp_path / "killed"), "--steps", str(STEPS), "--min-faces", min_faces]
    if kind == "sex":
        args.append("--no-predict")
    straight = _project(tmp_path / "straight", kind)
    killed = _project(tmp_path / "killed", kind)  # the same project built twice
    env = {**os.environ, "F2A_MODELS": str(models), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    resume = resume_path(killed.checkpoints_dir, stem)
    killed.close()

    done = _kill_mid_training([sys.executable, "-m", "f2a_studio.cli", *args], resume, env)
    assert done.returncode != 0, done.stdout
    assert f"run f2a {command} again to continue" in " ".join(done.stdout.split()), done.stdout
    saved = read_resume(resume)["step"]
    assert 50 <= saved < STEPS
    left = sorted(p.name for p in killed.checkpoints_dir.iterdir())
    assert left == [resume.name], f"a killed run left more than its resume file: {left}"

    res = CliRunner().invoke(app, args, env={"F2A_MODELS": str(models)})
    assert res.exit_code == 0, res.output
    card = json.loads(model_paths(tmp_path / "killed" / "checkpoints", stem)[1].read_text())
    assert card["train"]["resumed_from"] == saved and not resume.exists()

    train = train_lm_project if kind == "landmarks" else train_sex_project
    with straight:
        train(straight, steps=STEPS, min_faces=int(min_faces), base=[models])
    a = load_file(str(model_paths(straight.checkpoints_dir, stem)[0]))
    b = load_file(str(model_paths(tmp_path / "killed" / "checkpoints", stem)[0]))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "the resumed run drifted"
