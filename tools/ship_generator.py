"""A trainer checkpoint cut down to what the preview needs: the generator alone, in half precision.

A run's checkpoint holds every net (G and D) in fp32 plus a resume file; the shipped demo keeps only the
generator's tensors (fp16 on disk halves the size; `load_state_dict` casts them back to the net's fp32) and
the same F2A header, so `trainer.inference.load_generator` and the preview read it like any checkpoint:

    python tools/ship_generator.py RUN/checkpoints/step-00004000.safetensors \
        f2a_studio/resources/models/pix2pix-keypoints-demo.safetensors

`--meta KEY=VALUE` (repeatable) adds facts about the data to the header's metadata, e.g. the two drawing
styles of a style model (`--meta source_style=anime --meta target_style=webtoon_flat`), so tests can
check the model against fresh pairs of the same styles.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from trainer.checkpoint import HEADER_KEY, load_checkpoint
from trainer.models import MODELS


def parse_meta(items: list[str]) -> dict[str, str]:
    meta = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--meta wants KEY=VALUE, got {item!r}")
        meta[key.strip()] = value.strip()
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                        help="add to the header's metadata (repeatable)")
    args = parser.parse_args()
    extra = parse_meta(args.meta)
    ckpt = load_checkpoint(args.checkpoint)
    name = MODELS[ckpt.config.model].generator_name
    tensors = {f"{name}.{k}": (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in ckpt.net_state(name).items()}
    with safetensors.safe_open(str(ckpt.weights_path), framework="pt") as handle:
        header = json.loads(handle.metadata()[HEADER_KEY])
    header["nets"] = [name]
    header["metadata"] = {**header.get("metadata", {}), "shipped_from": ckpt.weights_path.name,
                          "stored_dtype": "float16", **extra}
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    safetensors.torch.save_file(tensors, str(tmp), metadata={HEADER_KEY: json.dumps(header, sort_keys=True)})
    tmp.replace(args.out)
    params = sum(t.numel() for t in tensors.values())
    print(f"{args.out}: {name} only, {params / 1e6:.2f} M parameters, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
