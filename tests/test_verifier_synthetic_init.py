"""benchmarks/verifier_synthetic_init: a verifier pretrained on synthetic panels is a plain state dict that
verifier_devset's training starts from (no devset picture needed)."""

from __future__ import annotations

import numpy as np
import torch


def _distance(net: torch.nn.Module, state: dict) -> float:
    return sum(float((v - state[k]).abs().sum()) for k, v in net.state_dict().items())


def test_the_synthetic_init_writes_weights_the_devset_training_starts_from(tmp_path) -> None:
    from benchmarks import verifier_devset as vd
    from benchmarks.verifier_synthetic_init import pretrain
    from f2a_studio.detect.verifiers.net import VerifierNet
    from f2a_studio.detect.verifiers.project import cut_data
    from f2a_studio.synth.scene import make_character_image

    out = tmp_path / "init.pt"
    report = pretrain(out, panels=2, steps=2, threads=1)
    assert report["data"]["boxed_faces"] > 0 and report["data"]["background"] > 0
    state = torch.load(out, weights_only=True)
    VerifierNet().load_state_dict(state)  # the product's architecture, every tensor there
    panel = make_character_image(np.random.default_rng(3), 160)
    box = list(panel.faces[0].box)
    data, _ = cut_data(panel.image[:, :, :3].copy(), [box], [], [(2.0, 2.0, 30.0, 30.0)], "t", 96, 1.5)
    started, _ = vd.train(data, 1, 0, init=out)
    fresh, _ = vd.train(data, 1, 0)
    # one step from the pretrained weights stays near them; the same step from random weights does not
    assert _distance(started.net, state) < 0.1 * _distance(fresh.net, state)
