"""Pretrain the shipped sex classifier on synthetic faces in every drawing style but one.

    nice -n 5 python -m f2a_studio.detect.sex.pretrain --out f2a_studio/resources/models

writes sex-learned.safetensors + sex-learned.json (the card records the command, data, time and metrics on
fresh faces of the training styles and of the held-out style).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.detect.cropnet import aligned_crop, save_model
from f2a_studio.detect.sex.backends import STEM
from f2a_studio.detect.sex.net import SexNet, SexNetConfig
from f2a_studio.detect.sex.train import SexData, SexTrainConfig, card_for, metrics, train_sex
from f2a_studio.detect.small_train import resume_note, resume_path, stop_on_sigterm
from f2a_studio.detect.synth_faces import HELD_OUT, jittered_points, synth_faces
from f2a_studio.synth.styles import STYLES


def synth_sex_data(seed: int, n: int, styles: Sequence[str], cfg: SexNetConfig | None = None,
                   jitter: float = 1.0, variation=None) -> SexData:
    """Aligned crops of ``synth_faces(seed, n, styles, variation=variation)`` (the same faces), aligned by
    their truth points under ``jitter`` (an imperfect fit's error, as at inference)."""
    cfg = cfg or SexNetConfig()
    crops, female = [], []
    for i, f in enumerate(synth_faces(seed, n, styles, variation=variation)):
        rng = np.random.default_rng([seed, i, 11])
        pts = jittered_points(f.truth.points(), rng, jitter) if jitter else f.truth.points()
        lm = np.column_stack([pts, np.full(68, 2.0)])
        crops.append(aligned_crop(f.image, lm, cfg.size, cfg.margin))
        female.append(1.0 if f.truth.sex == "female" else 0.0)
    return SexData(np.stack(crops), np.array(female))


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("f2a_studio/resources/models"))
    ap.add_argument("--faces", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hold-out", default=HELD_OUT, choices=sorted(STYLES))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    styles = [s for s in STYLES if s != args.hold_out]
    t0 = time.monotonic()
    data = synth_sex_data(args.seed, args.faces, styles)
    seen = synth_sex_data(args.seed + 1000, 300, styles)
    unseen = synth_sex_data(args.seed + 1000, 300, [args.hold_out])
    net = SexNet(SexNetConfig())
    cfg = SexTrainConfig(steps=args.steps, seed=args.seed)
    resume = resume_path(args.out, STEM)
    print(resume_note(resume) or "", end="", flush=True)
    with stop_on_sigterm() as stop:
        result = train_sex(net, data, cfg, progress=lambda d, t, s: print(d, t, s, flush=True)
                           if d % 100 == 0 else None, should_stop=stop, resume=resume)
    if result.interrupted:
        print(f"stopped after step {result.steps_done}: run the same command again to continue", flush=True)
        return 1
    card = card_for(net, cfg, {"synthetic_faces": args.faces, "styles": styles, "held_out_style": args.hold_out},
                    {"fresh_training_styles": metrics(net, seen), "held_out_style": metrics(net, unseen)},
                    time.monotonic() - t0, "python -m f2a_studio.detect.sex.pretrain " + " ".join(sys.argv[1:]))
    print(save_model(args.out, STEM, net.state_dict(), card), card["metrics"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
