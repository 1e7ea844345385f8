"""Would a crop verifier pretrained on synthetic panels rank real faces better than one from random weights?

    python -m benchmarks.verifier_synthetic_init --out /tmp/verifier-init.pt [--panels 300] [--steps 2000]
    python -m benchmarks.verifier_devset --init /tmp/verifier-init.pt --seed 2024 --out FILE

`f2a train-finder` trains the project's verifier from random weights on the project's own cuts
(verifiers/project.py). This writes a VerifierNet state dict trained the same way (the product's
``cut_data`` and ``train_verifier``) on synthetic panels of every drawing style, with the shipped learned
finder's candidates (raw 0.05) as proposals, so that verifier_devset can start from it and compare.
Prints one JSON object (data counts, seconds) and writes the weights with torch.save (a plain state dict,
read back with ``weights_only=True``). Measured on the devset, see devset/README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def pretrain(out: Path, panels: int, steps: int, seed: int = 11, threads: int = 2) -> dict:
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
    net = VerifierNet()
    parts, counts = [], {}
    for i, (image, boxes, _style) in enumerate(synthetic_panels(seed, panels, sorted(STYLES))):
        pixels = np.ascontiguousarray(image[:, :, :3])
        proposals = [tuple(map(float, p)) for p in finder.find_boxes(pixels, threshold=0.05)]
        data, n = cut_data(pixels, boxes.tolist(), [], proposals, f"synthetic{i}", net.cfg.size, net.cfg.span)
        parts.append(data)
        counts = {k: counts.get(k, 0) + v for k, v in n.items()}
    data = VerifierData.concat(parts, net.cfg.size)
    data_s = time.perf_counter() - started
    torch.manual_seed(seed)
    t = time.perf_counter()
    train_verifier(net, data, VerifierTrainConfig(steps=steps, seed=seed))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    torch.save(net.state_dict(), tmp)
    tmp.replace(out)
    return {"benchmark": "verifier_synthetic_init", "out": str(out), "panels": panels, "steps": steps,
            "styles": sorted(STYLES), "data": counts | {"faces": data.faces, "others": data.others},
            "data_s": round(data_s, 1), "train_s": round(time.perf_counter() - t, 1)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="where the state dict goes (.pt)")
    ap.add_argument("--panels", type=int, default=300)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    print(json.dumps(pretrain(args.out, args.panels, args.steps, args.seed, args.threads)))


if __name__ == "__main__":
    main()
