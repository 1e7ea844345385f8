"""The learned finder on the real development set: fine-tuned on half of each title, scored on the other half.

    python -m benchmarks.finder_devset [--model DIR] [--fold 1 --fold 2] [--steps N] [--out FILE]

The split is fixed here and never looks at a detector's output:

* a title with two or more pictures: its pictures sorted by file name, the even-numbered ones (0, 2, ...)
  are half A and the odd-numbered ones half B;
* a title with one picture: the picture is cut in two across its longer side at the middle; the first
  half (top or left) is A, the other B. A face lying across the cut belongs to neither: it is ignored in
  both halves (no loss in training, neither hit nor false alarm in scoring).

Fold 1 fine-tunes on every title's A and scores every title's B; fold 2 the reverse. Faces flagged
``back`` are ignored in both (as devset/evaluate.py ignores them). Scoring: IoU 0.3, greedy by score;
rows at the finder's default threshold (0.3) and at the oracle threshold (the lowest whose overall
precision on the scored half is >= 0.85, applied to every kind and title too). The pictures live outside
git (devset/rebuild.py); without them every function here reports ``{"skipped": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IOU = 0.3
PRECISION_GOAL = 0.85
DEFAULT_THRESHOLD = 0.3
Preds = list[tuple[float, float, float, float, float]]
HERE = Path(__file__).resolve().parents[1]


@dataclass
class Unit:
    """One scored or trained piece of the devset: a picture or half of one, with its boxes."""

    name: str
    title: str
    kind: str
    pixels: np.ndarray
    boxes: np.ndarray  # N×4 xywh faces
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # backs of heads, faces across a cut


@dataclass(frozen=True)
class Item:
    file: str
    title: str
    kind: str
    boxes: np.ndarray
    ignore: np.ndarray


def devset_items(labels: Path | None = None) -> list[Item] | None:
    path = labels or HERE / "devset" / "labels.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for it in data["images"]:
        faces = it.get("faces", [])
        keep = [f["box"] for f in faces if "back" not in f.get("flags", [])]
        back = [f["box"] for f in faces if "back" in f.get("flags", [])]
        out.append(Item(str(it["file"]), str(it.get("title", it["kind"])), str(it["kind"]),
                        np.array(keep, np.float64).reshape(-1, 4), np.array(back, np.float64).reshape(-1, 4)))
    return out


def images_folder() -> Path:
    return Path(os.environ.get("F2A_DEVSET_IMAGES", "/work/devset-images"))


def present_items() -> tuple[list[Item], Path] | str:
    """The labelled pictures that are on disk and their folder, or why there are none (a "skipped" text)."""
    items = devset_items()
    if items is None:
        return "no devset labels (devset/labels.json)"
    folder = images_folder()
    items = [it for it in items if (folder / it.file).is_file()]
    if not items:
        return f"devset pictures absent from {folder} (run devset/rebuild.py)"
    return items, folder


def _half(item: Item, pixels: np.ndarray, first: bool) -> Unit:
    """The first (top/left) or second half of a picture cut across its longer side."""
    h, w = pixels.shape[:2]
    vertical = h >= w  # cut a tall picture across its height
    cut = (h if vertical else w) // 2
    lo, hi = (0, cut) if first else (cut, h if vertical else w)
    part = pixels[lo:hi] if vertical else pixels[:, lo:hi]
    a = 1 if vertical else 0  # the axis of the cut in xywh: y (1) or x (0)
    boxes, ignore = [], []
    for b in item.boxes:
        b0, b1 = b[a], b[a] + b[a + 2]
        if b1 <= lo or b0 >= hi:
            continue
        shifted = b.copy()
        shifted[a] -= lo
        if lo <= b0 and b1 <= hi:
            boxes.append(shifted)
        else:  # across the cut: ignored, clipped to what this half shows
            s0, s1 = max(0.0, shifted[a]), min(float(hi - lo), shifted[a] + shifted[a + 2])
            shifted[a], shifted[a + 2] = s0, s1 - s0
            ignore.append(shifted)
    for b in item.ignore:
        if b[a] + b[a + 2] > lo and b[a] < hi:
            shifted = b.copy()
            shifted[a] -= lo
            ignore.append(shifted)
    name = f"{item.file}#{'first' if first else 'second'}"
    return Unit(name, item.title, item.kind, np.ascontiguousarray(part),
                np.array(boxes, np.float64).reshape(-1, 4), np.array(ignore, np.float64).reshape(-1, 4))


def split(items: Sequence[Item], folder: Path, fold: int) -> tuple[list[Unit], list[Unit]]:
    """(train, test) units of ``fold`` (1: train on A, score B; 2: the reverse). See the module doc."""
    from f2a_studio.core.imageio import read_image

    if fold not in (1, 2):
        raise ValueError(f"fold must be 1 or 2, not {fold}")
    by_title: dict[str, list[Item]] = {}
    for it in items:
        by_title.setdefault(it.title, []).append(it)
    train, test = [], []
    for group in by_title.values():
        group = sorted(group, key=lambda it: it.file)
        if len(group) >= 2:
            units = [Unit(it.file, it.title, it.kind, read_image(folder / it.file)[:, :, :3], it.boxes, it.ignore)
                     for it in group]
            a, b = units[0::2], units[1::2]
        else:
            px = read_image(folder / group[0].file)[:, :, :3]
            a, b = [_half(group[0], px, True)], [_half(group[0], px, False)]
        train += a if fold == 1 else b
        test += b if fold == 1 else a
    return train, test


# -- scoring ---------------------------------------------------------------------------------------------


def _drop_ignored(preds: Preds, unit: Unit) -> Preds:
    """A prediction on an ignored box (and on no scored face) is neither a hit nor a false alarm."""
    from f2a_studio.detect.finders.learned_train import _iou

    def near(p: Sequence[float], boxes: np.ndarray) -> bool:
        return any(_iou(p, b) >= IOU for b in boxes)

    return [p for p in preds if near(p, unit.boxes) or not near(p, unit.ignore)]


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def score(units: Sequence[Unit], preds: Sequence[Preds], threshold: float | None = DEFAULT_THRESHOLD) -> dict:
    """Overall, per kind and per title: at ``threshold`` (None: every prediction kept) and at the oracle
    threshold for precision >= 0.85 overall (also applied to each kind and title)."""
    from f2a_studio.detect.finders.learned_train import score_predictions

    kept = [_drop_ignored(p, u) for p, u in zip(preds, units, strict=True)]

    def scored(sel: Callable[[Unit], bool]):
        return score_predictions([(p, u.boxes.tolist()) for p, u in zip(kept, units, strict=True) if sel(u)], IOU)

    overall = scored(lambda u: True)
    oracle = overall.threshold_for_precision(PRECISION_GOAL)
    at = -1.0 if threshold is None else threshold

    def row(s) -> dict:
        a, o = s.at(at), s.at(oracle)
        return {"default": _rounded({k: a[k] for k in ("recall", "precision", "predictions", "faces")}),
                "oracle": _rounded({k: o[k] for k in ("recall", "precision", "predictions")})}

    out = {"threshold_default": threshold, "threshold_oracle_p85": round(oracle, 4), "overall": row(overall)}
    for key, attr in (("by_kind", "kind"), ("by_title", "title")):
        values = sorted({getattr(u, attr) for u in units})
        out[key] = {v: row(scored(lambda u, v=v, attr=attr: getattr(u, attr) == v)) for v in values}
    return out


# -- finders ----------------------------------------------------------------------------------------------


def learned_preds(finder, units: Sequence[Unit]) -> tuple[list[Preds], float]:
    start = time.perf_counter()
    preds = [finder.find_boxes(u.pixels, threshold=0.05) for u in units]
    return preds, time.perf_counter() - start


def animeface_preds(units: Sequence[Unit]) -> list[Preds]:
    from f2a_studio.detect.finder import single_pass

    out = []
    for u in units:
        out.append([(h.box.x, h.box.y, h.box.w, h.box.h, float(h.raw_score)) for h in single_pass(u.pixels)])
    return out


def finetune(base_dir: Path, units: Sequence[Unit], *, seed: int, threads: int, hard_negatives: bool = False,
             **overrides):
    """The model in ``base_dir`` fine-tuned on ``units`` with learned_train.train (the code `f2a train-finder`
    runs) at the schedule learned_project.default_steps gives; ``overrides`` change TrainConfig fields.
    ``hard_negatives``: first add the starting model's confident false alarms as negatives (as train-finder
    does; detect/finders/hard_negatives.py)."""
    import torch

    from f2a_studio.detect.finders.hard_negatives import with_hard_negatives
    from f2a_studio.detect.finders.learned import LearnedFinder
    from f2a_studio.detect.finders.learned_project import default_steps
    from f2a_studio.detect.finders.learned_train import TrainConfig, to_network_scale, train

    finder = LearnedFinder(search_path=[])
    finder.load_from(base_dir)
    n = int(sum(len(u.boxes) for u in units))
    samples = [to_network_scale(u.pixels, u.boxes, np.zeros((0, 4)), finder.inference, u.ignore) for u in units]
    cfg = TrainConfig(**({"steps": default_steps(n), "batch": 8, "lr": 1e-3, "seed": seed} | overrides))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start, cpu = time.perf_counter(), time.process_time()
    mined = 0
    if hard_negatives:
        samples, mined = with_hard_negatives(finder, samples)
    train(finder.net, samples, cfg)
    info = {"faces": n, "units": len(units), "hard_negatives": mined,
            "steps": cfg.steps, "train_s": round(time.perf_counter() - start, 1),
            "train_cpu_s": round(time.process_time() - cpu, 1), "threads": threads, "config": cfg.to_json()}
    return LearnedFinder.from_network(finder.net, finder.inference), info


def run(base_dir: Path, folds: Sequence[int] = (1,), seed: int = 2024, threads: int = 2,
        animeface: bool = True, finetune_overrides: dict | None = None, hard_negatives: bool = False) -> dict:
    """Every row on the devset for each fold: animeface, pretrained, fine-tuned on half of each title."""
    import torch

    from f2a_studio.detect.finders.learned import LearnedFinder

    items = devset_items()
    if items is None:
        return {"skipped": "no devset labels (devset/labels.json)"}
    folder = images_folder()
    missing = [it.file for it in items if not (folder / it.file).is_file()]
    if len(missing) == len(items):
        return {"skipped": f"devset pictures absent from {folder} (run devset/rebuild.py)"}
    items = [it for it in items if it.file not in missing]
    report: dict = {"model": str(base_dir), "missing_pictures": missing, "folds": {}}
    pre = LearnedFinder([base_dir])
    pre.load()
    for fold in folds:
        train_units, test_units = split(items, folder, fold)
        rows: dict = {}
        if animeface:
            rows["animeface_single_pass"] = score(test_units, animeface_preds(test_units), None)
        torch.set_num_threads(threads)
        preds, secs = learned_preds(pre, test_units)
        mp = sum(u.pixels.shape[0] * u.pixels.shape[1] for u in test_units) / 1e6
        rows["learned_pretrained"] = score(test_units, preds) | {"s_per_mp": round(secs / mp, 3)}
        _note(f"fold{fold}_pretrained", rows["learned_pretrained"]["overall"])
        train_units = [u for u in train_units if len(u.boxes)]
        finder, info = finetune(base_dir, train_units, seed=seed, threads=threads, hard_negatives=hard_negatives,
                                **(finetune_overrides or {}))
        preds, secs = learned_preds(finder, test_units)
        rows["learned_finetuned_half"] = score(test_units, preds) | {"s_per_mp": round(secs / mp, 3), "train": info}
        _note(f"fold{fold}_finetuned", rows["learned_finetuned_half"]["overall"])
        report["folds"][str(fold)] = {
            "train_units": len(train_units), "test_units": len(test_units),
            "faces_train": int(sum(len(u.boxes) for u in train_units)),
            "faces_test": int(sum(len(u.boxes) for u in test_units)), "rows": rows}
    return report


def _note(name: str, value: object) -> None:
    print(json.dumps({name: value}), file=sys.stderr, flush=True)


def devset_arguments(description: str) -> argparse.ArgumentParser:
    """The options every devset benchmark takes: --model, --fold, --seed, --threads, --out."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", type=Path, default=None, help="folder with finder-learned.* (default: search path)")
    ap.add_argument("--fold", type=int, action="append", choices=(1, 2))
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    return ap


def base_model(args: argparse.Namespace) -> Path:
    """--model, or the learned finder the search path holds."""
    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.finders.learned_io import find_model

    base = args.model or find_model(model_search_path())
    if base is None:
        raise SystemExit("no finder-learned.* found; pass --model")
    return base


def print_report(report: dict, out: Path | None) -> None:
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if out:
        out.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = devset_arguments(__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: default_steps)")
    ap.add_argument("--lr", type=float, default=None, help="fine-tuning learning rate (default 1e-3)")
    ap.add_argument("--batch", type=int, default=None, help="fine-tuning batch (default 8)")
    ap.add_argument("--no-animeface", action="store_true")
    ap.add_argument("--hard-negatives", action="store_true",
                    help="fine-tune with the starting model's confident false alarms as negatives")
    args = ap.parse_args(argv)
    over = ({"steps": args.steps} if args.steps else {}) | ({"lr": args.lr} if args.lr else {}) | (
        {"batch": args.batch} if args.batch else {})
    print_report(run(base_model(args), args.fold or [1], args.seed, args.threads, not args.no_animeface, over,
                     args.hard_negatives), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
