"""Checkpoints load only as tensors and plain data, and a wrong, corrupt or foreign one says what is wrong."""

from __future__ import annotations

import json

import pytest
import torch
from trainer_data import paired_export, tiny

from trainer.checkpoint import CheckpointError, load_checkpoint, load_resume, load_weights
from trainer.inference import load_generator
from trainer.loop import train
from trainer.nets import build_generator

torch.set_num_threads(1)

UNPICKLED: list[str] = []


class Payload:
    """Stands for a malicious object: unpickling it would run code (here: record that it ran)."""

    def __reduce__(self):
        return (UNPICKLED.append, ("ran",))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt")
    root = paired_export(tmp / "data", n=2)
    return train(root, tiny(max_steps=1), tmp / "run", show_bar=False)


def test_checkpoint_files_round_trip(run):
    files = run.checkpoint
    assert files.weights.suffix == ".safetensors" and files.resume.name.endswith(".resume.pt")
    record = json.loads(files.record.read_text())
    assert record["config"]["ngf"] == 8 and record["metadata"]["step"] == 1
    assert len(record["metadata"]["data_manifest_sha256"]) == 64
    ckpt = load_checkpoint(run.run)  # the run folder finds latest.json
    assert ckpt.weights_path == files.weights
    assert load_checkpoint(files.weights).config == ckpt.config  # the safetensors alone is enough
    assert not list(files.weights.parent.glob("*.partial"))  # atomic writes leave no temp files


def test_a_resume_file_with_pickled_objects_is_refused_without_running_it(run, tmp_path):
    evil = tmp_path / "evil.resume.pt"
    torch.save({"format": "f2a-trainer-checkpoint", "step": 1, "extra": Payload()}, evil)
    with pytest.raises(CheckpointError, match=r"refusing to load .*evil.resume.pt: it holds pickled Python objects"):
        load_resume(evil)
    assert UNPICKLED == []


def test_corrupt_weights_and_resume_files_are_named(run, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(run.checkpoint.weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"broken.safetensors is not a readable safetensors checkpoint"):
        load_checkpoint(broken)
    cut = tmp_path / "cut.resume.pt"
    cut.write_bytes(run.checkpoint.resume.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"cut.resume.pt is corrupt or truncated"):
        load_resume(cut)
    with pytest.raises(CheckpointError, match=r"sha256 differs"):
        load_resume(run.checkpoint.resume, "0" * 64)


def test_weights_for_another_architecture_name_the_difference(run):
    ckpt = load_checkpoint(run.checkpoint.record)
    other = tiny(ngf=16)
    with pytest.raises(CheckpointError, match=r"different architecture: ngf: 8 in the checkpoint, 16 here"):
        load_weights(ckpt, {"G": build_generator(other)}, other)
    # without the config check, the shapes themselves are compared and named
    fit = r"net 'G' does not fit this architecture: shape downs.0.0.weight: \(16, 8, 4, 4\) in the checkpoint, \(32, "
    with pytest.raises(CheckpointError, match=fit):
        load_weights(ckpt, {"G": build_generator(other)})
    with pytest.raises(CheckpointError, match=r"no weights for net 'G_A' \(it holds D, G\)"):
        load_weights(ckpt, {"G_A": build_generator(tiny())})


def test_resume_refuses_another_architecture_and_another_dataset(run, tmp_path):
    data = run.run.parent / "data"
    with pytest.raises(CheckpointError, match=r"cannot resume .* another architecture: ngf: 8 in the checkpoint"):
        train(data, tiny(max_steps=2, ngf=16), run.run, resume=True, show_bar=False)
    other = paired_export(tmp_path / "other", n=2, seed=5)
    with pytest.raises(CheckpointError, match=r"trained on another dataset"):
        train(other, tiny(max_steps=2), run.run, resume=True, show_bar=False)
    with pytest.raises(CheckpointError, match=r"already holds a run; pass --resume"):
        train(data, tiny(max_steps=2), run.run, show_bar=False)


def test_the_generator_loads_for_inference_and_is_deterministic(run):
    gen = load_generator(run.checkpoint.weights)
    import numpy as np

    image = np.random.default_rng(0).integers(0, 256, (50, 50, 3), dtype=np.uint8)
    out = gen(image)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out, gen(image))
