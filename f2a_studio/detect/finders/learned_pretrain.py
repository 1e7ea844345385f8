"""Pretrain the learned finder on synthetic panels in several drawing styles, one style held out.

    nice -n 5 python -m f2a_studio.detect.finders.learned_pretrain --out f2a_studio/resources/models --steps 2500

writes finder-learned.safetensors + finder-learned.json there (the card records this command, the data,
the time and the metrics: on fresh panels of the training styles and of the held-out style).
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
import torch

from f2a_studio.detect.finders.learned import LearnedFinder
from f2a_studio.detect.finders.learned_io import InferenceConfig, save_model
from f2a_studio.detect.finders.learned_net import FaceNet, NetConfig
from f2a_studio.detect.finders.learned_train import Sample, TrainConfig, score_predictions, to_network_scale, train
from f2a_studio.synth.scene import make_panel
from f2a_studio.synth.styles import STYLES

HELD_OUT = "dark_realistic"


def synthetic_panels(seed: int, n: int, styles: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``n`` panels (image, face boxes, style), styles taking turns, sizes like webtoon panels."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        style = styles[i % len(styles)]
        w, h = int(rng.integers(360, 640)), int(rng.integers(280, 720))
        p = make_panel(rng, w, h, style=style)
        out.append((p.image, np.array([f.box for f in p.faces], np.float64).reshape(-1, 4), style))
    return out


def evaluate(finder: LearnedFinder, panels: Sequence[tuple[np.ndarray, np.ndarray, str]], threshold: float) -> dict:
    scored = score_predictions([(finder.find_boxes(img, threshold=0.05), boxes) for img, boxes, _ in panels])
    return scored.at(threshold) | {"threshold_p85": scored.threshold_for_precision(0.85)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("f2a_studio/resources/models"))
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--panels", type=int, default=720)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hold-out", default=HELD_OUT, choices=sorted(STYLES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--real-look", type=float, default=0.0,
                    help="share of crops given a printed/scanned page's look (TrainConfig.real_look)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    styles = [s for s in STYLES if s != args.hold_out]
    t0 = time.monotonic()
    inf = InferenceConfig()
    data = synthetic_panels(args.seed, args.panels, styles)
    samples = [to_network_scale(img, b, np.zeros((0, 4)), inf) for img, b, _ in data]
    t_data = time.monotonic() - t0
    print(f"{len(samples)} panels in {t_data:.0f} s", flush=True)
    net = FaceNet(NetConfig())
    cfg = TrainConfig(steps=args.steps, batch=args.batch, seed=args.seed, save_every=100, real_look=args.real_look)
    args.out.mkdir(parents=True, exist_ok=True)
    resume = args.out / "finder-learned.resume.pt"

    def progress(done: int, total: int, text: str) -> None:
        if done % 50 == 0:
            print(f"step {done}/{total} {text} {time.monotonic() - t0:.0f} s", flush=True)

    result = train(net, [s for s in samples if isinstance(s, Sample)], cfg, resume=resume, progress=progress)
    finder = LearnedFinder.from_network(net, inf)
    val = synthetic_panels(args.seed + 1000, 60, styles)
    held = synthetic_panels(args.seed + 2000, 60, [args.hold_out])
    metrics = {"training_styles": evaluate(finder, val, 0.3), "held_out_style": evaluate(finder, held, 0.3)}
    card = {
        "name": "learned",
        "net": net.cfg.to_json(),
        "license": "Apache-2.0",
        "intended_use": "proposing drawn (anime/webtoon/manga) face boxes for F2A Studio; fine-tune per title "
        "with `f2a train-finder`; not for photos of people",
        "data": {
            "source": "f2a_studio.synth panels (procedural, no real pictures)",
            "panels": args.panels,
            "styles": styles,
            "held_out_style": args.hold_out,
            "seed": args.seed,
        },
        "train": cfg.to_json() | {"seconds": round(result.seconds, 1), "threads": args.threads},
        "command": " ".join(
            ["python -m f2a_studio.detect.finders.learned_pretrain", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "metrics_iou_0.3": metrics,
        "parameters": sum(p.numel() for p in net.parameters()),
    }
    save_model(args.out, net.state_dict(), card, inf)
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
