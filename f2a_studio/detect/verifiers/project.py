"""Train a project's crop verifier beside its finder (``f2a train-finder``, after the finder itself).

The same reviewed cuts as the finder (detect/finders/learned_project.py), the same held-back part:
* faces: the accepted and hand-drawn boxes, and the new finder's proposals on them (IoU ≥ 0.3: the boxes
  the analysis will actually crop); not faces: rejected detections, every other proposal of the new
  finder (its false alarms are what the verifier must push down) and a few random boxes of face size on
  each cut's unboxed areas (a reviewed cut has every face boxed);
* the held-back cuts' candidates (the new finder's proposals, calibrated by its held-back map, and the
  stored detections of the other finders with the score they had before any verifier) fit the card's map
  ``sqrt(p_face · score) → matched a face``, and measure the verifier: average precision and recall at
  precision 0.85 after the NMS, with and without it. It is on by default only if it did not do worse.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Box, FaceSource, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders.calibration import ScoreMap
from f2a_studio.detect.verifiers import UNVERIFIED_FEATURE
from f2a_studio.detect.verifiers.learned import STEM, combined
from f2a_studio.detect.verifiers.train import VerifierData, VerifierTrainConfig, context_crops, train_verifier

IOU = 0.3
PROPOSAL_FLOOR = 0.05  # the finder's raw peaks down to this are candidates (as its held-back calibration)
PROPOSALS_PER_CUT = 50
BACKGROUND_PER_CUT = 4
MIN_OTHERS = 8
PRECISION_GOAL = 0.85
Progress = Callable[[int, int, str], None]
Candidate = tuple[float, float, float, float, float]  # x y w h score


@dataclass(frozen=True)
class VerifierOptions:
    enabled: bool = True
    steps: int | None = None  # default VerifierTrainConfig.steps
    seed: int = 0


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    from f2a_studio.detect.finders.learned_train import _iou as iou

    return iou(a, b)


def _matches(box: Sequence[float], faces: Sequence[Sequence[float]]) -> bool:
    return any(_iou(box, f) >= IOU for f in faces)


def background_boxes(pixels: np.ndarray, faces: Sequence[Sequence[float]], key: str,
                     n: int = BACKGROUND_PER_CUT) -> list[tuple[float, float, float, float]]:
    """Up to ``n`` random face-sized squares touching no face box (sizes from the cut's faces, else 1/6 of
    the short side), fixed by ``key`` so a rerun draws the same ones."""
    h, w = pixels.shape[:2]
    rng = np.random.default_rng(int(hashlib.sha256(("verifier-bg:" + key).encode()).hexdigest()[:12], 16))
    sides = [max(f[2], f[3]) for f in faces] or [min(w, h) / 6]
    out: list[tuple[float, float, float, float]] = []
    for _ in range(n * 10):
        if len(out) >= n:
            break
        s = float(rng.choice(sides)) * float(np.exp(rng.uniform(-0.4, 0.4)))
        if s < 8 or s >= min(w, h):
            continue
        box = (float(rng.uniform(0, w - s)), float(rng.uniform(0, h - s)), s, s)
        if not any(_iou(box, f) > 0.0 for f in faces):
            out.append(box)
    return out


def cut_data(pixels: np.ndarray, faces, rejected, proposals: Sequence[Candidate], key: str,
             size: int) -> tuple[VerifierData, dict[str, int]]:
    """One training cut's labelled boxes (see the module docstring) and how many of each kind."""
    props = list(proposals)[:PROPOSALS_PER_CUT]
    matched = [p for p in props if _matches(p, faces)]
    unmatched = [p for p in props if not _matches(p, faces)]
    background = background_boxes(pixels, [*faces, *rejected, *unmatched], key)
    boxes = [*faces, *matched, *rejected, *unmatched, *background]
    labels = [1.0] * (len(faces) + len(matched)) + [0.0] * (len(rejected) + len(unmatched) + len(background))
    counts = {"boxed_faces": len(faces), "proposals_on_faces": len(matched), "rejected": len(rejected),
              "other_proposals": len(unmatched), "background": len(background)}
    return context_crops(pixels, boxes, labels, size), counts


def _pixels(store: ProjectStore, cut) -> np.ndarray:
    return np.ascontiguousarray(load_image(store.cut_file(cut.image)).pixels[:, :, :3])


def _proposals(finder, pixels: np.ndarray, score_map: ScoreMap | None) -> list[Candidate]:
    return [(x, y, w, h, score_map(s) if score_map is not None else s)
            for x, y, w, h, s in finder.find_boxes(pixels, threshold=PROPOSAL_FLOOR)]


def other_detections(store: ProjectStore, cut, replaced: str) -> list[tuple[Candidate, bool]]:
    """The stored, person-decided detections of the finders other than ``replaced`` on a cut, with the
    score they had before any verifier and whether a person accepted them."""
    out = []
    for f in store.faces(cut.image.id):
        if f.source is FaceSource.HUMAN or f.finder == replaced or f.status is FaceStatus.UNREVIEWED:
            continue
        score = float(dict(f.score_features).get(UNVERIFIED_FEATURE, f.score))
        out.append(((f.box.x, f.box.y, f.box.w, f.box.h, score), f.status is FaceStatus.ACCEPTED))
    return out


