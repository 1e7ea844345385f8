"""Two gloo processes (as torchrun starts them) keep identical replicas and resume exactly."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from trainer_data import tiny, unpaired_export

from trainer.checkpoint import load_checkpoint, load_resume
from trainer.config import ConfigError
from trainer.loop import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, ports: list[int], root: str, tmp: str) -> None:
    torch.set_num_threads(1)
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1"})
    opts = {"pool_size": 2, "epochs": 1, "epochs_decay": 2}
    digests = {}
    for port, (name, steps, resume) in zip(ports, [("straight", 4, False), ("resumed", 2, False),
                                                   ("resumed", 4, True)], strict=True):
        os.environ["MASTER_PORT"] = str(port)
        result = train(root, tiny("cyclegan", max_steps=steps, **opts), Path(tmp) / name, resume=resume,
                       show_bar=False)
        digests[f"{name}-{steps}"] = result.weights_sha256
    (Path(tmp) / f"rank{rank}.json").write_text(json.dumps(digests))


@pytest.mark.slow  # ~45 s on the shared 2-core box: two processes, three runs
def test_two_gloo_processes_stay_in_sync_and_resume(tmp_path):
    root = unpaired_export(tmp_path / "data", n=5)  # 5 items over 2 ranks: padded, 3 steps an epoch
    mp.spawn(_worker, args=(2, [_free_port() for _ in range(3)], str(root), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2))
    assert rank0 == rank1  # replicas identical after every run
    assert rank0["straight-4"] == rank0["resumed-4"] != rank0["resumed-2"]
    straight = load_checkpoint(tmp_path / "straight")
    resumed = load_checkpoint(tmp_path / "resumed")
    assert all(torch.equal(straight.tensors[k], resumed.tensors[k]) for k in straight.tensors)
    state = load_resume(resumed.resume_path)
    assert state["world"] == 2 and len(state["rank_torch_rng"]) == 2


def test_batch_norm_under_ddp_on_cpu_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match=r"batch norm under DDP would normalise each process's batch alone"):
        train(tmp_path, tiny(), tmp_path / "run", show_bar=False)
    with pytest.raises(ConfigError, match=r"SyncBatchNorm runs on CUDA only"):
        train(tmp_path, tiny(sync_bn=True), tmp_path / "run", show_bar=False)


@pytest.mark.slow  # two torchrun processes starting torch, twice
def test_torchrun_cli_two_gloo_processes_train_and_resume(tmp_path):
    """The documented command itself: `torchrun --nproc-per-node 2 -m trainer train …` (gloo on CPU), then
    `--resume`; rank 0 alone writes the run, and the resume file holds both ranks' RNG states."""
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    if not Path(torchrun).exists():
        pytest.skip("torchrun is not installed")
    root = unpaired_export(tmp_path / "data", n=4)
    run = tmp_path / "run"
    tiny_flags = ["--set", "ngf=8", "--set", "ndf=8", "--set", "n_blocks=2", "--set", "pool_size=2",
                  "--crop-size", "32", "--load-size", "36", "--threads", "1", "--log-every", "1", "--no-bar"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for steps, resume in ((2, []), (4, ["--resume"])):
        done = subprocess.run([torchrun, "--nproc-per-node", "2", "--master-port", str(_free_port()), "-m",
                               "trainer", "train", "--data", str(root), "--out", str(run), "--preset", "cyclegan",
                               "--norm", "instance", "--max-steps", str(steps), *tiny_flags, *resume],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1])["step"] == steps  # printed by rank 0 only
    assert len([line for line in done.stdout.splitlines() if line.startswith("{")]) == 1
    ckpt = load_checkpoint(run)
    assert ckpt.meta["step"] == 4 and ckpt.meta["world"] == 2
    state = load_resume(ckpt.resume_path)
    assert state["world"] == 2 and len(state["rank_torch_rng"]) == 2
    rows = (run / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3, 4]  # one writer, resumed where it stopped
