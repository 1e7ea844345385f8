"""f2a_studio/detect/finders/learned_io.py on its own: the search path, the card and the weights as written
and read back, a pickle recognised by its first bytes, and a failed write leaving no temp file. Tiny tensors,
no training, so the expected values are worked out here."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch

from f2a_studio.detect.finders.learned_io import (
    CARD_NAME,
    WEIGHTS_NAME,
    FinderModelError,
    InferenceConfig,
    find_model,
    load_state,
    model_paths,
    read_card,
    save_model,
    sha256_file,
)

STATE = {"head.weight": torch.arange(6.0).reshape(2, 3), "head.bias": torch.tensor([1.5, -2.0]),
         "head.scale": torch.tensor([3.0])}


def test_inference_config_reads_a_card_section_with_types_coerced_and_unknown_keys_ignored() -> None:
    assert InferenceConfig.from_json(None) == InferenceConfig() == InferenceConfig.from_json({})
    got = InferenceConfig.from_json({"tile": "256", "threshold": 1, "later_field": 3})
    assert got == InferenceConfig(tile=256, threshold=1.0)
    assert type(got.tile) is int and type(got.threshold) is float


def test_model_paths_and_find_model_take_the_first_folder_with_both_files(tmp_path: Path) -> None:
    assert model_paths(tmp_path) == (tmp_path / WEIGHTS_NAME, tmp_path / CARD_NAME)
    half, whole, later = tmp_path / "half", tmp_path / "whole", tmp_path / "later"
    half.mkdir()
    (half / WEIGHTS_NAME).write_bytes(b"")  # weights without a card: not a model
    for folder in (whole, later):
        save_model(folder, STATE, {"net": {}}, InferenceConfig())
    assert find_model([tmp_path / "nowhere", half, str(whole), later]) == whole
    assert find_model([half, tmp_path]) is None


def test_the_finder_looks_on_the_shared_search_path_f2a_models_first_then_the_shipped_model(
        monkeypatch, tmp_path: Path) -> None:
    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.finders.learned import LearnedFinder

    monkeypatch.delenv("F2A_MODELS", raising=False)
    assert find_model(LearnedFinder().search_path) == PACKAGE_MODELS  # shipped inside the package
    save_model(tmp_path / "a", STATE, {"net": {}}, InferenceConfig())
    monkeypatch.setenv("F2A_MODELS", f"{tmp_path / 'a'}::{tmp_path / 'b'}:")
    assert LearnedFinder().search_path[0] == tmp_path / "a"
    assert find_model(LearnedFinder().search_path) == tmp_path / "a"


def test_sha256_of_a_file_bigger_than_one_read_block(tmp_path: Path) -> None:
    data = bytes(range(256)) * (5 * 4096 + 3)  # 5 MiB and a bit: several 1 MiB blocks and a short tail
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_save_model_writes_weights_and_a_card_that_names_their_hash(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "finder"  # neither folder exists yet
    weights = save_model(folder, STATE, {"name": "learned", "net": {"width": 8}}, InferenceConfig(top_k=7))
    assert weights == folder / WEIGHTS_NAME
    assert sorted(p.name for p in folder.iterdir()) == [CARD_NAME, WEIGHTS_NAME]  # no .tmp left
    card = read_card(folder)
    assert card["name"] == "learned" and card["net"] == {"width": 8}
    assert InferenceConfig.from_json(card["inference"]) == InferenceConfig(top_k=7)
    assert card["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    back = load_state(folder)
    assert set(back) == set(STATE) and all(torch.equal(back[k], STATE[k]) for k in STATE)
    save_model(folder, STATE, {"net": {"width": 16}}, InferenceConfig())  # saving again replaces both
    assert read_card(folder)["net"] == {"width": 16}


def test_cards_that_are_unreadable_or_have_no_net_section_are_named(tmp_path: Path) -> None:
    with pytest.raises(FinderModelError, match=rf"{CARD_NAME}: not a readable learned-finder card"):
        read_card(tmp_path)  # missing
    (tmp_path / CARD_NAME).write_text("{broken")
    with pytest.raises(FinderModelError, match=r"not a readable learned-finder card"):
        read_card(tmp_path)
    for text in ('["net"]', '{"name": "learned"}'):
        (tmp_path / CARD_NAME).write_text(text)
        with pytest.raises(FinderModelError, match=r"no 'net' section; not a learned-finder card"):
            read_card(tmp_path)
    (tmp_path / CARD_NAME).write_text('{"net": {}}')
    assert read_card(tmp_path) == {"net": {}}


@pytest.mark.parametrize("protocol", [2, 5])
def test_a_raw_pickle_is_recognised_by_its_first_byte_and_never_loaded(tmp_path: Path, protocol: int) -> None:
    (tmp_path / WEIGHTS_NAME).write_bytes(pickle.dumps(dict(STATE), protocol=protocol))
    with pytest.raises(FinderModelError, match=r"this is a pickled torch checkpoint"):
        load_state(tmp_path)


def test_a_torch_zip_is_recognised_by_its_first_two_bytes(tmp_path: Path) -> None:
    torch.save(STATE, tmp_path / WEIGHTS_NAME)
    assert (tmp_path / WEIGHTS_NAME).read_bytes()[:2] == b"PK"
    with pytest.raises(FinderModelError, match=r"this is a pickled torch checkpoint"):
        load_state(tmp_path)
    (tmp_path / WEIGHTS_NAME).write_bytes(b"P" + b"\x00" * 40)  # starts like a zip, is not one
    with pytest.raises(FinderModelError, match=r"not a valid safetensors file"):
        load_state(tmp_path)
    (tmp_path / WEIGHTS_NAME).write_bytes(b"\x10\x02" + b"\x00" * 40)  # a pickle's second byte, not its first
    with pytest.raises(FinderModelError, match=r"not a valid safetensors file"):
        load_state(tmp_path)


def test_a_safetensors_file_whose_header_length_starts_with_0x80_loads(tmp_path: Path) -> None:
    # its first byte is that of a pickle: judged by the first bytes alone, it was refused as one
    state = {"head.weight": torch.zeros(2, 2), "head.bias": torch.ones(2)}
    save_model(tmp_path, state, {"net": {}}, InferenceConfig())
    head = (tmp_path / WEIGHTS_NAME).read_bytes()[:8]
    assert int.from_bytes(head, "little") == 128 and head[:1] == b"\x80"
    back = load_state(tmp_path)
    assert set(back) == set(state) and torch.equal(back["head.bias"], torch.ones(2))


def test_a_write_that_fails_leaves_the_weights_and_no_temp_file(tmp_path: Path) -> None:
    save_model(tmp_path, STATE, {"net": {}}, InferenceConfig())
    old = (tmp_path / WEIGHTS_NAME).read_bytes()
    (tmp_path / CARD_NAME).unlink()
    (tmp_path / CARD_NAME).mkdir()  # the card's rename now fails
    with pytest.raises(OSError):
        save_model(tmp_path, {"head.weight": torch.zeros(2, 2)}, {"net": {}}, InferenceConfig())
    assert sorted(p.name for p in tmp_path.iterdir()) == [CARD_NAME, WEIGHTS_NAME]
    assert json.dumps(sorted(load_state(tmp_path))) == '["head.weight"]'  # the weights went first
    assert (tmp_path / WEIGHTS_NAME).read_bytes() != old
