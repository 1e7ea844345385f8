"""Does a face/not-face verifier on the candidates' crops rank real faces better than the finders' scores?

    python -m benchmarks.verifier_devset [--fold 1 --fold 2] [--steps N] [--out FILE]

On real pages the candidates are there (the learned finder reaches ~0.75 of the devset faces at raw 0.05)
but their scores do not tell faces from false alarms (finder_devset_merged: recall 0.31/0.35 at precision
0.85). This measures a second stage that looks at each candidate's crop: the shipped landmark model's
backbone (it has seen many drawn faces) with a new face/not-face head, fine-tuned on the training half's
candidates (every animeface and learned-finder proposal there, labelled by the hand-drawn boxes, plus the
boxes themselves, jittered), then used to re-score the scored half's candidates before the NMS.

Per fold (finder_devset's split), as finder_devset_merged does: the learned finder fine-tuned on the
training half less a held-back fifth (hard negatives on), its raw-score map fitted on that fifth, animeface's
map on the whole training half. Rows, each at the oracle threshold for precision 0.85 (only the ranking
matters there) and at 0.5:

* ``merged``: the two finders' calibrated scores merged by NMS (finder_devset_merged's row);
* ``verifier``: the verifier's probability alone;
* ``verifier_x_score``: the geometric mean of the verifier's probability and the calibrated score;
* ``verifier_from_scratch_x_score``: the same head and backbone trained from random weights (is it the
  pretrained backbone that helps, or the fine-tuning on real crops?).

Session 7 (results/verifier_devset.json), recall at precision 0.85, fold 1 / fold 2: merged 0.333 / 0.336;
verifier × score 0.344 / 0.457; from scratch × score 0.366 / 0.422; the verifier alone 0.18 / 0.22 (its own
scores are overconfident: balanced batches). A first run on the shipped finder's candidates (not fine-tuned)
gave 0.27 → 0.37 and 0.29 → 0.34. Without the pictures: {"skipped": ...}.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.finder_devset import (
    IOU,
    Preds,
    Unit,
    _drop_ignored,
    _note,
    animeface_preds,
    base_model,
    devset_arguments,
    finetune,
    learned_preds,
    present_items,
    print_report,
    split,
)
from benchmarks.finder_devset_merged import fit_map, held_back, mapped, merge, rows_at

CROP = 64  # the landmark model's crop side (BOX_EXPAND box sides)
Sample = tuple[Unit, tuple[float, float, float, float], float]  # unit, box, 1 face / 0 not


def training_samples(units: Sequence[Unit], per_finder: Sequence[Sequence[Preds]]) -> list[Sample]:
    """Every proposal on `units` (those on an ignored box only left out), labelled by IoU with a hand-drawn
    box, and every hand-drawn box as a face."""
    from f2a_studio.detect.finders.learned_train import _iou

    out: list[Sample] = []
    for i, unit in enumerate(units):
        proposals = [p for preds in per_finder for p in preds[i]]
        for p in _drop_ignored(proposals, unit):
            out.append((unit, tuple(p[:4]), float(any(_iou(p, b) >= IOU for b in unit.boxes))))
        out.extend((unit, tuple(float(v) for v in b), 1.0) for b in unit.boxes)
    return out


def crops(unit: Unit, boxes: Sequence[Sequence[float]], rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The landmark model's box crops; with `rng`, jittered (shift ±10 %, scale ±15 %, mirror)."""
    from f2a_studio.detect.cropnet import box_crop, box_matrix

    out = []
    for x, y, w, h in (tuple(b[:4]) for b in boxes):
        if rng is not None:
            s = float(np.exp(rng.uniform(-0.15, 0.15)))
            cx, cy = x + w / 2 + rng.uniform(-0.1, 0.1) * w, y + h / 2 + rng.uniform(-0.1, 0.1) * h
            x, y, w, h = cx - w * s / 2, cy - h * s / 2, w * s, h * s
        crop = box_crop(unit.pixels, box_matrix([x, y, w, h], CROP), CROP)
        if rng is not None and rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(np.ascontiguousarray(crop))
    return out