def ranked(per_cut: Sequence[tuple[list[Candidate], Sequence]]) -> dict:
    """Average precision and recall at precision 0.85 of the candidates after the NMS (IoU 0.3)."""
    from f2a_studio.detect.finders.learned_train import score_predictions
    from f2a_studio.detect.nms import nms

    scored = score_predictions([(nms(c, lambda p: Box(*p[:4]), lambda p: p[4]), faces) for c, faces in per_cut])
    order = np.argsort(-scored.scores, kind="stable")
    hits = scored.true[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    ap = float(precision[hits].sum() / scored.n_truth) if scored.n_truth else 0.0
    at = scored.at(scored.threshold_for_precision(PRECISION_GOAL))
    return {"average_precision": round(ap, 4), "recall_at_p85": round(at["recall"] if at["precision"] >= PRECISION_GOAL
                                                                         else 0.0, 4),
            "faces": scored.n_truth, "candidates": len(hits)}


def _remove_old(out: Path) -> bool:
    from f2a_studio.detect.cropnet import model_paths

    removed = False
    for path in model_paths(out, STEM):
        if path.exists():
            path.unlink()
            removed = True
    return removed


def train_project_verifier(store: ProjectStore, train_cuts: Sequence, held_cuts: Sequence, finder,
                           finder_map: ScoreMap | None, finder_sha256: str, out: Path,
                           options: VerifierOptions = VerifierOptions(), progress: Progress | None = None,
                           should_stop: Callable[[], bool] | None = None) -> dict:
    """Train, fit, measure and write PROJECT/checkpoints/verifier-learned.*; returns a summary for the
    finder's card ({"trained": False, "why": ...} when it cannot be trained, old files removed then, since
    an old verifier was fitted on another finder's scores)."""
    import torch

    from f2a_studio.detect.cropnet import model_paths, save_model
    from f2a_studio.detect.finders.score_fit import isotonic_fit
    from f2a_studio.detect.small_train import resume_path
    from f2a_studio.detect.verifiers.net import VerifierNet, VerifierNetConfig

    def skipped(why: str) -> dict:
        removed = _remove_old(out)
        return {"trained": False, "why": why + ("; the old verifier was removed" if removed else "")}

    if not options.enabled:
        return skipped("turned off")
    net_cfg = VerifierNetConfig()
    parts, counts = [], {}
    for cut in train_cuts:
        px = _pixels(store, cut)
        data, n = cut_data(px, cut.faces, cut.rejected, _proposals(finder, px, None), cut.image.hash, net_cfg.size)
        parts.append(data)
        counts = {k: counts.get(k, 0) + v for k, v in n.items()}
    data = VerifierData.concat(parts, net_cfg.size)
    if data.others < MIN_OTHERS:
        return skipped(f"{data.others} non-face boxes on the training cuts; the verifier needs at least {MIN_OTHERS}")
    cfg = VerifierTrainConfig(steps=options.steps or VerifierTrainConfig.steps, seed=options.seed)
    torch.manual_seed(options.seed)
    net = VerifierNet(net_cfg)
    t0 = time.monotonic()
    result = train_verifier(net, data, cfg, resume=resume_path(out, STEM), progress=progress,
                            should_stop=should_stop)
    if result.interrupted:
        return {"trained": False, "interrupted": True, "steps_done": result.steps_done, "steps": cfg.steps}
    seconds = time.monotonic() - t0

    from f2a_studio.detect.verifiers.learned import LearnedVerifier

    verifier = LearnedVerifier(out)
    verifier.net = net.eval()
    held_without, held_with, fit_scores, fit_labels = [], [], [], []
    for cut in held_cuts:
        px = _pixels(store, cut)
        cands = [(c, _matches(c, cut.faces)) for c in _proposals(finder, px, finder_map)]
        cands += other_detections(store, cut, finder.name)
        if not cands:
            held_without.append(([], cut.faces))
            held_with.append(([], cut.faces))
            continue
        p = verifier.p_face(px, [c for c, _ in cands])
        held_without.append(([c for c, _ in cands], cut.faces))
        mixed = [combined(float(pi), c[4]) for (c, _), pi in zip(cands, p, strict=True)]
        held_with.append(([(*c[:4], m) for (c, _), m in zip(cands, mixed, strict=True)], cut.faces))
        fit_scores += mixed
        fit_labels += [label for _, label in cands]
    card = {
        "name": "learned",
        "net": net_cfg.to_json(),
        "license": "Apache-2.0",
        "intended_use": f"re-scoring face candidates of project {store.root.name} before the NMS",
        "combine": "sqrt(verifier_p * calibrated score), then 'calibration'",
        "finder_sha256": finder_sha256,
        "data": {"train_cuts": len(train_cuts), "faces": data.faces, "others": data.others, **counts,
                 "held_back_cuts": len(held_cuts)},
        "train": cfg.to_json() | {"seconds": round(seconds, 1), "resumed_from": result.resumed_from},
    }
    try:
        fit = isotonic_fit(fit_scores, fit_labels, source="held-back cuts' candidates")
        card["calibration"] = {**fit.to_json(), "fitted_on": "held-back cuts' candidates (IoU 0.3)"}
    except F2AError as exc:  # too few of a kind
        card["calibration_note"] = str(exc)
    without, with_ = ranked(held_without), ranked(held_with)
    card["metrics_iou_0.3"] = {"held_back_without": without, "held_back_with": with_}
    helped = with_["faces"] > 0 and with_["average_precision"] >= without["average_precision"]
    card["on_by_default"] = bool(helped and "calibration" in card)
    card["on_by_default_why"] = (
        "no score map: " + card["calibration_note"] if "calibration" not in card
        else f"held-back average precision {without['average_precision']:.3f} without, "
             f"{with_['average_precision']:.3f} with the verifier" + ("" if helped else ": it did not help"))
    save_model(out, STEM, net.state_dict(), card)
    return {"trained": True, "on_by_default": card["on_by_default"], "why": card["on_by_default_why"],
            "metrics_iou_0.3": card["metrics_iou_0.3"], "seconds": card["train"]["seconds"],
            "files": [str(p) for p in model_paths(out, STEM)]}
