"""Fit a finder's score → "is a face" map from labelled scores (isotonic regression, pool-adjacent-violators).

Used twice: when `f2a train-finder` measures its held-back cuts (proposal raw score → matched a face a person
drew) and when `f2a calibrate` reads the project's review decisions (score → accepted rather than rejected).
Isotonic rather than logistic: a finder's scores bunch (the learned finder's peaks crowd near 1 on real pages,
false alarms too), and a monotone step map follows that without assuming a shape. A small prior pulls
each block towards the overall rate, so two lucky proposals at the top do not make a score of 1 "certain".
Pure numpy: core-free of Qt and torch like the calibration it feeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.detect.finders.calibration import ScoreMap

PRIOR_WEIGHT = 2.0  # pseudo-observations at the overall rate added to every block


@dataclass(frozen=True)
class ScoreFit:
    calibration: ScoreMap
    positives: int
    negatives: int

    def to_json(self) -> dict:
        c = self.calibration
        shape = ({"knots": [list(k) for k in c.knots]} if c.kind == "piecewise"
                 else {"a": round(c.a, 6), "b": round(c.b, 6)})
        return {"kind": c.kind, **shape, "fitted_from": {"positives": self.positives, "negatives": self.negatives}}


def _check(scores: Sequence[float], labels: Sequence[bool], source: str, min_positives: int,
           min_negatives: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise F2AError(f"scores and labels must be two lists of one length, got {x.shape} and {y.shape}")
    if not np.all(np.isfinite(x)):
        raise F2AError("a score to calibrate is not a finite number")
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos < min_positives or neg < min_negatives:
        raise F2AError(f"{source}: {pos} face(s) and {neg} non-face(s) to fit a score calibration on; it needs at "
                       f"least {min_positives} and {min_negatives}")
    return x, y


def platt_fit(scores: Sequence[float], labels: Sequence[bool], source: str = "fitted", min_positives: int = 3,
              min_negatives: int = 3, l2: float = 1e-2) -> ScoreFit:
    """P(label) = sigmoid(a·logit(score) + b), by Newton's method with a small ridge on (a, b).

    For scores that are probabilities already and few labels: two numbers are far steadier than an
    isotonic staircase on a few dozen positives, and the map keeps rising past the best-scored example
    (an isotonic map is flat there, so the best candidates would tie). Fitting a non-increasing map (the
    score ranks the wrong way) is an F2AError."""
    from f2a_studio.detect.finders.calibration import logit

    x, y = _check(scores, labels, source, min_positives, min_negatives)
    z = np.array([logit(v) for v in x])
    design = np.stack([z, np.ones_like(z)], axis=1)
    w = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -40, 40)))
        grad = design.T @ (p - y) + l2 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    if not w[0] > 0:
        raise F2AError(f"{source}: the score does not rank faces above non-faces (fitted slope {w[0]:.3g})")
    return ScoreFit(ScoreMap("platt", float(w[0]), float(w[1]), source=source), int(y.sum()), int(len(y) - y.sum()))


def isotonic_fit(scores: Sequence[float], labels: Sequence[bool], source: str = "fitted",
                 min_positives: int = 3, min_negatives: int = 3) -> ScoreFit:
    """A non-decreasing piecewise-linear map score → P(label), knots at the blocks' mean scores.

    Too few of either kind to fit: F2AError saying how many there are and how many it needs."""
    x, y = _check(scores, labels, source, min_positives, min_negatives)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    # plain pool-adjacent-violators: blocks of [sum_y, count, sum_x]
    blocks = _pav([[yi, 1.0, xi] for xi, yi in zip(x, y, strict=True)])
    # then each block pulled towards the overall rate by PRIOR_WEIGHT pseudo-observations (small blocks
    # most), and violators pooled again so the map stays monotone
    rate = y.mean()
    blocks = _pav([[s + PRIOR_WEIGHT * rate, w + PRIOR_WEIGHT, sx * (w + PRIOR_WEIGHT) / w] for s, w, sx in blocks])
    knots = [(b[2] / b[1], b[0] / b[1]) for b in blocks]
    if len(knots) == 1:  # the score tells nothing: a flat map at the overall rate
        knots = [(float(x[0]), knots[0][1]), (float(x[-1]) + 1e-6, knots[0][1])]
    knots = _dedupe(knots)
    return ScoreFit(ScoreMap("piecewise", knots=tuple((round(a, 6), round(b, 6)) for a, b in knots), source=source),
                    pos, neg)


def _pav(items: list[list[float]]) -> list[list[float]]:
    """Pool adjacent blocks [sum_y, weight, sum_x·…] while a block's mean is not below the next one's."""
    blocks: list[list[float]] = []
    for item in items:
        blocks.append(list(item))
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, w, sx = blocks.pop()
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + w, blocks[-1][2] + sx]
    return blocks


def _dedupe(knots: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for xk, yk in knots:
        if out and xk <= out[-1][0]:
            xk = out[-1][0] + 1e-6
        out.append((float(xk), float(yk)))
    return out
