"""The project's finder plus animeface on the real development set, each calibrated the way a project is:
what `f2a train-finder` and `f2a calibrate` would do with half of each title reviewed.

    python -m benchmarks.finder_devset_merged [--fold 1 --fold 2] [--out FILE]

Per fold (finder_devset's fixed split: fine-tune and calibrate on one half of each title, score the other):

* the learned finder is fine-tuned on the training half less a held-back fifth (chosen by a hash of the
  picture's name, as train-finder holds back cuts), and its raw peak → "is a face" map is fitted on the
  held-back fifth's proposals (train-finder's card calibration);
* animeface's single-pass raw score gets a map fitted on the whole training half (what `f2a calibrate` fits
  from the annotators' accept/reject decisions: every animeface proposal there, matched or not to a face);
* both run on the scored half, scores mapped, merged by the pipeline's NMS (detect/nms.py), and scored at the
  calibrated thresholds 0.5 and 0.85 (no oracle: these are what a user's slider would say) and at the oracle
  threshold for precision 0.85 (finder_devset.score).

The issue's real-page target: recall ≥ 0.65 at precision ≥ 0.85. Without the pictures: {"skipped": ...}.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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
    score,
    split,
)

HELD_BACK = 0.2


def held_back(units: Sequence[Unit]) -> tuple[list[Unit], list[Unit]]:
    """(fine-tune, held back): a fixed fifth by a hash of the name, at least one unit with faces held."""
    def key(u: Unit) -> float:
        return int(hashlib.sha256(("finder-split:" + u.name).encode()).hexdigest()[:12], 16) / 16**12

    held = [u for u in units if key(u) < HELD_BACK]
    if not any(len(u.boxes) for u in held):
        held.append(min((u for u in units if len(u.boxes)), key=key))
    names = {u.name for u in held}
    return [u for u in units if u.name not in names], held


def fit_map(units: Sequence[Unit], preds: Sequence[Preds], source: str):
    """Isotonic map score → matched a face, from every proposal on ``units`` (ignored boxes left out)."""
    from f2a_studio.detect.finders.learned_train import score_predictions
    from f2a_studio.detect.finders.score_fit import isotonic_fit

    kept = [_drop_ignored(p, u) for p, u in zip(preds, units, strict=True)]
    scored = score_predictions([(p, u.boxes.tolist()) for p, u in zip(kept, units, strict=True)], IOU)
    return isotonic_fit(scored.scores, scored.true, source=source)


def mapped(preds: Sequence[Preds], score_map) -> list[Preds]:
    return [[(x, y, w, h, score_map(s)) for x, y, w, h, s in p] for p in preds]


def merge(*per_finder: Sequence[Preds]) -> list[Preds]:
    """One NMS across finders per picture, as detect/analyze.py does (best calibrated score first)."""
    from f2a_studio.core.models import Box
    from f2a_studio.detect.nms import nms

    out = []
    for preds in zip(*per_finder, strict=True):
        every = [p for finder_preds in preds for p in finder_preds]
        out.append(nms(every, lambda p: Box(*p[:4]), lambda p: p[4]))
    return out


def rows_at(units: Sequence[Unit], preds: Sequence[Preds]) -> dict:
    at_half = score(units, preds, 0.5)
    at_85 = score(units, preds, 0.85)
    return {"at_0.5": at_half["overall"]["default"], "at_0.85": at_85["overall"]["default"],
            "oracle_p85": at_half["overall"]["oracle"], "threshold_oracle_p85": at_half["threshold_oracle_p85"],
            "by_kind_at_0.5": {k: v["default"] for k, v in at_half["by_kind"].items()}}


def run(base_dir: Path, folds: Sequence[int] = (1, 2), seed: int = 2024, threads: int = 2,
        hard_negatives: bool = False) -> dict:
    present = present_items()
    if isinstance(present, str):
        return {"skipped": present}
    items, folder = present
    report: dict = {"model": str(base_dir), "pictures": len(items), "hard_negatives": hard_negatives, "folds": {}}
    for fold in folds:
        train_units, test_units = split(items, folder, fold)
        tune_units, held_units = held_back([u for u in train_units if len(u.boxes)])
        finder, info = finetune(base_dir, tune_units, seed=seed, threads=threads, hard_negatives=hard_negatives)
        learned_map = fit_map(held_units, learned_preds(finder, held_units)[0], "learned, held-back fifth")
        anime_map = fit_map(train_units, animeface_preds(train_units), "animeface, training half")
        mp = sum(u.pixels.shape[0] * u.pixels.shape[1] for u in test_units) / 1e6
        # CPU seconds beside wall seconds: on a shared machine the wall clock says more about the load
        wall, cpu = time.perf_counter(), time.process_time()
        anime_test = mapped(animeface_preds(test_units), anime_map.calibration)
        anime_cost = {"s_per_mp": round((time.perf_counter() - wall) / mp, 3),
                      "cpu_s_per_mp": round((time.process_time() - cpu) / mp, 3)}
        cpu = time.process_time()
        learned_raw, learned_s = learned_preds(finder, test_units)
        learned_cost = {"s_per_mp": round(learned_s / mp, 3),
                        "cpu_s_per_mp": round((time.process_time() - cpu) / mp, 3), "threads": threads}
        learned_test = mapped(learned_raw, learned_map.calibration)
        rows = {
            "animeface_calibrated": rows_at(test_units, anime_test) | anime_cost,
            "learned_finetuned_calibrated": rows_at(test_units, learned_test) | learned_cost,
            "merged_calibrated": rows_at(test_units, merge(anime_test, learned_test)),
        }
        for name, row in rows.items():
            _note(f"fold{fold}_{name}", {k: row[k] for k in ("at_0.5", "at_0.85", "oracle_p85")})
        report["folds"][str(fold)] = {
            "tune_units": len(tune_units), "held_back_units": len(held_units), "test_units": len(test_units),
            "faces_tune": int(sum(len(u.boxes) for u in tune_units)),
            "faces_held_back": int(sum(len(u.boxes) for u in held_units)),
            "faces_test": int(sum(len(u.boxes) for u in test_units)), "train": info,
            "maps": {"learned": [list(k) for k in learned_map.calibration.knots],
                     "animeface": [list(k) for k in anime_map.calibration.knots]},
            "rows": rows}
    return report


def main(argv: list[str] | None = None) -> None:
    ap = devset_arguments(__doc__.split("\n\n")[0])
    ap.add_argument("--hard-negatives", action="store_true",
                    help="fine-tune with the starting model's confident false alarms as negatives")
    args = ap.parse_args(argv)
    print_report(run(base_model(args), args.fold or [1, 2], args.seed, args.threads, args.hard_negatives), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
