"""verifiers/pretrain.py: the crop verifier's synthetic head start is written as safetensors + card, loaded
into a project's new verifier when it fits, and a missing, broken or foreign file leaves random weights
with the reason (training never fails for want of it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.verifiers.net import VerifierNet, VerifierNetConfig
from f2a_studio.detect.verifiers.pretrain import INIT_STEM, load_init, main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pretrained")
    assert main(["--out", str(out), "--panels", "3", "--steps", "3", "--threads", "1"]) == 0
    return out


def test_pretraining_writes_a_card_with_its_data_and_a_verifier_net_that_loads(pretrained: Path) -> None:
    weights, card_path = model_paths(pretrained, INIT_STEM)
    card = json.loads(card_path.read_text())
    assert card["data"]["panels"] == 3 and card["data"]["boxed_faces"] > 0 and card["data"]["background"] > 0
    assert card["data"]["faces"] > 0 and card["data"]["others"] > card["data"]["background"] - 1
    assert card["train"]["steps"] == 3 and VerifierNetConfig.from_json(card["net"]) == VerifierNetConfig()
    net = VerifierNet()
    said = load_init(net, [pretrained])
    assert said == {"init": str(weights), "init_sha256": card["weights_sha256"]}
    assert not _same(net, VerifierNet())  # loaded, not the random start


def test_missing_broken_or_foreign_weights_leave_random_weights_and_say_why(pretrained: Path,
                                                                        tmp_path: Path) -> None:
    net = VerifierNet()
    said = load_init(net, [tmp_path])
    assert said["init"] == "random" and INIT_STEM in said["why"]
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in model_paths(pretrained, INIT_STEM):
        (broken / f.name).write_bytes(f.read_bytes())
    model_paths(broken, INIT_STEM)[0].write_bytes(b"not safetensors")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    said = load_init(net, [broken])
    assert said["init"] == "random" and str(model_paths(broken, INIT_STEM)[0]) in said["why"]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # untouched
    other = VerifierNet(VerifierNetConfig(size=64))
    foreign = tmp_path / "foreign"
    save_model(foreign, INIT_STEM, other.state_dict(), {"net": other.cfg.to_json()})
    said = load_init(net, [foreign])
    assert said["init"] == "random" and "another network" in said["why"]
    assert load_init(net, [tmp_path, pretrained])["init"] != "random"  # the first folder that has it
