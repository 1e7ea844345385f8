"""`python -m trainer train | eval | export-onnx | plot | translate | presets` (argparse, no typer)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from trainer.config import PRESETS, ConfigError, TrainConfig, preset

# command-line flags that override config fields (the full set stays reachable through --set KEY=VALUE)
FLAGS: dict[str, type] = {
    "max_steps": int, "batch_size": int, "workers": int, "threads": int, "seed": int, "epochs": int,
    "epochs_decay": int, "lr": float, "device": str, "amp": str, "norm": str, "gan_mode": str, "net_g": str,
    "ngf": int, "ndf": int, "crop_size": int, "load_size": int, "log_every": int, "sample_every": int,
    "checkpoint_every": int, "direction": str,
}


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    cfg = TrainConfig.from_json(json.loads(Path(args.config).read_text())) if args.config else preset(args.preset)
    changes = {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}
    for flag in ("compile", "sync_bn"):
        if getattr(args, flag, False):
            changes[flag] = True
    if getattr(args, "no_channels_last", False):
        changes["channels_last"] = False
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set wants KEY=VALUE, got {item!r}")
        changes[key.replace("-", "_")] = _value(value)
    return cfg.override(**changes)


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="an F2A export folder (with manifest.json)")
    p.add_argument("--out", required=True, type=Path, help="run folder: config, log.csv, samples/, checkpoints/")
    p.add_argument("--preset", default="pix2pix", help=f"one of {', '.join(sorted(PRESETS))}")
    p.add_argument("--config", type=Path, help="a config JSON (a run's config.json) instead of a preset")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any config field (repeatable)")
    for name, kind in FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=kind)
    p.add_argument("--compile", action="store_true", help="torch.compile the nets")
    p.add_argument("--sync-bn", action="store_true", help="under DDP: batch norm → SyncBatchNorm (CUDA)")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--no-bar", action="store_true", help="no progress bar (log.csv is written anyway)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_flags(sub.add_parser("train", help="train (or --resume) a model on an export"))
    p = sub.add_parser("eval", help="a checkpoint's validation L1 and landmark figure (floor / model / ceiling)")
    p.add_argument("checkpoint", type=Path, help="a checkpoint (.safetensors/.json) or a run folder")
    p.add_argument("--data", type=Path, help="the export (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="val", help="which split's pairs (default val)")
    p.add_argument("--models", type=Path, action="append", help="landmark model folder (default: search path)")
    p.add_argument("--landmarks", help="a landmark backend by name (default: the first available)")
    p = sub.add_parser("export-onnx", help="write a checkpoint's generator as ONNX")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("plot", help="draw a run's loss curves to a PNG")
    p.add_argument("run", type=Path)
    p.add_argument("--out", type=Path)
    p = sub.add_parser("translate", help="apply a checkpoint's generator to images")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("inputs", nargs="+", type=Path)
    p.add_argument("--out", required=True, type=Path)
    p = sub.add_parser("presets", help="list the presets as JSON")
    return parser


def translate_files(checkpoint: Path, inputs: list[Path], out: Path) -> list[Path]:
    """Each input image (a keypoint drawing, a face, or an A|B pair whose A half is used) → OUT/NAME.png."""
    from PIL import Image

    from trainer.inference import load_generator, read_input

    gen = load_generator(checkpoint)
    paired = gen.config.model == "pix2pix"
    files = [f for p in inputs for f in (sorted(p.glob("*.png")) + sorted(p.glob("*.jpg")) if p.is_dir() else [p])]
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = out / f"{path.stem}.png"
        Image.fromarray(gen(read_input(path, a_half=paired))).save(target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from trainer.checkpoint import CheckpointError
    from trainer.data import DataError

    try:
        if args.command == "train":
            from trainer.loop import train

            result = train(args.data, config_from_args(args), args.out, resume=args.resume,
                           show_bar=not args.no_bar)
            if result is not None and os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 reports
                print(json.dumps({"step": result.step, "checkpoint": str(result.checkpoint.record),
                                  "losses": result.losses, "val_L1": result.val_l1, "quality": result.quality,
                                  "samples": str(result.sample_grid) if result.sample_grid else None}))
        elif args.command == "eval":
            from trainer.evaluate import evaluate_checkpoint

            print(json.dumps(evaluate_checkpoint(args.checkpoint, args.data, split=args.split, models=args.models,
                                                 backend=args.landmarks), indent=2))
        elif args.command == "export-onnx":
            from trainer.onnx_export import export_onnx

            print(export_onnx(args.checkpoint, args.out))
        elif args.command == "plot":
            from trainer.plot import plot_run

            print(plot_run(args.run, args.out))
        elif args.command == "translate":
            for path in translate_files(args.checkpoint, args.inputs, args.out):
                print(path)
        elif args.command == "presets":
            print(json.dumps({n: preset(n).to_json() for n in sorted(PRESETS)}, indent=2))
    except (ConfigError, CheckpointError, DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
