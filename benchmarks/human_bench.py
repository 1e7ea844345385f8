"""Human photo benchmark: the photo finder and the 68-point landmark backends for human faces, one run.

    python -m benchmarks.human_bench [--repeats N] [--out FILE]
    python -m benchmarks human

Photos are the ones scikit-image ships (nothing downloaded):

* ``finder_lfw``: ``skimage.data.lfw_subset()``, 100 LFW faces and 100 non-face patches, 25x25 grey;
  each scaled up 4x (cubic) and padded by 12 of its pixels per side (edge pixels) so the cascade's 24 px window
  fits a face of about 100 px. Recall = share of faces with a hit at the default threshold (0.3, the
  calibrated score); false-positive rate = share of non-faces with one.
* ``finder_astronaut``: ``skimage.data.astronaut()`` (512x512): is the face found (IoU >= 0.3 with the box
  of the hand-labelled points), and how many other hits pass the threshold.
* ``landmarks``: 68-point NME (mean point error / outer-eye-corner distance, 36-45, as 300-W) against
  points placed by hand on the astronaut (benchmarks/data/astronaut_68.json, how: in that file), on the
  photo and on four exact variants of it (rotated -15/+15 degrees, scaled 0.6x/1.5x; the truth goes
  through the same transform). Each backend gets the finder's box (``finder_box``) and, to separate
  finder error from landmark error, the box of the true points (``truth_box``). Rows side by side:
  ``mean_face_in_box`` (the baseline: the project's mean face placed in the box, template_fit.place_by_box),
  ``template_fit`` (the template backend, what photos get without MediaPipe) and ``mediapipe`` (when its
  wheel is installed; else the reason it is not).
* ``seconds_per_photo``: median over ``repeats`` runs on the astronaut, finder and each backend, OpenCV
  limited to 2 threads (this machine has 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import machine
from f2a_studio.core.models import Box, Parts

TRUTH = Path(__file__).parent / "data" / "astronaut_68.json"
THRESHOLD = 0.3
LFW_UPSCALE = 4
LFW_PAD = 12


def truth_points() -> np.ndarray:
    return np.array(json.loads(TRUTH.read_text(encoding="utf-8"))["points"], dtype=np.float64)


def nme(points: np.ndarray, truth: np.ndarray) -> float:
    iod = float(np.linalg.norm(truth[45] - truth[36]))
    return float(np.linalg.norm(points - truth, axis=1).mean() / iod)


def box_of(points: np.ndarray) -> Box:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def variants(image: np.ndarray, truth: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The photo and exact rotations/scalings of it about the face centre, truth transformed alike."""
    out = {"original": (image, truth)}
    cx, cy = truth.mean(axis=0)
    h, w = image.shape[:2]
    for name, angle, scale in (("rot-15", -15, 1.0), ("rot+15", 15, 1.0), ("scale0.6", 0, 0.6), ("scale1.5", 0, 1.5)):
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale)
        size = (int(w * max(1.0, scale)), int(h * max(1.0, scale)))
        warped = cv2.warpAffine(image, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        out[name] = (warped, truth @ m[:, :2].T + m[:, 2])
    return out


def best_hit(finder, calibration, pixels: np.ndarray, target: Box) -> tuple[Box | None, int]:
    """(the passing hit overlapping `target` most, the number of other passing hits)."""
    passing = [h for h in finder.find(pixels) if calibration.score_hit(h, pixels, None, 0.0)[0] >= THRESHOLD]
    matched = [h for h in passing if h.box.iou(target) >= 0.3]
    best = max(matched, key=lambda h: h.box.iou(target)).box if matched else None
    return best, len(passing) - (1 if best is not None else 0)


def lfw_rows(finder, calibration) -> dict:
    from skimage.data import lfw_subset

    faces = lfw_subset()
    found = []
    for patch in faces:
        grey = cv2.resize((patch * 255).astype(np.uint8), None, fx=LFW_UPSCALE, fy=LFW_UPSCALE,
                          interpolation=cv2.INTER_CUBIC)
        grey = cv2.copyMakeBorder(grey, *(LFW_PAD * LFW_UPSCALE,) * 4, cv2.BORDER_REPLICATE)
        rgb = np.dstack([grey] * 3)
        found.append(any(calibration.score_hit(h, rgb, None, 0.0)[0] >= THRESHOLD for h in finder.find(rgb)))
    found_arr = np.array(found)
    return {"faces": 100, "non_faces": 100, "upscale": LFW_UPSCALE, "recall": float(found_arr[:100].mean()),
            "false_positive_rate": float(found_arr[100:].mean())}


def backends() -> tuple[dict, dict]:
    """name → predict(pixels, box) -> (68, 2), and name → why it is missing."""
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.mediapipe_mesh import MediaPipeBackend
    from f2a_studio.detect.landmarks.template import TemplateBackend
    from f2a_studio.detect.landmarks.template_fit import place_by_box

    model = load_face_model()
    template = TemplateBackend()
    template.load()
    rows = {
        "mean_face_in_box": lambda px, box: place_by_box(model, box),
        "template_fit": lambda px, box: template.predict(px, box, Parts()).points,
    }
    missing = {}
    if MediaPipeBackend.available(()):
        mesh = MediaPipeBackend()
        mesh.load()
        rows["mediapipe"] = lambda px, box: mesh.predict(px, box, Parts()).points
    else:
        missing["mediapipe"] = MediaPipeBackend.problem()
    return rows, missing


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)), 4)


