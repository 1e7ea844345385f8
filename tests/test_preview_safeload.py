"""f2a_studio/preview/safeload.py: which weights files the preview reads (safetensors, plain tensor dicts,
one nested under a known trainer key) and that everything else is refused with the file named, a pickle
without running it. Tiny tensors, so the expected values are written out here."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from f2a_studio.preview.errors import PreviewError, UnsafeCheckpointError
from f2a_studio.preview.safeload import read_tensors, state_dict_of

STATE = {"down.weight": torch.arange(6.0).reshape(2, 3), "down.bias": torch.tensor([0.5, -1.0])}


def _same(got: dict, want: dict) -> bool:
    return set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)


RAN: list[str] = []


class Payload:
    def __reduce__(self):
        return (RAN.append, ("ran",))


def test_a_safetensors_file_reads_back_every_tensor_exactly(tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    save_file(STATE, str(path))
    assert _same(read_tensors(path), STATE)


def test_a_plain_or_nested_torch_state_dict_reads_back_exactly(tmp_path: Path) -> None:
    plain, nested = tmp_path / "plain.pt", tmp_path / "nested.pth"
    torch.save(STATE, plain)
    torch.save({"netG": STATE, "epoch": 7}, nested)
    assert _same(read_tensors(plain), STATE)
    assert _same(read_tensors(nested), STATE)


def test_a_dict_with_a_stray_tensor_beside_the_nested_generator_is_not_taken_for_the_generator() -> None:
    # a trainer dict that holds one tensor of its own (a step counter) and the generator under "G"
    assert _same(state_dict_of({"step": torch.tensor(5), "G": STATE}, Path("x.pt")), STATE)


def test_nothing_that_is_not_a_name_to_tensor_mapping_passes(tmp_path: Path) -> None:
    for obj in ({}, [STATE["down.bias"]], {"epoch": 3}, {"netG": "not a mapping"}):
        with pytest.raises(PreviewError, match=r"x.pt: holds no generator state dict"):
            state_dict_of(obj, Path("x.pt"))


def test_a_missing_file_is_named_as_missing(tmp_path: Path) -> None:
    for name in ("gone.pt", "gone.safetensors"):
        with pytest.raises(PreviewError, match=rf"{name}: no such checkpoint file"):
            read_tensors(tmp_path / name)


def test_truncated_files_are_named_as_unreadable_not_as_unsafe(tmp_path: Path) -> None:
    whole = tmp_path / "whole.pt"
    torch.save(STATE, whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[:60])
    with pytest.raises(PreviewError, match=r"cut.pt: not a readable torch checkpoint") as caught:
        read_tensors(cut)
    assert not isinstance(caught.value, UnsafeCheckpointError)
    st = tmp_path / "cut.safetensors"
    save_file(STATE, str(st))
    st.write_bytes(st.read_bytes()[:40])
    with pytest.raises(PreviewError, match=r"cut.safetensors: not a readable safetensors file"):
        read_tensors(st)


def test_a_pickle_is_refused_with_one_line_of_torchs_reason_and_never_run(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"G": STATE, "hook": Payload()}, path)
    raw = tmp_path / "raw.ckpt"
    raw.write_bytes(pickle.dumps(Payload()))
    for bad in (path, raw):
        with pytest.raises(UnsafeCheckpointError) as caught:
            read_tensors(bad)
        message = str(caught.value)
        assert caught.value.path == str(bad)
        assert message.endswith(")") and "(Weights only load failed" in message and "\n" not in message
    assert RAN == []