def make_verifier(pretrained: bool):
    """The shipped landmark model's backbone (or the same layers, randomly initialised) and a new head."""
    import torch

    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.cropnet import model_folders
    from f2a_studio.detect.landmarks.learned import STEM, load_net
    from f2a_studio.detect.landmarks.learned_net import LandmarkNet

    net = load_net(model_folders(model_search_path(), STEM)[0])[0] if pretrained else LandmarkNet()
    cells = (net.cfg.size // 2 ** len(net.cfg.widths)) ** 2

    class Verifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = net.features
            self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(net.cfg.widths[-1] * cells, 64),
                                            torch.nn.ReLU(), torch.nn.Linear(64, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # N×3×S×S in 0..1 → N face logits
            return self.head(self.features(x - 0.5))[:, 0]

    return Verifier()


def train_verifier(samples: Sequence[Sample], *, pretrained: bool, steps: int, seed: int):
    """AdamW on balanced batches (16 faces, 16 not); returns the verifier in eval mode."""
    import torch

    from f2a_studio.detect.cropnet import to_tensor

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    verifier = make_verifier(pretrained)
    opt = torch.optim.AdamW(verifier.parameters(), 1e-3, weight_decay=1e-3)
    labels = np.array([s[2] for s in samples])
    faces, others = np.flatnonzero(labels > 0), np.flatnonzero(labels == 0)
    for _ in range(steps):
        idx = np.concatenate([rng.choice(faces, 16), rng.choice(others, 16)])
        x = to_tensor([crops(samples[i][0], [samples[i][1]], rng)[0] for i in idx])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(verifier(x), torch.tensor(labels[idx]).float())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return verifier.eval()


def rescored(verifier, units: Sequence[Unit], per_finder: Sequence[Sequence[Preds]], mix: bool) -> list[Preds]:
    """Each unit's proposals (calibrated scores) re-scored by the verifier, then merged by the NMS."""
    import torch

    from f2a_studio.core.models import Box
    from f2a_studio.detect.cropnet import to_tensor
    from f2a_studio.detect.nms import nms

    out = []
    for i, unit in enumerate(units):
        proposals = [p for preds in per_finder for p in preds[i]]
        if not proposals:
            out.append([])
            continue
        with torch.inference_mode():
            p_face = torch.sigmoid(verifier(to_tensor(crops(unit, proposals)))).numpy()
        scores = np.sqrt(p_face * [p[4] for p in proposals]) if mix else p_face
        out.append(nms([(*p[:4], float(s)) for p, s in zip(proposals, scores, strict=True)],
                       lambda p: Box(*p[:4]), lambda p: p[4]))
    return out


def run(base_dir: Path, folds: Sequence[int] = (1, 2), seed: int = 2024, threads: int = 2,
        steps: int = 400) -> dict:
    import torch

    present = present_items()
    if isinstance(present, str):
        return {"skipped": present}
    torch.set_num_threads(threads)
    items, folder = present
    report: dict = {"model": str(base_dir), "pictures": len(items), "steps": steps, "folds": {}}
    for fold in folds:
        started = time.perf_counter()
        train_units, test_units = split(items, folder, fold)
        tune_units, held_units = held_back([u for u in train_units if len(u.boxes)])
        finder, _info = finetune(base_dir, tune_units, seed=seed, threads=threads, hard_negatives=True)
        learned_map = fit_map(held_units, learned_preds(finder, held_units)[0], "learned, held-back fifth")
        anime_train = animeface_preds(train_units)
        anime_map = fit_map(train_units, anime_train, "animeface, training half")
        samples = training_samples(train_units, [anime_train, learned_preds(finder, train_units)[0]])
        test = [mapped(animeface_preds(test_units), anime_map.calibration),
                mapped(learned_preds(finder, test_units)[0], learned_map.calibration)]
        rows = {"merged": rows_at(test_units, merge(*test))}
        train_s = {}
        for pretrained in (True, False):
            t = time.perf_counter()
            verifier = train_verifier(samples, pretrained=pretrained, steps=steps, seed=seed)
            train_s["pretrained" if pretrained else "from_scratch"] = round(time.perf_counter() - t, 1)
            if pretrained:
                rows["verifier"] = rows_at(test_units, rescored(verifier, test_units, test, mix=False))
                rows["verifier_x_score"] = rows_at(test_units, rescored(verifier, test_units, test, mix=True))
            else:
                rows["verifier_from_scratch_x_score"] = rows_at(test_units,
                                                                rescored(verifier, test_units, test, mix=True))
        for name, row in rows.items():
            _note(f"fold{fold}_{name}", {k: row[k] for k in ("at_0.5", "oracle_p85")})
        labels = [s[2] for s in samples]
        report["folds"][str(fold)] = {
            "training_samples": len(samples), "training_faces": int(sum(labels)),
            "faces_test": int(sum(len(u.boxes) for u in test_units)), "verifier_train_s": train_s,
            "fold_s": round(time.perf_counter() - started, 1),
            "rows": {k: {kk: v[kk] for kk in ("at_0.5", "oracle_p85", "threshold_oracle_p85")}
                     for k, v in rows.items()}}
    return report


def main(argv: list[str] | None = None) -> None:
    ap = devset_arguments(__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400, help="verifier training steps (batches of 32)")
    args = ap.parse_args(argv)
    print_report(run(base_model(args), args.fold or [1, 2], args.seed, args.threads, args.steps), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
