"""trainer/checkpoint.py without a training run: what save_checkpoint puts on disk, how every path a user can
pass finds it, and that each wrong, foreign or mismatched file is refused with a message naming it.
Small hand-built nets, so each test takes milliseconds and the expected keys are known up front."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
import safetensors.torch
import torch
from torch import nn
from trainer_data import tiny

from trainer.checkpoint import (
    FORMAT,
    CheckpointError,
    CheckpointFiles,
    find_checkpoint,
    load_checkpoint,
    load_resume,
    load_weights,
    save_checkpoint,
    unwrap,
    weights_of,
)

torch.set_num_threads(1)


def _net(*widths: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(*[nn.Linear(a, b) for a, b in pairwise(widths)])


def _save(folder: Path, step: int = 3, **nets: nn.Module):
    nets = nets or {"G": _net(2, 3), "D": _net(3, 1)}
    resume = {"step": step, "epoch": 1, "opt": {"lr": torch.tensor([0.5])}}
    return save_checkpoint(folder, tiny(), nets, resume, {"step": step, "epoch": 1})


class Tied(nn.Module):
    """Two names for one block, as UNIT's shared encoder/decoder layers are."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(2, 2)
        self.shared = self.enc


def test_the_files_are_named_by_step_and_latest_json_names_the_record(tmp_path: Path) -> None:
    files = _save(tmp_path, step=12)
    assert files == CheckpointFiles(tmp_path / "step-00000012.safetensors", tmp_path / "step-00000012.json",
                                    tmp_path / "step-00000012.resume.pt")
    assert json.loads((tmp_path / "latest.json").read_text()) == {"checkpoint": "step-00000012.json"}
    record = json.loads(files.record.read_text())
    # format version 1 is what every checkpoint written so far carries: a change needs a reader for the old one
    assert (record["format"], record["version"]) == (FORMAT, 1)
    assert record["weights"] == "step-00000012.safetensors" and record["resume"] == "step-00000012.resume.pt"
    assert record["nets"] == ["D", "G"]


def test_weights_round_trip_under_the_net_name_and_the_resume_state_too(tmp_path: Path) -> None:
    g = _net(2, 3)
    files = _save(tmp_path, G=g)
    ckpt = load_checkpoint(files.record)
    assert set(ckpt.tensors) == {"G.0.weight", "G.0.bias"}
    assert torch.equal(ckpt.net_state("G")["0.weight"], g[0].weight.detach())
    assert ckpt.meta == {"step": 3, "epoch": 1} and ckpt.resume_path == files.resume
    fresh = _net(2, 3)
    with torch.no_grad():
        fresh[0].weight.zero_()
    load_weights(ckpt, {"G": fresh}, tiny())
    assert torch.equal(fresh[0].weight, g[0].weight)
    state = load_resume(files.resume, json.loads(files.record.read_text())["resume_sha256"])
    assert state["step"] == 3 and torch.equal(state["opt"]["lr"], torch.tensor([0.5]))


def test_saved_weights_are_copies_not_views_of_the_live_parameters(tmp_path: Path) -> None:
    # safetensors refuses two names for one storage (UNIT's shared blocks): each tensor must be its own copy
    net = Tied()
    tensors = weights_of({"G": net})
    assert set(tensors) == {"G.enc.weight", "G.enc.bias", "G.shared.weight", "G.shared.bias"}
    assert tensors["G.enc.weight"].data_ptr() != net.enc.weight.data_ptr()
    files = _save(tmp_path, G=net)
    assert set(load_checkpoint(files.weights).tensors) == set(tensors)


def test_every_path_a_user_may_pass_finds_the_same_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    files = _save(run / "checkpoints")
    assert find_checkpoint(run) == files.record  # the run folder
    assert find_checkpoint(run / "checkpoints") == files.record
    assert find_checkpoint(files.record) == files.record
    assert find_checkpoint(files.resume) == files.record  # the resume file points back to its record
    assert find_checkpoint(files.weights) == files.weights
    assert load_checkpoint(files.resume).weights_path == files.weights
    assert load_checkpoint(files.weights).record is None and load_checkpoint(files.weights).resume_path is None


