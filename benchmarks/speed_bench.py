"""Speed of face detection per megapixel, side by side in one run, with the recall it buys (issue 11).

    python -m benchmarks.speed_bench [--strips N] [--dev-every K] [--no-dev] [--guided-only] [--out FILE]
    python -m benchmarks speed          # the same, JSON on one line (F2A_BENCH_STRIPS, F2A_BENCH_DEV_EVERY)

Rows, on the same files in the same run (the box is noisy: compare the ratios, not the seconds):

* ``single_pass``: animeface once on the whole image, in this process (one core);
* ``full_1w`` / ``full_2w``: `f2a faces`'s pipeline with the small-face (up-scaled) pass over the whole image
  (the pipeline before detect/guide.py), 1 and 2 worker processes;
* ``guided_1w`` / ``guided_2w``: today's default, the small-face pass only around the learned finder's
  small proposals (detect/guide.py);
* ``verified_2w``: the same in a project whose checkpoints hold a crop verifier with the card train-finder
  writes (box head moving and rejudging, learned.VIEWS): what `f2a detect` costs once a project has one.
  Timing only: its weights are the shipped pretrained start with an identity map (a project's own are
  the same network, so the same cost), its recall says nothing.

Pipeline seconds are the wall time of `detect_files` over the set (worker start, image decode, every finder,
landmarks, colours, sex included) divided by its megapixels; ``ratio_to_single_pass`` is that over the single
pass's s/MP. Recall/precision at IoU 0.3 (devset/evaluate.py's matching; backs of heads ignored) at the
CLI's threshold 0.3 and with every candidate kept. ``profile`` splits one process's time on the set into
the learned guide, each scale band, candidates (template fit + calibration) and finishing (landmarks,
colours, pose, sex). Sets: synthetic strips (f2a_studio.synth, seed 2024) and the real devset
(/work/devset-images; skipped when absent; ``--dev-every K`` takes every K-th picture).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.common import machine
from f2a_studio.core.imageio import read_image, save_png_atomic

HERE = Path(__file__).resolve().parents[1]
SEED = 2024
THRESHOLD = 0.3
ROWS = (("full", 1), ("full", 2), ("guided", 1), ("guided", 2), ("verified", 2))


def _evaluate():
    sys.path.insert(0, str(HERE / "devset"))
    import evaluate  # devset/evaluate.py: one matching rule for every benchmark

    return evaluate


def synthetic_set(folder: Path, strips: int) -> list[dict]:
    from f2a_studio.synth.dataset import iter_dataset

    out = []
    for item in iter_dataset(SEED, strips):
        path = folder / f"{item.name}.png"
        save_png_atomic(path, item.strip.image)
        out.append({"path": path, "faces": [{"box": list(f.box), "flags": []} for f in item.strip.faces],
                    "width": item.strip.width, "height": item.strip.height})
    return out


def devset_set(every: int) -> list[dict] | None:
    folder = Path(os.environ.get("F2A_DEVSET_IMAGES", "/work/devset-images"))
    labels = HERE / "devset" / "labels.json"
    if not folder.is_dir() or not labels.is_file():
        return None
    images = json.loads(labels.read_text(encoding="utf-8"))["images"][::every]
    if not all((folder / it["file"]).is_file() for it in images):
        return None
    return [{"path": folder / it["file"], "faces": it["faces"], "width": it["width"], "height": it["height"]}
            for it in images]


def _score(images: list[dict], boxes: list[list], threshold: float = 0.3) -> dict:
    ev = _evaluate()
    total = ev.Tally()
    for image, found in zip(images, boxes, strict=True):
        total.add(ev.score_image(image["faces"], ev.Found(found), image["width"], image["height"], threshold))
    report = total.report()
    return {k: report[k] for k in ("recall", "precision", "true_positives", "faces", "found")}


def single_pass_row(images: list[dict]) -> tuple[float, list[list]]:
    from f2a_studio.detect.finder import single_pass

    seconds, found = 0.0, []
    for image in images:
        pixels = read_image(image["path"])[:, :, :3]
        start = time.perf_counter()
        found.append([[h.box.x, h.box.y, h.box.w, h.box.h]
                      for h in single_pass(pixels)])
        seconds += time.perf_counter() - start
    return seconds, found


def timing_verifier(project: Path) -> Path:
    """PROJECT/checkpoints/verifier-learned.* as train-finder writes them (refine, rejudge, VIEWS, a map,
    on by default) around the shipped pretrained weights: the product's verifier cost without training one."""
    import shutil

    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.verifiers.learned import P_WEIGHT, STEM, VIEWS

    folder = project / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PACKAGE_MODELS / "verifier-pretrained.safetensors", folder / f"{STEM}.safetensors")
    card = json.loads((PACKAGE_MODELS / "verifier-pretrained.json").read_text(encoding="utf-8"))
    card |= {"name": STEM, "calibration": {"kind": "identity"}, "on_by_default": True, "refine": True,
             "rejudge": True, "p_weight": P_WEIGHT, **VIEWS}
    (folder / f"{STEM}.json").write_text(json.dumps(card), encoding="utf-8")
    return project


def pipeline_row(images: list[dict], small_faces: str, workers: int) -> tuple[float, list[list], list[list], list]:
    from f2a_studio.detect import DetectOptions, detect_files

    with tempfile.TemporaryDirectory(prefix="f2a-speed-project-") as tmp:
        project = timing_verifier(Path(tmp)) if small_faces == "verified" else None
        options = DetectOptions(threshold=0.0, workers=workers,
                                small_faces="guided" if small_faces == "verified" else small_faces)
        start = time.perf_counter()
        results = list(detect_files([i["path"] for i in images], options, project=project))
        wall = time.perf_counter() - start
    every = [[[f.box.x, f.box.y, f.box.w, f.box.h] for f in r.faces] for r in results]
    kept = [[[f.box.x, f.box.y, f.box.w, f.box.h] for f in r.faces if f.score >= THRESHOLD] for r in results]
    return wall, kept, every, [r.error for r in results if r.error]


