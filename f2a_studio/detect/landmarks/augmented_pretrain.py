"""Pretraining the learned landmark model on synthetic faces with the real-page augmentation
(detect.landmarks.augment) and the widened synthetic faces (synth.variation): issue 12's "make the
pretrained model see the face, not the box".

    python -m f2a_studio.detect.landmarks.augmented_pretrain --out DIR [--faces N] [--steps N] [--threads N]

Kept apart from learned_train's own pretraining (whose crops keep the small box jitter the fine-tuning uses);
the loss, training loop, evaluation and model files are learned_train's and detect.small_train's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.detect.landmarks.augment import AugmentConfig, augment_sample
from f2a_studio.detect.landmarks.learned_train import LmSample, LmTrainConfig, _loss, card_for, evaluate, samples_key
from f2a_studio.synth.variation import Variation

# Mostly frontal like the pages' faces, some three-quarter; line weights, eye shapes, shut and big eyes.
PRETRAIN_VARIATION = Variation(closed_eyes=0.2, views=("frontal", "frontal", "frontal", "three_quarter"),
                               line_scale=(0.45, 2.4), eye_aspect=(0.6, 1.3), eye_tilt=(-0.04, 0.05),
                               big_eyes=(0.5, 0.1))


def augmented_batch(samples: Sequence[LmSample], step: int, cfg: LmTrainConfig, aug: AugmentConfig, size: int):
    """learned_train._batch's tensors, each crop drawn by augment_sample from a generator seeded (seed, step)."""
    import torch

    from f2a_studio.detect.cropnet import to_tensor

    rng = np.random.default_rng([cfg.seed, step])
    crops, pts, masks, vis, pf = [], [], [], [], []
    for _ in range(cfg.batch):
        s = samples[int(rng.integers(len(samples)))]
        crop, p, order = augment_sample(s.image, s.box, s.points, size, rng, aug)
        crops.append(crop)
        pts.append(p / size)
        masks.append(s.mask[order])
        vis.append(s.visible[order])
        r = rng.random()  # the sex the model is told: sometimes unknown or a soft guess, as at inference
        pf.append(0.5 if r < 0.3 else (s.p_female if r < 0.6 else 0.5 + (s.p_female - 0.5) * rng.uniform(0.3, 1)))
    return (to_tensor(crops), torch.tensor(pf, dtype=torch.float32), torch.from_numpy(np.stack(pts)).float(),
            torch.from_numpy(np.stack(masks)).float(), torch.from_numpy(np.stack(vis)).float())


def varied_samples(seed: int, n: int, styles: Sequence[str], variation: Variation, size: int = 128) -> list[LmSample]:
    from f2a_studio.detect.synth_faces import synth_faces

    out = []
    for f in synth_faces(seed, n, styles, size, variation=None if variation.is_off else variation):
        t = f.truth
        vis = np.asarray(t.visibility)
        out.append(LmSample(f.image, t.box, t.points(), np.ones(68, bool), (vis == 2).astype(np.float64),
                            1.0 if t.sex == "female" else 0.0))
    return out


def pretrain(net, samples: Sequence[LmSample], cfg: LmTrainConfig, aug: AugmentConfig, resume: Path | None = None,
             progress=None, should_stop=None):
    import torch

    from f2a_studio.detect.small_train import Schedule, train_steps

    if not samples:
        raise ValueError("no training faces")
    torch.manual_seed(cfg.seed)
    run = (f"landmarks-augmented:{json.dumps(net.cfg.to_json(), sort_keys=True)}:"
           f"{json.dumps(cfg.to_json(), sort_keys=True)}:{json.dumps(aug.to_json(), sort_keys=True)}")
    return train_steps(net, lambda step: augmented_batch(samples, step, cfg, aug, net.cfg.size), _loss,
                       Schedule(cfg.steps, cfg.lr), resume=resume, run=f"{run}:{samples_key(samples)}",
                       progress=progress, should_stop=should_stop)


