"""Train a project's crop verifier beside its finder (``f2a train-finder``, after the finder itself).

The same reviewed cuts as the finder (detect/finders/learned_project.py), the same held-back part:
* faces: the accepted and hand-drawn boxes, and the new finder's proposals on them (IoU ≥ 0.3: the boxes
  the analysis will actually crop); not faces: rejected detections, every other proposal of the new
  finder (its false alarms are what the verifier must push down) and a few random boxes of face size on
  each cut's unboxed areas (a reviewed cut has every face boxed);
* the held-back cuts' candidates, every one the analysis would score there (animeface's through every
  tile and scale, the new finder's, each calibrated as detection calibrates it), fit the card's map
  ``p_face^0.7 · score^0.3 → matched a face`` on those the NMS keeps (a Platt fit: steady on a few dozen
  faces, and rising past the best one, where an isotonic map is flat and would tie them), and measure
  the verifier: average precision and recall at precision 0.85 after the NMS, with and without it. It is
  on by default unless it clearly did worse there (lower average precision on 90 % of bootstrap resamples
  of the held-back cuts: a small held-back part is noisy, and on the devset the verifier helped on the
  scored half of a fold whose held-back fifth said 0.361 → 0.355);
* the box head learns, from every box overlapping a face at IoU ≥ 0.1 (near misses included), where that
  face's box is; the card's "refine" says whether the analysis moves boxes there and judges each moved
  box again from its own crop ("rejudge"), by the same bootstrap rule on the held-back cuts (moved and
  rejudged boxes against the finders' own judged where they are). Every answer is the average over the
  views in learned.VIEWS (the crop, its mirror, two zoomed crops of likely faces), written into the card with the map
  fitted on them. The card keeps the points its map was fitted on ("held_back_points"): `f2a calibrate`
  refits the map on them and the annotators' later decisions (verifiers/recalibrate.py).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.box_overlap import iou as _iou
from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Box
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders.hard_negatives import touches_any
from f2a_studio.detect.verifiers.learned import P_WEIGHT, STEM, VIEWS
from f2a_studio.detect.verifiers.recalibrate import HELD_BACK_KEY, card_points, map_path
from f2a_studio.detect.verifiers.refine import REFINE_IOU, nearest_face
from f2a_studio.detect.verifiers.train import VerifierData, VerifierTrainConfig, context_crops, train_verifier

IOU = 0.3
PROPOSAL_FLOOR = 0.05  # the finder's raw peaks down to this are candidates (as its held-back calibration)
PROPOSALS_PER_CUT = 300  # the most confident; a cluttered page's false alarms are the verifier's lesson
BACKGROUND_PER_CUT = 4
MIN_OTHERS = 8
PRECISION_GOAL = 0.85
BOOTSTRAP = 200  # resamples of the held-back cuts for the on/off decision
OFF_WHEN_WORSE = 0.9  # off when the verifier's average precision is lower on this share of the resamples
Progress = Callable[[int, int, str], None]
Candidate = tuple[float, float, float, float, float]  # x y w h score


@dataclass(frozen=True)
class VerifierOptions:
    enabled: bool = True
    steps: int | None = None  # default VerifierTrainConfig.steps
    seed: int = 0


def _matches(box: Sequence[float], faces: Sequence[Sequence[float]]) -> bool:
    return any(_iou(box, f) >= IOU for f in faces)


def background_boxes(pixels: np.ndarray, faces: Sequence[Sequence[float]], key: str,
                     n: int = BACKGROUND_PER_CUT) -> list[tuple[float, float, float, float]]:
    """Up to ``n`` random face-sized squares touching no face box (sizes from the cut's faces, else 1/6 of
    the short side), fixed by ``key`` so a rerun draws the same ones."""
    h, w = pixels.shape[:2]
    rng = np.random.default_rng(int(hashlib.sha256(("verifier-bg:" + key).encode()).hexdigest()[:12], 16))
    sides = [max(f[2], f[3]) for f in faces] or [min(w, h) / 6]
    taken = np.array([f[:4] for f in faces], np.float64).reshape(-1, 4)  # boxes and scored candidates alike
    out: list[tuple[float, float, float, float]] = []
    for _ in range(n * 10):
        if len(out) >= n:
            break
        s = float(rng.choice(sides)) * float(np.exp(rng.uniform(-0.4, 0.4)))
        if s < 8 or s >= min(w, h):
            continue
        box = (float(rng.uniform(0, w - s)), float(rng.uniform(0, h - s)), s, s)
        if not touches_any(box, taken):
            out.append(box)
    return out


def cut_data(pixels: np.ndarray, faces, rejected, proposals: Sequence[Candidate], key: str,
             size: int, span: float) -> tuple[VerifierData, dict[str, int]]:
    """One training cut's labelled boxes (see the module docstring) and how many of each kind."""
    props = list(proposals)[:PROPOSALS_PER_CUT]
    matched = [p for p in props if _matches(p, faces)]
    unmatched = [p for p in props if not _matches(p, faces)]
    background = background_boxes(pixels, [*faces, *rejected, *unmatched], key)
    boxes = [*faces, *matched, *rejected, *unmatched, *background]
    labels = [1.0] * (len(faces) + len(matched)) + [0.0] * (len(rejected) + len(unmatched) + len(background))
    targets = [overlapped_face(b, faces) for b in boxes[:len(boxes) - len(background)]] + [None] * len(background)
    counts = {"boxed_faces": len(faces), "proposals_on_faces": len(matched), "rejected": len(rejected),
              "other_proposals": len(unmatched), "background": len(background),
              "near_misses": sum(t is not None for t, lab in zip(targets, labels, strict=True) if lab < 0.5)}
    return context_crops(pixels, boxes, labels, size, span, targets), counts


