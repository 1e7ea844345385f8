"""How many devset faces the pretrained learned finder reaches at all (any proposal, score >= 0.05), by face
size at network scale, with and without an extra half-scale pass (merged by NMS): does a second scale
for big faces pay, or is the loss in ranking (false alarms above the faces)?

    python -m benchmarks.finder_devset_reach [--model DIR] [--out FILE]

Only the training half of each fold is looked at (never tune on the scored half). Without the pictures:
{"skipped": ...}.
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.finder_devset import IOU, base_model, devset_arguments, present_items, print_report, split
from benchmarks.finder_devset_merged import merge

BUCKETS = ((0, 24, "<24"), (24, 64, "24-64"), (64, 128, "64-128"), (128, 1e9, ">=128"))


def _bucket(side: float) -> str:
    return next(name for lo, hi, name in BUCKETS if lo <= side < hi)


def run(base_dir, folds=(1, 2), threads: int = 1) -> dict:
    import cv2
    import torch

    from f2a_studio.detect.finders.learned import LearnedFinder
    from f2a_studio.detect.finders.learned_train import match

    present = present_items()
    if isinstance(present, str):
        return {"skipped": present}
    items, folder = present
    torch.set_num_threads(threads)
    finder = LearnedFinder([base_dir])
    finder.load()
    report: dict = {"model": str(base_dir), "folds": {}}
    for fold in folds:
        train_units, _ = split(items, folder, fold)
        rows: dict[str, dict[str, list[int]]] = {"1x": {}, "1x+0.5x": {}}
        for u in train_units:
            if not len(u.boxes):
                continue
            h, w = u.pixels.shape[:2]
            s = min(1.0, finder.inference.max_short / min(h, w))
            one = finder.find_boxes(u.pixels, threshold=0.05)
            small = cv2.resize(u.pixels, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            half = [(x * 2, y * 2, bw * 2, bh * 2, sc) for x, y, bw, bh, sc in finder.find_boxes(small, threshold=0.05)]
            for name, preds in (("1x", one), ("1x+0.5x", merge([one], [half])[0])):
                for b in u.boxes:
                    r = rows[name].setdefault(_bucket(float(np.min(b[2:])) * s), [0, 0])
                    r[0] += any(match([p], [b], IOU)[0] for p in preds)
                    r[1] += 1
        report["folds"][str(fold)] = {
            name: {k: {"reached": v[0], "faces": v[1]} for k, v in sorted(r.items())}
            | {"overall": round(sum(v[0] for v in r.values()) / max(1, sum(v[1] for v in r.values())), 4)}
            for name, r in rows.items()}
    return report


def main(argv: list[str] | None = None) -> None:
    args = devset_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    print_report(run(base_model(args), args.fold or [1, 2], args.threads), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
