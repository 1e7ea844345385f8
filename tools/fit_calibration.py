"""Regenerate f2a_studio/resources/detect_calibration.json: how true faces look to the score calibration.

Run from the repository root: ``python tools/fit_calibration.py [N_STRIPS]`` (default 6; about 30 s
per strip on one core). Draws N synthetic webtoon strips (seed 11; the benchmark uses seed 2024), runs
the tiled multi-scale finder, and over the raw hits that are true faces (IoU >= 0.3 with a drawn face)
measures each feature of f2a_studio.detect.calibrate.FEATURES: its median (centre) and robust spread
(1.4826 x MAD). The weights are priors set in calibrate.py (one-class model: see its docstring). The few
false hits the strips produce are scored too, and the ROC AUC of the calibrated score and of the raw
likelihood on them are written for reference (small numbers: read them as a sanity check only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box
from f2a_studio.detect.calibrate import FEATURES, MIN_SPREAD, Calibrator, features
from f2a_studio.detect.colors import face_frame
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.finder import find_raw
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.synth.dataset import iter_dataset

SEED = 11


def collect(n_strips: int) -> tuple[np.ndarray, np.ndarray]:
    model = load_face_model()
    xs, ys = [], []
    for item in iter_dataset(SEED, n_strips):
        image = item.strip.image
        truth = [Box(*f.box) for f in item.strip.faces]
        hits = find_raw(image).hits
        for hit in hits:
            fit = fit_template(model, hit.box, hit.parts)
            xs.append(features(hit, image, face_frame(fit.points, model.mean), fit.cost))
            ys.append(float(any(hit.box.iou(t) >= 0.3 for t in truth)))
        print(f"{item.name}: {len(hits)} hits; {int(sum(ys))} faces of {len(ys)} so far", flush=True)
    return np.array(xs), np.array(ys)


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    pos = labels > 0
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return None
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    return round(float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)), 4)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    x, y = collect(n)
    faces = x[y > 0]
    center = np.median(faces, axis=0)
    spread = 1.4826 * np.median(np.abs(faces - center), axis=0)
    cal = Calibrator(center, np.maximum(spread, MIN_SPREAD), "fit")  # as load_calibrator() will
    scores = np.array([cal.score(row) for row in x])
    data = {
        "about": __doc__.split("\n\n")[0] + " See tools/fit_calibration.py.",
        "seed": SEED,
        "strips": n,
        "hits": len(y),
        "faces": int(y.sum()),
        "center": {f: round(float(v), 5) for f, v in zip(FEATURES, center, strict=True)},
        "spread": {f: round(float(v), 5) for f, v in zip(FEATURES, spread, strict=True)},
        "auc_score": auc(scores, y),
        "auc_likelihood": auc(x[:, 0], y),
        "score_quantiles_faces_5_25_50": [round(float(q), 3) for q in np.quantile(scores[y > 0], [0.05, 0.25, 0.5])],
        "scores_false_hits": [round(float(v), 3) for v in scores[y == 0]],
    }
    out = Path(__file__).resolve().parents[1] / "f2a_studio" / "resources" / "detect_calibration.json"
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: data[k] for k in ("hits", "faces", "auc_score", "auc_likelihood",
                                           "score_quantiles_faces_5_25_50", "scores_false_hits")}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