def run(repeats: int = 5) -> dict:
    from skimage.data import astronaut

    from f2a_studio.detect.finders.photo import PhotoCalibration, PhotoFinder

    cv2.setNumThreads(2)
    finder = PhotoFinder()
    finder.load()
    calibration = PhotoCalibration()
    photo, truth = astronaut(), truth_points()
    rows, missing = backends()
    landmarks: dict[str, dict] = {name: {"finder_box": {}, "truth_box": {}} for name in rows}
    finder_misses = []
    for vname, (pixels, pts) in variants(photo, truth).items():
        found, _ = best_hit(finder, calibration, pixels, box_of(pts))
        if found is None:
            finder_misses.append(vname)
        for name, predict in rows.items():
            if found is not None:
                landmarks[name]["finder_box"][vname] = round(nme(predict(pixels, found), pts), 4)
            landmarks[name]["truth_box"][vname] = round(nme(predict(pixels, box_of(pts)), pts), 4)
    for row in landmarks.values():
        for key in ("finder_box", "truth_box"):
            values = list(row[key].values())
            row[f"{key}_mean"] = round(float(np.mean(values)), 4) if values else None
    found, others = best_hit(finder, calibration, photo, box_of(truth))
    seconds = {"photo_finder": median_seconds(lambda: finder.find(photo), repeats)}
    box = found or box_of(truth)
    for name, predict in rows.items():
        seconds[name] = median_seconds(lambda predict=predict: predict(photo, box), repeats)
    baseline = landmarks["mean_face_in_box"]["truth_box_mean"]
    ratios = {name: round(row["truth_box_mean"] / baseline, 3) for name, row in landmarks.items()
              if name != "mean_face_in_box" and baseline}
    return {
        "benchmark": "human",
        "machine": machine(),
        "threshold": THRESHOLD,
        "finder_lfw": lfw_rows(finder, calibration),
        "finder_astronaut": {"face_found": found is not None, "other_hits": others,
                             "box": found.to_list() if found else None},
        "finder_missed_variants": finder_misses,
        "landmarks_nme": landmarks,
        "nme_ratio_to_mean_face_truth_box": ratios,
        "landmarks_missing": missing,
        "seconds_per_photo_512px": seconds,
        "truth": str(TRUTH.relative_to(Path(__file__).parent.parent)),
    }


def write_grid(x0: int, y0: int, x1: int, y1: int, k: int, out: Path) -> None:
    """The labelling aid: the astronaut's region x0..x1, y0..y1 enlarged k times, a 5 px grid over it
    (yellow and numbered every 10 px), to read point positions off by eye."""
    from skimage.data import astronaut

    crop = cv2.resize(astronaut()[y0:y1, x0:x1], None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    crop = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
    for x in range(x0 - x0 % 5 + 5, x1, 5):
        cv2.line(crop, ((x - x0) * k, 0), ((x - x0) * k, crop.shape[0]), (0, 255, 255) if x % 10 == 0 else (90,) * 3)
        if x % 10 == 0:
            cv2.putText(crop, str(x), ((x - x0) * k + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
    for y in range(y0 - y0 % 5 + 5, y1, 5):
        cv2.line(crop, (0, (y - y0) * k), (crop.shape[1], (y - y0) * k), (0, 255, 255) if y % 10 == 0 else (90,) * 3)
        if y % 10 == 0:
            cv2.putText(crop, str(y), (2, (y - y0) * k - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
    cv2.imwrite(str(out), crop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--grid", nargs=6, metavar=("X0", "Y0", "X1", "Y1", "K", "PNG"),
                        help="write a labelling grid of the astronaut instead of benchmarking")
    args = parser.parse_args(argv)
    if args.grid:
        *box, out = args.grid
        write_grid(*map(int, box), Path(out))
        return 0
    text = json.dumps(run(args.repeats), ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
