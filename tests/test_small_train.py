"""The small CNNs' shared training loop (detect.small_train): an interrupted run resumes exactly.

Real networks of the real architectures (sex classifier, landmark model) at tiny widths, real training
steps on real synthetic faces; interruptions are real: a stop request, a KeyboardInterrupt raised between
steps, and a SIGTERM sent to this process.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.landmarks.learned import STEM as LM_STEM
from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
from f2a_studio.detect.landmarks.learned_train import LmTrainConfig, synth_samples, train_landmarks
from f2a_studio.detect.landmarks.learned_train import train_project as train_lm_project
from f2a_studio.detect.sex.backends import STEM as SEX_STEM
from f2a_studio.detect.sex.net import SexNet, SexNetConfig
from f2a_studio.detect.sex.pretrain import synth_sex_data
from f2a_studio.detect.sex.train import SexTrainConfig, train_sex
from f2a_studio.detect.small_train import (
    ResumeMismatch,
    Schedule,
    TrainingStopped,
    read_resume,
    resume_path,
    stop_on_sigterm,
    train_steps,
)
from tests.learn_projects import synthetic_project

SEX_TINY = SexNetConfig(size=32, widths=(4, 8, 8, 8))
LM_TINY = LandmarkNetConfig(size=32, widths=(4, 8), hidden=8)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


@pytest.fixture(scope="module")
def sex_data():
    return synth_sex_data(5, 6, ["round_simple"], SEX_TINY)


@pytest.fixture(scope="module")
def lm_samples():
    return synth_samples(5, 4, ["round_simple"], size=64)


def _fresh(kind: str):
    torch.manual_seed(1)
    return SexNet(SEX_TINY) if kind == "sex" else LandmarkNet(LM_TINY)


def _train(kind: str, net, data, steps: int = 4, **kw):
    if kind == "sex":
        return train_sex(net, data, SexTrainConfig(steps=steps, batch=4, lr=1e-2), **kw)
    return train_landmarks(net, data, LmTrainConfig(steps=steps, batch=4, lr=1e-2), **kw)


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _data(kind, sex_data, lm_samples):
    return sex_data if kind == "sex" else lm_samples


@pytest.mark.parametrize("kind", ["sex", "landmarks"])
def test_four_steps_equal_two_then_a_stop_then_two_more(kind, sex_data, lm_samples, tmp_path: Path) -> None:
    data = _data(kind, sex_data, lm_samples)
    straight = _fresh(kind)
    full = _train(kind, straight, data)
    assert full.steps_done == 4 and not full.interrupted

    resume = tmp_path / "run.resume.pt"
    net = _fresh(kind)
    done: list[int] = []
    first = _train(kind, net, data, progress=lambda d, t, s: done.append(d), should_stop=lambda: len(done) >= 2,
                   resume=resume)
    assert first.interrupted and first.steps_done == 2 and resume.is_file()
    state = read_resume(resume)
    assert state["step"] == 2 and {"optimizer", "scheduler", "torch_rng", "model"} <= state.keys()
    assert not _same_weights(net, straight)  # two steps short of the straight run

    again = _fresh(kind)  # a new process would start from the start weights, then read the file
    second = _train(kind, again, data, resume=resume)
    assert second.resumed_from == 2 and second.steps_done == 4 and not second.interrupted
    assert _same_weights(again, straight), "the resumed run drifted from the uninterrupted one"
    assert not resume.exists(), "a finished run left its resume file behind"


@pytest.mark.parametrize("kind", ["sex", "landmarks"])
def test_ctrl_c_between_steps_keeps_every_finished_step(kind, sex_data, lm_samples, tmp_path: Path) -> None:
    data = _data(kind, sex_data, lm_samples)
    straight = _fresh(kind)
    _train(kind, straight, data)
    resume = tmp_path / "r.pt"

    def ctrl_c_after_three(done: int, total: int, text: str) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(kind, _fresh(kind), data, progress=ctrl_c_after_three, resume=resume)
    assert read_resume(resume)["step"] == 3
    again = _fresh(kind)
    assert _train(kind, again, data, resume=resume).resumed_from == 3
    assert _same_weights(again, straight)


def test_sigterm_stops_between_steps_with_the_resume_file_written(sex_data, tmp_path: Path) -> None:
    resume = tmp_path / "r.pt"

    def terminate_after_one(done: int, total: int, text: str) -> None:
        if done == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    with stop_on_sigterm() as stop:
        result = _train("sex", _fresh("sex"), sex_data, progress=terminate_after_one, should_stop=stop,
                        resume=resume)
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the caller's again
    assert result.interrupted and result.steps_done == 1 and read_resume(resume)["step"] == 1


def test_a_resume_file_of_other_data_or_settings_is_refused(sex_data, tmp_path: Path) -> None:
    resume = tmp_path / "r.pt"
    _train("sex", _fresh("sex"), sex_data, should_stop=lambda: True, resume=resume)  # stops at step 0
    assert resume.is_file()
    other = synth_sex_data(6, 6, ["round_simple"], SEX_TINY)
    with pytest.raises(ResumeMismatch, match="another training run"):
        _train("sex", _fresh("sex"), other, resume=resume)
    with pytest.raises(ResumeMismatch):
        _train("sex", _fresh("sex"), sex_data, steps=5, resume=resume)  # another schedule


def _sex_steps(net, data, steps: int = 6, **kw):
    """train_steps straight on the sex classifier's data: step s learns from a batch chosen by s alone."""
    def batches(step: int):
        idx = np.random.default_rng(step).choice(len(data), 4)
        return (torch.from_numpy(data.crops[idx].copy()).permute(0, 3, 1, 2).float() / 255,
                torch.from_numpy(data.female[idx].astype(np.float32)))

    def loss(n, batch):
        return torch.nn.functional.binary_cross_entropy_with_logits(n(batch[0]), batch[1])

    return train_steps(net, batches, loss, Schedule(steps, 1e-2, warmup=1), **kw)