def profile(images: list[dict]) -> dict:
    """One process, stage by stage (the same steps as Analyzer.analyze, timed apart), s/MP."""
    import cv2

    from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer
    from f2a_studio.detect.guide import coarse_windows, proposal_windows
    from f2a_studio.detect.nms import nms
    from f2a_studio.detect.tiling import default_bands

    cv2.setNumThreads(1)
    import torch

    torch.set_num_threads(1)
    an = Analyzer(AnalyzeOptions(finders=("animeface",)))
    t: Counter = Counter()
    mp = 0.0
    for image in images:
        start = time.perf_counter()
        pixels = np.ascontiguousarray(read_image(image["path"])[:, :, :3])
        t["decode"] += time.perf_counter() - start
        h, w = pixels.shape[:2]
        mp += w * h / 1e6
        start = time.perf_counter()
        windows, coarse = [], None
        if an.guide is not None:
            proposals = an.guide.find_boxes(pixels, threshold=an.guide_options.min_score)
            windows = proposal_windows(proposals, w, h, an.guide_options)
            coarse = coarse_windows(proposals, w, h, an.guide_options)
        t["learned_guide"] += time.perf_counter() - start
        hits = []
        from f2a_studio.detect.finder import find_raw

        for band in default_bands(w, h, an.options.min_face_px):
            start = time.perf_counter()
            hits += find_raw(pixels, bands=[band], detect=an.finders[0].find).hits
            t[f"animeface_x{band.scale:g}_full"] += time.perf_counter() - start
            if band.scale != 1.0:
                start = time.perf_counter()
                find_raw(pixels, bands=[band], detect=an.finders[0].find, small_windows=windows,
                         coarse_windows=coarse)
                t[f"animeface_x{band.scale:g}_guided"] += time.perf_counter() - start
        start = time.perf_counter()
        cands = an.candidates(pixels, hits)
        t["candidates"] += time.perf_counter() - start
        kept = [c for c in nms(cands, lambda c: c.hit.box, lambda c: c.score) if c.score >= THRESHOLD]
        start = time.perf_counter()
        faces = [an.finish(pixels, c, an.landmarks) for c in kept]
        t["landmarks_colours_pose"] += time.perf_counter() - start
        start = time.perf_counter()
        an.with_sex(pixels, kept, faces)
        t["sex"] += time.perf_counter() - start
    return {"megapixels": round(mp, 2), "s_per_mp": {k: round(v / mp, 3) for k, v in sorted(t.items())},
            "landmarks": an.landmarks.name, "sex": an.sex.name}


def measure(images: list[dict], with_profile: bool, rows_to_run: tuple = ROWS) -> dict:
    mp = sum(i["width"] * i["height"] for i in images) / 1e6
    single_s, single_found = single_pass_row(images)
    out: dict = {"images": len(images), "megapixels": round(mp, 2),
                 "faces": sum(1 for i in images for f in i["faces"] if "back" not in f.get("flags", []))}
    single_spmp = single_s / mp
    rows = {"single_pass": {"s_per_mp": round(single_spmp, 3), "ratio_to_single_pass": 1.0,
                            "at_0.3": _score(images, single_found)}}
    for small, workers in rows_to_run:
        wall, kept, every, errors = pipeline_row(images, small, workers)
        rows[f"{small}_{workers}w"] = {"s_per_mp": round(wall / mp, 3),
                                       "ratio_to_single_pass": round(wall / mp / single_spmp, 3),
                                       "at_0.3": _score(images, kept), "every_candidate": _score(images, every),
                                       "errors": errors}
        print(f"speed_bench: {small}_{workers}w {rows[f'{small}_{workers}w']}", file=sys.stderr, flush=True)
    out["rows"] = rows
    if with_profile:
        out["profile"] = profile(images)
    return out


def run(strips: int | None = None, dev_every: int | None = None, dev: bool = True, with_profile: bool = True,
        rows_to_run: tuple = ROWS) -> dict:
    strips = strips if strips is not None else int(os.environ.get("F2A_BENCH_STRIPS", "4"))
    dev_every = dev_every if dev_every is not None else int(os.environ.get("F2A_BENCH_DEV_EVERY", "1"))
    report: dict = {"benchmark": "speed", "seed": SEED, "threshold": THRESHOLD, "machine": machine(),
                    "load_average_before": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="f2a-speed-bench-") as tmp:
        report["synthetic_strips"] = measure(synthetic_set(Path(tmp), strips), with_profile, rows_to_run)
    real = devset_set(dev_every) if dev else None
    report["devset"] = (measure(real, with_profile, rows_to_run) | {"every": dev_every} if real
                        else {"skipped": "the devset pictures are absent (devset/rebuild.py) or --no-dev"})
    report["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strips", type=int, default=None, help="synthetic strips (default 4)")
    parser.add_argument("--dev-every", type=int, default=None, help="every K-th devset picture (default 1: all)")
    parser.add_argument("--no-dev", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--guided-only", action="store_true",
                        help="only the guided and verified rows; the full up-scaled pass is slow on real pages")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    rows = tuple(r for r in ROWS if r[0] != "full") if args.guided_only else ROWS
    text = json.dumps(run(args.strips, args.dev_every, not args.no_dev, not args.no_profile, rows), indent=1)
    print(text)
    if args.out:
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