def overlapped_face(box: Sequence[float], faces: Sequence[Sequence[float]]) -> Sequence[float] | None:
    """The face box the box head learns to find from ``box``: the one it overlaps most, at IoU ≥ REFINE_IOU
    (a near miss below the face's IoU 0.3 too: those are the boxes refinement turns into hits)."""
    i, iou = nearest_face(box, faces, _iou)
    return faces[i][:4] if i >= 0 and iou >= REFINE_IOU else None


def _pixels(store: ProjectStore, cut) -> np.ndarray:
    return np.ascontiguousarray(load_image(store.cut_file(cut.image)).pixels[:, :, :3])


def _proposals(finder, pixels: np.ndarray) -> list[Candidate]:
    return list(finder.find_boxes(pixels, threshold=PROPOSAL_FLOOR))


def held_back_candidates(store: ProjectStore, held_cuts: Sequence, search_path: Sequence[Path]):
    """Per held-back cut: its pixels and every candidate the analysis would score there (each finder that
    runs by default with the models on ``search_path``, calibrated, before the verifier and the NMS), as
    ``x y w h score``: the very population the verifier's map is applied to."""
    from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer

    if not held_cuts:
        return
    analyzer = Analyzer(AnalyzeOptions(search_path=tuple(map(str, search_path)), threshold=0.0, verify=False))
    finders = analyzer.finders_for("anime")
    for cut in held_cuts:
        px = _pixels(store, cut)
        scored = analyzer.scored_candidates(px, finders, [])
        yield cut, px, [(c.hit.box.x, c.hit.box.y, c.hit.box.w, c.hit.box.h, float(c.score)) for c in scored]


def after_nms(per_cut: Sequence[tuple[list[Candidate], Sequence]]):
    """The candidates the NMS keeps on each cut, each matched one-to-one to a face (IoU 0.3): what the
    studio shows, so what its threshold must mean (learned_train.Scored)."""
    from f2a_studio.detect.finders.learned_train import score_predictions
    from f2a_studio.detect.nms import nms

    return score_predictions([(nms(list(c), lambda p: Box(*p[:4]), lambda p: p[4]), faces) for c, faces in per_cut],
                             IOU)


def worse_share(with_: Sequence, without: Sequence, resamples: int = BOOTSTRAP, seed: int = 0) -> float:
    """The share of bootstrap resamples of the held-back cuts (the same cuts for both) on which the
    verifier's average precision is below the finders' own: near 1 only when it hurts on most cuts, not
    when one cut of a small held-back part happens to go the other way."""
    n = len(with_)
    if not n:
        return 0.0
    rng = np.random.default_rng(seed)
    worse = 0
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        a = ranked([with_[i] for i in idx])["average_precision"]
        b = ranked([without[i] for i in idx])["average_precision"]
        worse += a < b
    return worse / resamples