def test_the_weight_average_is_what_the_net_ends_with_and_survives_a_resume(sex_data, tmp_path: Path) -> None:
    # the average, replayed by hand from the live weights after each step of a plain run
    plain = _fresh("sex")
    trajectory: list[dict] = []
    _sex_steps(plain, sex_data, progress=lambda d, t, s: trajectory.append(
        {k: v.detach().clone() for k, v in plain.state_dict().items()}))
    start = _fresh("sex").state_dict()
    expect = {k: v.clone() for k, v in start.items()}
    for step, state in enumerate(trajectory, 1):
        d = min(0.9, (1 + step) / (10 + step))
        for k, v in state.items():
            expect[k] = expect[k] * d + v * (1 - d) if v.is_floating_point() else v.clone()

    averaged = _fresh("sex")
    result = _sex_steps(averaged, sex_data, ema=0.9)
    assert result.steps_done == 6 and not result.interrupted
    got = averaged.state_dict()
    assert all(torch.allclose(got[k].float(), expect[k].float(), atol=1e-6) for k in got)
    assert not _same_weights(averaged, plain), "the average is not the last step's weights"

    # stopped after 3 steps: the resume file keeps the average, and the resumed run ends where the straight one did
    resume = tmp_path / "r.pt"
    done: list[int] = []
    stopped = _fresh("sex")
    first = _sex_steps(stopped, sex_data, ema=0.9, resume=resume, progress=lambda d, t, s: done.append(d),
                       should_stop=lambda: len(done) >= 3)
    assert first.interrupted and "ema" in read_resume(resume)
    again = _fresh("sex")
    assert _sex_steps(again, sex_data, ema=0.9, resume=resume).resumed_from == 3
    assert _same_weights(again, averaged)
    with pytest.raises(ValueError, match="decay"):
        _sex_steps(_fresh("sex"), sex_data, ema=1.5)


