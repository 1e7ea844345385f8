"""Regenerate resources/detect_calibration.json: the logistic model behind calibrated face scores.

Run from the repository root: ``python resources/fit_calibration.py [N_STRIPS]`` (default 12; about 30 s
per strip on one core). Draws N synthetic webtoon strips (seed 11; the benchmark uses seed 2024), runs
the tiled multi-scale finder, labels every raw hit a face when it overlaps a true face by IoU >= 0.3,
and fits an L2-regularised logistic regression over f2a_studio.detect.calibrate.FEATURES. The synthetic
strips include the usual false hits (backs of heads, props, speech bubbles, screentone).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from f2a_studio.core.models import Box
from f2a_studio.detect.calibrate import FEATURES, features
from f2a_studio.detect.colors import face_frame
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.finder import find_raw
from f2a_studio.detect.landmarks.template_fit import fit_template
from f2a_studio.detect.nms import same_face
from f2a_studio.synth.dataset import iter_dataset

SEED = 11
L2 = 1.0


def collect(n_strips: int) -> tuple[np.ndarray, np.ndarray]:
    model = load_face_model()
    xs, ys = [], []
    for item in iter_dataset(SEED, n_strips):
        image = item.strip.image
        truth = [Box(*f.box) for f in item.strip.faces]
        hits = find_raw(image).hits
        for hit in hits:
            fit = fit_template(model, hit.box, hit.parts)
            support = sum(1 for other in hits if same_face(hit.box, other.box))
            xs.append(features(hit, image, face_frame(fit.points, model.mean), fit.cost, support))
            ys.append(float(any(hit.box.iou(t) >= 0.3 for t in truth)))
        print(f"{item.name}: {len(hits)} hits, {int(sum(ys))} faces / {len(ys)} so far", flush=True)
    return np.array(xs), np.array(ys)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / std
    # balance the classes so the fallback threshold stays meaningful whatever the hit mix
    w = np.where(y > 0, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum())) * len(y)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = theta[0] + z @ theta[1:]
        p = 1 / (1 + np.exp(-t))
        eps = 1e-9
        value = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) + L2 * np.sum(theta[1:] ** 2)
        g = w * (p - y)
        grad = np.concatenate([[g.sum()], z.T @ g + 2 * L2 * theta[1:]])
        return float(value), grad

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    return float(res.x[0]), res.x[1:], mean, std


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels > 0
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / max(1, n_pos * n_neg))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    x, y = collect(n)
    bias, weights, mean, std = fit(x, y)
    t = bias + ((x - mean) / std) @ weights
    data = {
        "about": __doc__.split("\n\n")[0] + " See resources/fit_calibration.py.",
        "seed": SEED,
        "strips": n,
        "hits": len(y),
        "faces": int(y.sum()),
        "auc_train": round(auc(t, y), 4),
        "auc_likelihood_only": round(auc(x[:, 0], y), 4),
        "bias": round(bias, 5),
        "weights": {f: round(float(v), 5) for f, v in zip(FEATURES, weights, strict=True)},
        "mean": {f: round(float(v), 5) for f, v in zip(FEATURES, mean, strict=True)},
        "std": {f: round(float(v), 5) for f, v in zip(FEATURES, std, strict=True)},
    }
    out = Path(__file__).with_name("detect_calibration.json")
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: data[k] for k in ("hits", "faces", "auc_train", "auc_likelihood_only")}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