def test_missing_and_corrupt_pointers_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"empty holds no checkpoint \(no empty/latest.json\)"):
        find_checkpoint(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "latest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"bad/latest.json is corrupt"):
        find_checkpoint(bad)
    with pytest.raises(CheckpointError, match=r"nowhere.json: no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere.json")
    record = tmp_path / "step-00000001.json"
    record.write_text("[1, 2")
    with pytest.raises(CheckpointError, match=r"step-00000001.json is not a readable checkpoint record"):
        load_checkpoint(record)


def test_weights_that_do_not_match_their_record_are_refused_unless_told_not_to_verify(tmp_path: Path) -> None:
    files = _save(tmp_path / "a")
    other = _save(tmp_path / "b", G=_net(2, 3), D=_net(3, 2))
    files.weights.write_bytes(other.weights.read_bytes())  # a partial copy / weights from another run
    with pytest.raises(CheckpointError, match=r"does not match its record step-00000003.json \(sha256 differs\)"):
        load_checkpoint(files.record)
    assert load_checkpoint(files.record, verify=False).tensors["D.0.weight"].shape == (2, 3)
    files.weights.unlink()
    with pytest.raises(CheckpointError, match=r"step-00000003.safetensors is missing"):
        load_checkpoint(files.record)


def _foreign(path: Path, header: dict | None) -> Path:
    meta = None if header is None else {"f2a_trainer": json.dumps(header)}
    safetensors.torch.save_file({"G.w": torch.zeros(1)}, str(path), metadata=meta)
    return path


def test_foreign_and_newer_safetensors_files_are_refused_by_format_and_version(tmp_path: Path) -> None:
    cfg = tiny().to_json()
    with pytest.raises(CheckpointError, match=r"plain.safetensors is a safetensors file but not an F2A trainer"):
        load_checkpoint(_foreign(tmp_path / "plain.safetensors", None))
    with pytest.raises(CheckpointError, match=r"unknown checkpoint format 'other' version 1"):
        load_checkpoint(_foreign(tmp_path / "o.safetensors", {"format": "other", "version": 1, "config": cfg}))
    with pytest.raises(CheckpointError, match=rf"unknown checkpoint format '{FORMAT}' version 2 .*up to 1\)"):
        load_checkpoint(_foreign(tmp_path / "v2.safetensors", {"format": FORMAT, "version": 2, "config": cfg}))
    with pytest.raises(CheckpointError, match=r"its config cannot be read"):
        load_checkpoint(_foreign(tmp_path / "nocfg.safetensors", {"format": FORMAT, "version": 1}))
    ok = load_checkpoint(_foreign(tmp_path / "v1.safetensors", {"format": FORMAT, "version": 1, "config": cfg}))
    assert ok.meta == {} and set(ok.tensors) == {"G.w"}


def test_a_net_that_does_not_fit_lists_five_names_then_an_ellipsis(tmp_path: Path) -> None:
    ckpt = load_checkpoint(_save(tmp_path / "a", G=_net(2, 2, 2, 2)).record)  # G.0, G.1, G.2: six tensors

    def refusal(net: nn.Module, checkpoint=ckpt) -> str:
        with pytest.raises(CheckpointError, match=r"net 'G' does not fit this architecture: ") as caught:
            load_weights(checkpoint, {"G": net})
        return str(caught.value)

    assert refusal(_net(2, 2, 2, 2, 2, 2, 2)).endswith("missing 3.bias, 3.weight, 4.bias, 4.weight, 5.bias …")
    five_more = nn.Sequential(*_net(2, 2, 2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.PReLU())
    assert refusal(five_more).endswith("missing 3.bias, 3.weight, 4.bias, 4.weight, 5.weight")
    assert refusal(nn.Sequential()).endswith("unexpected 0.bias, 0.weight, 1.bias, 1.weight, 2.bias …")
    five = load_checkpoint(_save(tmp_path / "b", G=nn.Sequential(*_net(2, 2, 2), nn.PReLU())).record)
    assert refusal(nn.Sequential(), five).endswith("unexpected 0.bias, 0.weight, 1.bias, 1.weight, 2.weight")
    wide = refusal(_net(3, 3, 3, 3))  # every tensor has another shape: six differences, three named
    assert wide.endswith("shape 0.bias: (2,) in the checkpoint, (3,) here; 0.weight: (2, 2) in the checkpoint, "
                         "(3, 3) here; 1.bias: (2,) in the checkpoint, (3,) here")


def test_resume_files_that_are_not_ours_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.resume.pt"
    torch.save({"step": 1}, plain)
    with pytest.raises(CheckpointError, match=r"plain.resume.pt is not an F2A trainer resume file"):
        load_resume(plain)
    listed = tmp_path / "list.resume.pt"
    torch.save([FORMAT], listed)
    with pytest.raises(CheckpointError, match=r"list.resume.pt is not an F2A trainer resume file"):
        load_resume(listed)
    with pytest.raises(CheckpointError, match=r"gone.resume.pt is missing: this checkpoint cannot be resumed"):
        load_resume(tmp_path / "gone.resume.pt")


class Payload:
    def __reduce__(self):
        return (print, ("ran",))


def test_a_refused_pickle_quotes_the_first_line_of_torchs_reason(tmp_path: Path) -> None:
    evil = tmp_path / "evil.resume.pt"
    torch.save({"format": FORMAT, "x": Payload()}, evil)
    with pytest.raises(CheckpointError) as caught:
        load_resume(evil)
    message = str(caught.value)
    # torch's explanation runs over many lines; one line of it is enough in an error dialog
    assert "(torch said: Weights only load failed" in message and "\n" not in message


def test_a_compiled_net_is_saved_as_the_plain_module(tmp_path: Path) -> None:
    # last in the file: importing torch.compile takes seconds
    net = _net(2, 3)
    compiled = torch.compile(net)  # wraps lazily: nothing is compiled until it is called
    assert unwrap(compiled) is net
    assert set(weights_of({"G": compiled})) == {"G.0.weight", "G.0.bias"}
    assert unwrap(net) is net
