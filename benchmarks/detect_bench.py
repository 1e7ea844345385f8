"""Detection benchmark: the seed's single animeface pass vs the detect/ pipeline, side by side, one run.

    python -m benchmarks.detect_bench [--strips N] [--seed S] [--out FILE]
    python -m benchmarks detect          # the same, JSON on one line (F2A_BENCH_STRIPS=N)

On a fixed synthetic set of webtoon strips (f2a_studio.synth, seed 2024 unless told otherwise; faces from
~24 px to ~400 px) it measures:

* recall and precision at IoU 0.3 of (a) animeface run once on the whole strip and (b) the pipeline
  (tiles, three scales, NMS, calibrated scores at the default threshold), overall and per face size;
* images per second of the pipeline with 1 and with 2 worker processes (and of the single pass, in-process);
* landmark NME (mean point error / inter-ocular distance, over the faces the pipeline found) of the raw
  template placed by the detector's box vs the fitted landmarks;
* colour error (CIEDE2000 ΔE vs the drawn colours) of animeface's own colours vs the estimated ones.

Prints one JSON object. Keep the seed and set fixed so numbers compare across changes; throughput needs a
quiet machine (the 2-worker speed-up is meaningless when other jobs share the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine
from f2a_studio.core.imageio import read_image, save_png_atomic
from f2a_studio.core.models import Box, hex_to_rgb
from f2a_studio.detect import DetectOptions, detect_files
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.finder import single_pass
from f2a_studio.detect.landmarks.template_fit import place_by_box
from f2a_studio.synth.dataset import iter_dataset

SEED = 2024
IOU = 0.3
SIZE_BUCKETS = ((0, 48), (48, 96), (96, 192), (192, 10_000))
COLOR_KEYS = ("skin", "hair", "left_eye", "right_eye")


def match(truth: list[Box], found: list[Box]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by IoU (best pairs first), pairs with IoU >= 0.3."""
    pairs = sorted(((t.iou(f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    used_t, used_f, out = set(), set(), []
    for iou, i, j in pairs:
        if iou < IOU:
            break
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        out.append((i, j))
    return out


def pr(truth_total: int, found_total: int, matched: int) -> dict[str, float]:
    return {
        "recall": round(matched / truth_total, 4) if truth_total else 0.0,
        "precision": round(matched / found_total, 4) if found_total else 0.0,
        "found": found_total,
        "true_positives": matched,
    }


def delta_e(a: str, b: str) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    la = rgb2lab(np.array([[hex_to_rgb(a)]], np.uint8))
    lb = rgb2lab(np.array([[hex_to_rgb(b)]], np.uint8))
    return float(deltaE_ciede2000(la, lb)[0, 0])


def nme(points: np.ndarray, truth: np.ndarray) -> float:
    iod = float(np.linalg.norm(truth[36:42].mean(0) - truth[42:48].mean(0)))
    return float(np.mean(np.linalg.norm(points[:, :2] - truth, axis=1)) / iod)


def run_pipeline(paths: list[Path], workers: int) -> tuple[list, float]:
    start = time.perf_counter()
    results = list(detect_files(paths, DetectOptions(workers=workers)))
    return results, time.perf_counter() - start


def run(strips: int | None = None, seed: int = SEED) -> dict:
    """The benchmark as a dict (`python -m benchmarks detect` calls this; F2A_BENCH_STRIPS sets the size)."""
    strips = strips if strips is not None else int(os.environ.get("F2A_BENCH_STRIPS", "6"))
    model = load_face_model()
    with tempfile.TemporaryDirectory(prefix="f2a-detect-bench-") as tmp:
        paths, truths = [], []
        for item in iter_dataset(seed, strips):
            path = Path(tmp) / f"{item.name}.png"
            save_png_atomic(path, item.strip.image)
            paths.append(path)
            truths.append(item.strip.faces)

        # (a) the seed's way: animeface once per strip, in this process
        single_found, single_s = [], 0.0
        for path in paths:
            image = read_image(path)
            start = time.perf_counter()
            single_found.append([h.box for h in single_pass(image)])
            single_s += time.perf_counter() - start

        # (b) the pipeline, with 1 and with 2 workers (same inputs, same results expected)
        res1, wall1 = run_pipeline(paths, 1)
        res2, wall2 = run_pipeline(paths, 2)
    consistent = [[f.box for f in r.faces] for r in res1] == [[f.box for f in r.faces] for r in res2]

    n_truth = sum(len(t) for t in truths)
    size_of = [[max(f.box[2], f.box[3]) for f in t] for t in truths]
    report: dict = {"benchmark": "detect", "seed": seed, "strips": len(paths), "faces": n_truth,
                    "iou": IOU, "machine": machine(), "load_average": _load()}
    sections = {"single_pass": single_found, "pipeline": [[f.box for f in r.faces] for r in res1]}
    for name, found in sections.items():
        matched = [match([Box(*f.box) for f in t], boxes) for t, boxes in zip(truths, found, strict=True)]
        entry = pr(n_truth, sum(len(b) for b in found), sum(len(m) for m in matched))
        by_size = {}
        for lo, hi in SIZE_BUCKETS:
            total = sum(1 for sizes in size_of for s in sizes if lo <= s < hi)
            hit = sum(1 for sizes, m in zip(size_of, matched, strict=True) for i, _ in m if lo <= sizes[i] < hi)
            by_size[f"{lo}-{hi if hi < 10_000 else 'up'}px"] = {"faces": total, "recall": round(hit / total, 4)
                                                                 if total else None}
        entry["recall_by_size"] = by_size
        report[name] = entry
    report["recall_ratio"] = round(report["pipeline"]["recall"] / max(1e-9, report["single_pass"]["recall"]), 3)

    # landmarks and colours over the faces the pipeline found
    nme_raw, nme_fit, de_raw, de_new = [], [], {k: [] for k in COLOR_KEYS}, {k: [] for k in COLOR_KEYS}
    for t, r in zip(truths, res1, strict=True):
        for i, j in match([Box(*f.box) for f in t], [f.box for f in r.faces]):
            truth, face = t[i], r.faces[j]
            true_pts = np.asarray(truth.landmarks, dtype=np.float64)
            nme_raw.append(nme(place_by_box(model, face.box), true_pts))
            nme_fit.append(nme(np.asarray(face.landmarks, dtype=np.float64), true_pts))
            raw_colors = r.detector_colors[j] if j < len(r.detector_colors) else None
            for key in COLOR_KEYS:
                if raw_colors is not None and getattr(raw_colors, key):
                    de_raw[key].append(delta_e(getattr(raw_colors, key), truth.colors[key]))
                if getattr(face.colors, key):
                    de_new[key].append(delta_e(getattr(face.colors, key), truth.colors[key]))
    report["landmarks_nme"] = {"faces": len(nme_fit), "raw_template_mean": _mean(nme_raw),
                               "fitted_mean": _mean(nme_fit), "raw_template_median": _median(nme_raw),
                               "fitted_median": _median(nme_fit)}
    report["color_delta_e2000"] = {
        key: {"detector_mean": _mean(de_raw[key]), "estimated_mean": _mean(de_new[key]),
              "detector_median": _median(de_raw[key]), "estimated_median": _median(de_new[key])}
        for key in COLOR_KEYS
    }
    n = len(paths)
    report["throughput_images_per_s"] = {
        "single_pass_in_process": round(n / single_s, 4) if single_s else None,
        "pipeline_1_worker": round(n / wall1, 4),
        "pipeline_2_workers": round(n / wall2, 4),
        "speedup_2_vs_1": round(wall1 / wall2, 3),
        "pipeline_wall_s": {"1": round(wall1, 2), "2": round(wall2, 2)},
        "note": "wall time including worker start-up; reliable only on a quiet machine",
    }
    report["results_equal_across_worker_counts"] = consistent
    report["errors"] = [r.error for r in res1 + res2 if r.error]
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strips", type=int, default=None, help="number of strips (default 6)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    text = json.dumps(run(args.strips, args.seed), indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 4) if values else None


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


if __name__ == "__main__":
    main(sys.argv[1:])
