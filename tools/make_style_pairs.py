"""Paired training data for a style-to-style demo generator: the same character drawn in two styles.

A drawing style changes only how a character is drawn (f2a_studio/synth/styles.py), so drawing one
character, pose and background twice, in `--source` and in `--target` style, gives an exact pair. Both
crops use the alignment of the source drawing (what the export and the preview compute for that face),
so the target's changed proportions (a longer webtoon chin) show as the change the generator learns.

Written as a pix2pix export (manifest.json, train/ and val/ A|B pairs) with A = target and B = source,
so the generator trains with `--direction BtoA` and the preview feeds it a face crop:

    python tools/make_style_pairs.py /tmp/style-export --n 600 --source anime --target webtoon_flat
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from f2a_studio.core.align import DEFAULT_MARGIN, alignment_matrix, warp
from f2a_studio.core.manifest import MANIFEST_NAME, dumps
from f2a_studio.synth.background import draw_background
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.scene import sample_pose_angles
from f2a_studio.synth.styles import get_style, styled_character

VAL_EVERY = 10  # every 10th pair is held out for validation


def style_pair(rng: np.random.Generator, source: str, target: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(source crop, target crop), size×size×3 uint8, one character on one background."""
    w, h = int(rng.integers(260, 420)), int(rng.integers(300, 460))
    background = np.empty((h, w, 3), np.uint8)
    draw_background(rng, background)
    ch = sample_character(rng)
    yaw, pitch, roll = sample_pose_angles(rng)
    pose = Pose(w / 2 + rng.uniform(-0.08, 0.08) * w, h * 0.44 + rng.uniform(-0.04, 0.04) * h,
                min(w, h) * float(rng.uniform(0.3, 0.42)), yaw, pitch, roll)
    drawn = {}
    for name in (source, target):
        style = get_style(name)
        image = background.copy()
        truth = draw_character(image, styled_character(ch, style), pose, style=style)
        drawn[name] = (image, truth)
    src_image, src_truth = drawn[source]
    landmarks = np.column_stack([np.array(src_truth.landmarks), np.array(src_truth.visibility, np.float64)])
    matrix = alignment_matrix(landmarks, size, DEFAULT_MARGIN)
    return (warp(src_image, matrix, size, mode="reflect").pixels,
            warp(drawn[target][0], matrix, size, mode="reflect").pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--source", default="anime")
    parser.add_argument("--target", default="webtoon_flat")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    get_style(args.source), get_style(args.target)  # unknown names fail before any drawing
    if (args.out / MANIFEST_NAME).exists():
        raise SystemExit(f"{args.out} already holds an export; choose a new folder")
    rng = np.random.default_rng(args.seed)
    files = []
    for i in range(args.n):
        src, dst = style_pair(rng, args.source, args.target, args.size)
        split = "val" if i % VAL_EVERY == VAL_EVERY - 1 else "train"
        rel = f"{split}/{args.source}-{args.target}-{i:05d}.png"
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([dst, src], axis=1)).save(path)  # A = target | B = source
        files.append({"path": rel, "split": split, "size": path.stat().st_size,
                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    manifest = {"f2a_export": 1, "format": "pix2pix", "size": args.size, "files": files,
                "synthetic": {"source_style": args.source, "target_style": args.target, "seed": args.seed,
                              "A": args.target, "B": args.source}}
    tmp = args.out / f".{MANIFEST_NAME}.tmp"
    tmp.write_bytes(dumps(manifest))
    tmp.replace(args.out / MANIFEST_NAME)  # the manifest last: a half-written folder is no export
    print(f"{args.out}: {len(files)} {args.source}→{args.target} pairs")


if __name__ == "__main__":
    main()