def ranked(per_cut: Sequence[tuple[list[Candidate], Sequence]]) -> dict:
    """Average precision and recall at precision 0.85 of the candidates after the NMS (IoU 0.3)."""
    scored = after_nms(per_cut)
    order = np.argsort(-scored.scores, kind="stable")
    hits = scored.true[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    ap = float(precision[hits].sum() / scored.n_truth) if scored.n_truth else 0.0
    at = scored.at(scored.threshold_for_precision(PRECISION_GOAL))
    recall = at["recall"] if at["precision"] >= PRECISION_GOAL else 0.0
    return {"average_precision": round(ap, 4), "recall_at_p85": round(recall, 4), "faces": scored.n_truth,
            "candidates": len(hits)}


def _remove_old(out: Path) -> bool:
    from f2a_studio.detect.cropnet import model_paths

    removed = False
    for path in (*model_paths(out, STEM), map_path(out)):
        if path.exists():
            path.unlink()
            removed = True
    return removed


def training_data(store: ProjectStore, train_cuts: Sequence, finder, size: int, span: float
                  ) -> tuple[VerifierData, dict[str, int]]:
    """Every training cut's labelled boxes (cut_data) and how many of each kind in all."""
    parts, counts = [], {}
    for cut in train_cuts:
        px = _pixels(store, cut)
        data, n = cut_data(px, cut.faces, cut.rejected, _proposals(finder, px), cut.image.hash, size, span)
        parts.append(data)
        counts = {k: counts.get(k, 0) + v for k, v in n.items()}
    return VerifierData.concat(parts, size), counts


def fit_and_judge(held_with: Sequence, held_without: Sequence, seed: int) -> dict:
    """The card's map, metrics and on/off word from the held-back cuts' candidates with the combined
    score and with the finders' own (see the module docstring)."""
    from f2a_studio.detect.finders.score_fit import platt_fit

    out: dict = {}
    try:
        kept = after_nms(held_with)
        out[HELD_BACK_KEY] = card_points(kept.scores, kept.true)  # so f2a calibrate can pool them with decisions
        fit = platt_fit(kept.scores, kept.true, source="held-back cuts' candidates after the NMS")
        out["calibration"] = {**fit.to_json(), "fitted_on": "held-back cuts' candidates after the NMS (IoU 0.3)"}
    except F2AError as exc:  # too few of a kind, or a score that ranks the wrong way
        out["calibration_note"] = str(exc)
    without, with_ = ranked(held_without), ranked(held_with)
    p_worse = worse_share(held_with, held_without, seed=seed)
    out["metrics_iou_0.3"] = {"held_back_without": without, "held_back_with": with_, "worse_share": round(p_worse, 3)}
    helped = with_["faces"] > 0 and p_worse < OFF_WHEN_WORSE
    out["on_by_default"] = bool(helped and "calibration" in out)
    out["on_by_default_why"] = (
        "no score map: " + out["calibration_note"] if "calibration" not in out
        else f"held-back average precision {without['average_precision']:.3f} without, "
             f"{with_['average_precision']:.3f} with the verifier (lower on {p_worse:.0%} of resamples of "
             f"the held-back cuts)" + ("" if helped else ": it hurt, so it is off"))
    return out


def held_back_scores(verifier, store: ProjectStore, held_cuts: Sequence, search_path: Sequence[Path]):
    """Per held-back cut, (candidates, faces) three ways: the finders' own scores; the combined score on
    the finders' boxes, judged there; the boxes the verifier moved, with the combined score ``verify``
    gives them (judged again on the moved box when the verifier ``rejudges``)."""
    without, still, refined = [], [], []
    for cut, px, found in held_back_candidates(store, held_cuts, search_path):
        v = verifier.verify(px, found) if found else None
        without.append((found, cut.faces))
        if v is None:
            still.append(([], cut.faces))
            refined.append(([], cut.faces))
            continue
        kept = [verifier.combine(float(p), c[4]) for c, p in zip(found, v.p_given, strict=True)]
        moved = [verifier.combine(float(p), c[4]) for c, p in zip(found, v.p_face, strict=True)]
        still.append(([(*c[:4], s) for c, s in zip(found, kept, strict=True)], cut.faces))
        refined.append(([(*map(float, b), s) for b, s in zip(v.boxes, moved, strict=True)], cut.faces))
    return without, still, refined


def refine_word(refined: Sequence, still: Sequence, box_head: bool, seed: int) -> dict:
    """The card's "refine": whether the analysis moves boxes where the box head says. On unless moving
    them clearly did worse on the held-back cuts (the same bootstrap rule as the verifier's on/off)."""
    if not box_head:
        return {"refine": False, "refine_why": "the network has no box head"}
    a, b = ranked(still), ranked(refined)
    p_worse = worse_share(refined, still, seed=seed)
    on = b["faces"] > 0 and p_worse < OFF_WHEN_WORSE
    return {"refine": bool(on), "refine_metrics_iou_0.3": {"held_back_boxes_kept": a, "held_back_boxes_moved": b,
                                                          "worse_share": round(p_worse, 3)},
            "refine_why": f"held-back average precision {a['average_precision']:.3f} on the finders' boxes, "
                          f"{b['average_precision']:.3f} on the moved ones (lower on {p_worse:.0%} of resamples)"
                          + ("" if on else ": moving them hurt, so they stay")}


def train_project_verifier(store: ProjectStore, train_cuts: Sequence, held_cuts: Sequence, finder,
                           search_path: Sequence[Path], finder_sha256: str, out: Path,
                           options: VerifierOptions = VerifierOptions(), progress: Progress | None = None,
                           should_stop: Callable[[], bool] | None = None) -> dict:
    """Train, fit, measure and write PROJECT/checkpoints/verifier-learned.*; returns a summary for the
    finder's card ({"trained": False, "why": ...} when it cannot be trained, old files removed then, since
    an old verifier was fitted on another finder's scores)."""
    import torch

    from f2a_studio.detect.cropnet import model_paths, save_model
    from f2a_studio.detect.small_train import resume_path
    from f2a_studio.detect.verifiers.learned import LearnedVerifier
    from f2a_studio.detect.verifiers.net import VerifierNet, VerifierNetConfig
    from f2a_studio.detect.verifiers.pretrain import load_init

    def skipped(why: str) -> dict:
        removed = _remove_old(out)
        return {"trained": False, "why": why + ("; the old verifier was removed" if removed else "")}

    if not options.enabled:
        return skipped("turned off")
    net_cfg = VerifierNetConfig()
    data, counts = training_data(store, train_cuts, finder, net_cfg.size, net_cfg.span)
    if data.others < MIN_OTHERS:
        return skipped(f"{data.others} non-face boxes on the training cuts; the verifier needs at least {MIN_OTHERS}")
    cfg = VerifierTrainConfig(steps=options.steps or VerifierTrainConfig.steps, seed=options.seed)
    torch.manual_seed(options.seed)
    net = VerifierNet(net_cfg)
    init = load_init(net, search_path)  # the synthetic head start (verifiers/pretrain.py), random without it
    t0 = time.monotonic()
    result = train_verifier(net, data, cfg, resume=resume_path(out, STEM), progress=progress,
                            should_stop=should_stop)
    if result.interrupted:
        return {"trained": False, "interrupted": True, "steps_done": result.steps_done, "steps": cfg.steps}
    seconds = time.monotonic() - t0
    verifier = LearnedVerifier(out)
    verifier.net, verifier.card = net.eval(), {"rejudge": True, **VIEWS}  # the map is fitted on these answers
    held_without, held_still, held_refined = held_back_scores(verifier, store, held_cuts, search_path)
    refine = refine_word(held_refined, held_still, net_cfg.box_head, options.seed)
    held_with = held_refined if refine["refine"] else held_still
    card = {
        "name": "learned",
        "net": net_cfg.to_json(),
        "license": "Apache-2.0",
        "intended_use": f"re-scoring face candidates of project {store.root.name} before the NMS",
        "combine": f"verifier_p^{P_WEIGHT} * calibrated score^{1 - P_WEIGHT:.1f}, then 'calibration'",
        "p_weight": P_WEIGHT,
        "finder_sha256": finder_sha256,
        "data": {"train_cuts": len(train_cuts), "faces": data.faces, "others": data.others, **counts,
                 "held_back_cuts": len(held_cuts)},
        "train": cfg.to_json() | {"seconds": round(seconds, 1), "resumed_from": result.resumed_from, **init},
        **fit_and_judge(held_with, held_without, options.seed),
        **refine,
        "rejudge": refine["refine"],  # a moved box is judged again from its own crop (learned.verify)
        **VIEWS,
    }
    save_model(out, STEM, net.state_dict(), card)
    return {"trained": True, "on_by_default": card["on_by_default"], "why": card["on_by_default_why"],
            "refine": card["refine"], "refine_why": card["refine_why"],
            "metrics_iou_0.3": card["metrics_iou_0.3"], "seconds": card["train"]["seconds"],
            "files": [str(p) for p in model_paths(out, STEM)]}