def _widths(text: str) -> tuple[int, ...]:
    try:
        w = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--widths takes comma-separated integers, not {text!r}") from None
    if not w or min(w) < 1:
        raise argparse.ArgumentTypeError(f"--widths must be positive, not {text!r}")
    return w


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from f2a_studio.detect.cropnet import save_model
    from f2a_studio.detect.landmarks.learned import STEM
    from f2a_studio.detect.landmarks.nets import new_net, short_names
    from f2a_studio.detect.small_train import resume_note, resume_path, stop_on_sigterm
    from f2a_studio.detect.synth_faces import HELD_OUT
    from f2a_studio.synth.styles import STYLES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="Folder for landmarks-learned.safetensors + .json")
    ap.add_argument("--faces", type=int, default=1500)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arch", choices=sorted(short_names()), default="heatmap",
                    help="direct: learned_net's regressor; heatmap: heatmap_net's soft-argmax heatmaps")
    ap.add_argument("--size", type=int, default=None, help="crop side (default: the architecture's)")
    ap.add_argument("--widths", type=_widths, default=None, help="stage widths, e.g. 16,32,48,64 (default: the "
                    "architecture's)")
    ap.add_argument("--hidden", type=int, default=None, help="direct only: the head's width (default: its own)")
    ap.add_argument("--plain", action="store_true", help="Faces as drawn (no synth.variation widening)")
    ap.add_argument("--hold-out", default=HELD_OUT, choices=sorted(STYLES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--zoom", type=float, nargs=2, metavar=("LOW", "HIGH"), default=AugmentConfig.zoom,
                    help="AugmentConfig.zoom: crop side / zoom, log-uniform (< 1 a loose box)")
    ap.add_argument("--long-prob", type=float, default=AugmentConfig.long_prob, help="AugmentConfig.long_prob")
    ap.add_argument("--hue", type=float, default=AugmentConfig.hue_prob, help="AugmentConfig.hue_prob")
    ap.add_argument("--eval-faces", type=int, default=200, help="Fresh faces per row of the card's metrics")
    args = ap.parse_args(argv)
    try:  # nets: the registry; each network checks its own config
        net = new_net(args.arch, size=args.size, widths=args.widths, hidden=args.hidden)
    except ValueError as exc:
        ap.error(f"--arch {args.arch}: {exc}")
    if net.cfg.size % 2 ** len(net.cfg.widths):
        ap.error(f"--size {net.cfg.size} must be a multiple of 2^{len(net.cfg.widths)} (one halving per width)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    styles = [s for s in STYLES if s != args.hold_out]
    variation = Variation() if args.plain else PRETRAIN_VARIATION
    t0 = time.monotonic()
    samples = varied_samples(args.seed, args.faces, styles, variation)
    print(f"{len(samples)} faces drawn in {time.monotonic() - t0:.0f} s", flush=True)
    cfg = LmTrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    aug = AugmentConfig(zoom=tuple(args.zoom), long_prob=args.long_prob, hue_prob=args.hue)
    resume = resume_path(args.out, STEM)
    print(resume_note(resume) or "", end="", flush=True)
    with stop_on_sigterm() as stop:
        result = pretrain(net, samples, cfg, aug, resume, progress=lambda d, t, s: print(d, t, s, flush=True)
                          if d % 100 == 0 else None, should_stop=stop)
    if result.interrupted:
        print(f"stopped after step {result.steps_done}: run the same command again to continue", flush=True)
        return 1
    metrics = {"fresh_training_styles": evaluate(net, varied_samples(args.seed + 1000, args.eval_faces, styles,
                                                                        Variation())),
               "held_out_style": evaluate(net, varied_samples(args.seed + 1000, args.eval_faces,
                                                                 [args.hold_out], Variation()))}
    card = card_for(net, cfg, {"synthetic_faces": args.faces, "styles": styles, "held_out_style": args.hold_out,
                               "variation": "off" if args.plain else str(variation),
                               "augment": aug.to_json()},
                    metrics, time.monotonic() - t0,
                    "python -m f2a_studio.detect.landmarks.augmented_pretrain " + " ".join(sys.argv[1:]))
    print(save_model(args.out, STEM, net.state_dict(), card), metrics, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
