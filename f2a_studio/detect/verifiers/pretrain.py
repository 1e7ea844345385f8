"""The crop verifier's starting point: a VerifierNet trained on synthetic panels of every drawing style.

    nice -n 5 python -m f2a_studio.detect.verifiers.pretrain --out f2a_studio/resources/models

writes verifier-pretrained.safetensors + .json there. ``f2a train-finder`` starts each project's
verifier from it (verifiers/project.py) instead of random weights: on the devset, recall at precision
0.85 rose from 0.444 to 0.476 (mean of 3 seeds × 2 folds, benchmarks/verifier_devset.py --init random
against the default; devset/README.md). The data is what a project's verifier learns from, made the
product's way (verifiers/project.cut_data): each panel's face boxes, the shipped learned finder's
candidates at raw 0.05 labelled by IoU, and random boxes on the unboxed areas.

The defaults (600 panels, 4000 steps, the hardest third of each batch's non-faces learnt from) are what
the shipped file was trained with, so a rerun rebuilds it (~3.5 minutes on 2 cores). Each project's
verifier fine-tuned 1600 steps from it: recall at precision 0.85 0.636 against 0.616 from the 300-panel /
2000-step file before (10 runs, better on 6, worse on 2;
results/verifier_devset_pretrain600_2026-12-07.json).

``--real-look 0.5`` (half the training crops given a scanned/printed page's look, as the finder's
``--real-look``) did not help: 0.498 against 0.501 for the shipped file (same measure, product's verifier
with a moved box judged again; session 12), so the shipped file is trained without it.

Its stem differs from a project verifier's (verifier-learned): it has no calibration and judges no
candidate itself; it is only ever a set of initial weights.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.detect.cropnet import ModelFileError, load_model, model_folders, model_paths, save_model

INIT_STEM = "verifier-pretrained"
PANEL_SEED = 11
NET_SEED = 0


def pretrain(panels: int, steps: int, threads: int = 2, real_look: float = 0.0,
             mine_others: float = 3.0, grey: float | None = None) -> tuple[object, dict]:
    """(the trained VerifierNet, its card without the weights' hash)."""
    import torch

    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.finders.learned import LearnedFinder
    from f2a_studio.detect.finders.learned_pretrain import synthetic_panels
    from f2a_studio.detect.verifiers.net import VerifierNet
    from f2a_studio.detect.verifiers.project import cut_data
    from f2a_studio.detect.verifiers.train import VerifierData, VerifierTrainConfig, train_verifier
    from f2a_studio.synth.styles import STYLES

    torch.set_num_threads(threads)
    started = time.perf_counter()
    finder = LearnedFinder(model_search_path())
    finder.load()
    torch.manual_seed(NET_SEED)
    net = VerifierNet()
    parts, counts = [], {}
    for i, (image, boxes, _style) in enumerate(synthetic_panels(PANEL_SEED, panels, sorted(STYLES))):
        pixels = np.ascontiguousarray(image[:, :, :3])
        proposals = [tuple(map(float, p)) for p in finder.find_boxes(pixels, threshold=0.05)]
        data, n = cut_data(pixels, boxes.tolist(), [], proposals, f"syn{i}", net.cfg.size, net.cfg.span)
        parts.append(data)
        counts = {k: counts.get(k, 0) + v for k, v in n.items()}
    data = VerifierData.concat(parts, net.cfg.size)
    data_s = time.perf_counter() - started
    cfg = VerifierTrainConfig(steps=steps, seed=NET_SEED, real_look=real_look, mine_others=mine_others,
                              **({} if grey is None else {"grey": grey}))
    t = time.perf_counter()
    train_verifier(net, data, cfg)
    card = {
        "name": "verifier-pretrained",
        "net": net.cfg.to_json(),
        "license": "Apache-2.0",
        "intended_use": "initial weights of each project's crop verifier (f2a train-finder); judges nothing itself",
        "data": {"panels": panels, "styles": sorted(STYLES), "panel_seed": PANEL_SEED,
                 "proposals": f"the shipped learned finder at raw 0.05 ({finder.model_file().sha256[:12]})",
                 **counts, "faces": data.faces, "others": data.others},
        "train": cfg.to_json() | {"seconds": round(time.perf_counter() - t, 1), "data_seconds": round(data_s, 1),
                                  "threads": threads},
        "command": "python -m f2a_studio.detect.verifiers.pretrain " + " ".join(sys.argv[1:]),
        "python": platform.python_version(), "torch": torch.__version__,
    }
    return net, card


def load_init(net, search_path: Sequence[Path]) -> dict:
    """Load the first pretrained verifier on the search path into ``net`` when it fits; says what it did
    (for the project verifier's card). A missing or broken file leaves random weights and says why:
    training must not fail for want of a head start."""
    from f2a_studio.detect.verifiers.net import ARCHITECTURE, VerifierNetConfig

    folders = model_folders(search_path, INIT_STEM)
    if not folders:
        return {"init": "random", "why": f"no {INIT_STEM}.safetensors on the model search path"}
    weights, _card = model_paths(folders[0], INIT_STEM)
    try:
        state, card = load_model(folders[0], INIT_STEM, ARCHITECTURE)
        if VerifierNetConfig.from_json(card["net"]) != net.cfg:
            return {"init": "random", "why": f"{weights} is another network ({card['net']})"}
        net.load_state_dict(state)
    except (ModelFileError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        return {"init": "random", "why": f"{weights}: {str(exc).splitlines()[0]}"}
    return {"init": str(weights), "init_sha256": card.get("weights_sha256", "")}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("f2a_studio/resources/models"))
    ap.add_argument("--panels", type=int, default=600)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--real-look", type=float, default=0.0,
                    help="share of training crops given a printed/scanned page's look (VerifierTrainConfig.real_look)")
    ap.add_argument("--mine-others", type=float, default=3.0,
                    help="hard example mining of the non-faces (VerifierTrainConfig.mine_others; 1 = off)")
    ap.add_argument("--grey", type=float, default=None,
                    help="share of training crops turned grey (VerifierTrainConfig.grey; default its own)")
    args = ap.parse_args(argv)
    net, card = pretrain(args.panels, args.steps, args.threads, args.real_look, args.mine_others, args.grey)
    weights = save_model(args.out, INIT_STEM, net.state_dict(), card)
    print(json.dumps({"weights": str(weights), **card["data"], **card["train"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