def test_step_schedule_and_bad_schedules() -> None:
    s = Schedule(100, 1.0, kind="step", warmup=1)
    assert s.factor(10) == 1.0 and s.factor(60) == pytest.approx(0.1) and s.factor(90) == pytest.approx(0.01)
    c = Schedule(100, 1.0, warmup=10)
    assert c.factor(0) == pytest.approx(0.1) and c.factor(50) == pytest.approx(0.5) and c.factor(99) < 0.01
    with pytest.raises(ValueError, match="kind"):
        Schedule(10, 1.0, kind="linear")


# -- projects and the CLI ---------------------------------------------------------------------------------


def _project(root: Path, models: Path):
    torch.manual_seed(0)
    save_model(models, LM_STEM, LandmarkNet(LM_TINY).state_dict(), {"net": LM_TINY.to_json()})
    return synthetic_project(root, 4, label_points=4, size=64)[0]


def test_a_stopped_project_training_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path: Path) -> None:
    models = tmp_path / "models"
    a = _project(tmp_path / "a", models)
    b = _project(tmp_path / "b", models)  # the same project built twice
    with a:
        train_lm_project(a, steps=4, min_faces=3, base=[models])
    with b:
        done: list[int] = []
        with pytest.raises(TrainingStopped, match="f2a train-landmarks again"):
            train_lm_project(b, steps=4, min_faces=3, base=[models], progress=lambda d, t, s: done.append(d),
                             should_stop=lambda: len(done) >= 2)
        assert not model_paths(b.checkpoints_dir, LM_STEM)[0].exists(), "a stopped run wrote a model"
        assert read_resume(resume_path(b.checkpoints_dir, LM_STEM))["step"] == 2
        card = train_lm_project(b, steps=4, min_faces=3, base=[models])
    assert card["train"]["resumed_from"] == 2 and any("resumed" in n for n in card["notes"])
    from safetensors.torch import load_file

    wa = load_file(str(model_paths(a.checkpoints_dir, LM_STEM)[0]))
    wb = load_file(str(model_paths(b.checkpoints_dir, LM_STEM)[0]))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch BOOM_RAN",))


def test_a_pickled_resume_file_is_never_run_and_the_training_starts_over(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    store = _project(tmp_path / "p", models)
    monkeypatch.chdir(tmp_path)
    resume = resume_path(store.checkpoints_dir, LM_STEM)
    resume.parent.mkdir(parents=True, exist_ok=True)
    resume.write_bytes(pickle.dumps({"format": 1, "x": _Boom()}))
    with store:
        card = train_lm_project(store, steps=2, min_faces=3, base=[models])
    assert not (tmp_path / "BOOM_RAN").exists(), "the resume file's pickle ran code"
    assert any("not a readable resume file" in n and "started over" in n for n in card["notes"])
    assert card["train"]["resumed_from"] == 0 and not resume.exists()


def test_cli_train_sex_says_it_resumes(tmp_path: Path) -> None:
    from f2a_studio.cli import app

    models = tmp_path / "models"
    torch.manual_seed(0)
    save_model(models, SEX_STEM, SexNet(SEX_TINY).state_dict(), {"net": SEX_TINY.to_json()})
    store = synthetic_project(tmp_path / "p", 8, label_sex=8, size=64)[0]
    with store:
        from f2a_studio.detect.sex.train import train_project

        done: list[int] = []
        with pytest.raises(TrainingStopped):
            train_project(store, steps=3, min_faces=6, base=[models], progress=lambda d, t, s: done.append(d),
                          should_stop=lambda: len(done) >= 1)
    res = CliRunner().invoke(app, ["train-sex", str(tmp_path / "p"), "--steps", "3", "--min-faces", "6",
                                   "--no-predict"], env={"F2A_MODELS": str(models)})
    text = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "resuming the interrupted training" in text and "at step 1" in text
    assert "resumed an interrupted training at step 1" in text
    card = json.loads(model_paths(tmp_path / "p" / "checkpoints", SEX_STEM)[1].read_text())
    assert card["train"]["resumed_from"] == 1 and np.isfinite(card["metrics"]["held_back_after"]["accuracy"])
