"""Does the crop verifier (detect/verifiers/, trained by `f2a train-finder`) rank real faces better than the
finders' scores, and does its map keep the one threshold meaningful?

    python -m benchmarks.verifier_devset [--fold 1 --fold 2] [--steps N] [--init shipped|random|FOLDER] [--out FILE]
        [--variants ROW ...] [--shown FILE] [--candidates FILE]

On real pages the candidates are there (the learned finder reaches ~0.75 of the devset faces at raw 0.05)
but their scores do not tell faces from false alarms (finder_devset_merged: recall 0.31/0.35 at precision
0.85). The verifier looks at each candidate's crop and re-scores it before the NMS:
``map(p_face^0.7 · score^0.3)`` (verifiers/learned.P_WEIGHT).

Per fold (finder_devset's split), as finder_devset_merged does: the learned finder fine-tuned on the
training half less a held-back fifth (hard negatives on), its raw-score map fitted on that fifth,
animeface's map on the whole training half. The verifier is the product's own code (verifiers/train.py,
verifiers/project.py), trained on the same fine-tuning part and mapped on the same fifth. Rows, at the
default threshold 0.3, at 0.5 and at the oracle threshold for precision 0.85 (only the ranking matters
there):

* ``merged``: the two finders' calibrated scores merged by NMS (finder_devset_merged's row);
Every verifier row's boxes go through the NMS and then box voting, as the analysis does with a verifier
(nms.voted_boxes; from 7 December 2026, recall at precision 0.85 0.654 → 0.663 over 10 runs); ``merged``
(no verifier) through the NMS alone.

* ``verifier``: what ``f2a train-finder`` would build from a project of these pictures: the training cuts'
  boxes, the new finder's proposals, and as "rejected" the animeface candidates a default run would have
  stored (calibrated ≥ 0.3) that match no box; its map (Platt) from every candidate of both finders on
  the held-back fifth that the NMS keeps;
* ``verifier_no_refine``: the same net with its box head unused (boxes stay where the finders put them);
  ``verifier_one_pass``: boxes moved but scored from the finder's box's crop (the product judges a moved
  box again from its own crop, verifiers/learned.LearnedVerifier.verify; one pass was its rule until
  session 12);
* ``verifier_all_candidates``: the same, trained also on every animeface candidate (below the threshold
  too: what session 7's first measurement did);
* ``verifier_mirror``: each crop also judged mirrored, the two answers averaged (card "mirror");
  ``verifier_views``: and P also judged on crops zoomed out and in by 15 % (card "zooms");
  ``verifier_views_wide``: four zooms, 0.8-1.25; ``verifier_views_shifts``: two zooms and four crops
  shifted 7 % of the box side (card "shifts"); ``verifier_views_p55`` / ``_p85``, ``verifier_mirror_p85``:
  p_face's exponent in the combined score 0.55 / 0.85 instead of 0.7 (card "p_weight");
  ``verifier_views_f05`` / ``_f15``: the zoomed views only for boxes whose plain P is ≥ 0.05 / 0.15
  (card "views_floor");
* ``held_back_gate``: the held-back fifth's average precision with and without the verifier, which
  decides the card's "on_by_default"; ``reliability``: the shown boxes of each row binned by score, mean
  score against the share that are faces (a calibrated 0.5 is half faces).

Session 7's first measurement (its own copy of the training, the landmark model's backbone), recall at
precision 0.85, fold 1 / fold 2: merged 0.333 / 0.336, verifier × score 0.344 / 0.457, the same from random
weights 0.366 / 0.422. Without the pictures: {"skipped": ...}.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from copy import copy
from pathlib import Path

from benchmarks.finder_devset import (
    DEFAULT_THRESHOLD,
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
from benchmarks.finder_devset_merged import fit_map, held_back, mapped, merge, rows_at
from f2a_studio.core.models import Box


def animeface_stored(units: Sequence[Unit], anime_mapped: Sequence[Preds], threshold: float = DEFAULT_THRESHOLD
                     ) -> list[Preds]:
    """The animeface candidates a default detection run would have stored (calibrated score ≥ 0.3)."""
    return [[p for p in _drop_ignored(preds, u) if p[4] >= threshold] for u, preds in zip(units, anime_mapped,
                                                                                          strict=True)]


def verifier_data(units: Sequence[Unit], learned_raw: Sequence[Preds], stored: Sequence[Preds],
                  extra: Sequence[Preds] | None = None):
    """The product's training data (verifiers/project.cut_data) for each unit: its boxes, the new finder's
    proposals, the stored animeface detections that match no box as rejected ones (those that do are the
    accepted boxes themselves), and ``extra`` proposals when given."""
    from f2a_studio.detect.verifiers.net import VerifierNetConfig
    from f2a_studio.detect.verifiers.project import _matches, cut_data
    from f2a_studio.detect.verifiers.train import VerifierData

    size, span = VerifierNetConfig().size, VerifierNetConfig().span
    parts, counts = [], {}
    for i, u in enumerate(units):
        faces = u.boxes.tolist()
        rejected = [p[:4] for p in stored[i] if not _matches(p, faces)]
        proposals = _drop_ignored(learned_raw[i], u) + (_drop_ignored(extra[i], u) if extra is not None else [])
        data, n = cut_data(u.pixels, faces, rejected, proposals, u.name, size, span)
        parts.append(data)
        counts = {k: counts.get(k, 0) + v for k, v in n.items()}
    return VerifierData.concat(parts, size), counts


def train(data, steps: int, seed: int, init: str = "shipped", options: dict | None = None):
    """The product's verifier trained on ``data`` as train-finder trains it; ``init``: "shipped" (the
    pretrained verifier on the model search path, verifiers/pretrain.py), "random", or a folder holding
    verifier-pretrained.*; ``options``: VerifierTrainConfig fields other than the product's. Returns the
    verifier, its training seconds and what it started from (pretrain.load_init's answer)."""
    import torch

    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.verifiers.learned import LearnedVerifier
    from f2a_studio.detect.verifiers.net import VerifierNet
    from f2a_studio.detect.verifiers.pretrain import load_init
    from f2a_studio.detect.verifiers.train import VerifierTrainConfig, train_verifier

    torch.manual_seed(seed)
    net = VerifierNet()
    started = {"init": "random"} if init == "random" else \
        load_init(net, model_search_path() if init == "shipped" else [Path(init)])
    t = time.perf_counter()
    train_verifier(net, data, VerifierTrainConfig(**({"steps": steps, "seed": seed} | (options or {}))))
    verifier = LearnedVerifier(Path("."))
    verifier.net = net.eval()
    return verifier, round(time.perf_counter() - t, 1), started


def candidates(units: Sequence[Unit], *per_finder: Sequence[Preds]) -> list[Preds]:
    return [[p for preds in per_unit for p in _drop_ignored(preds, u)]
            for u, per_unit in zip(units, zip(*per_finder, strict=True), strict=True)]


def mixed(verifier, units: Sequence[Unit], cands: Sequence[Preds], detail: bool = False) -> list[Preds]:
    """Each candidate's score replaced by the verifier's combine(p_face, score) (before the map), its box by the refined
    one when the verifier refines (P judged again there when its card says "rejudge"). ``detail``: each tuple also
    ends with p_face and the finder's score (for ``--candidates``)."""
    out = []
    for u, c in zip(units, cands, strict=True):
        if not c:
            out.append([])
            continue
        v = verifier.verify(u.pixels, c)
        out.append([(*map(float, box), verifier.combine(float(pi), b[4]), *((float(pi), b[4]) if detail else ()))
                    for b, box, pi in zip(c, v.boxes, v.p_face, strict=True)])
    return out


def candidate_rows(units: Sequence[Unit], detailed: Sequence[Preds], n_anime: Sequence[int], verifier) -> list[list]:
    """Every candidate as the verifier leaves it, before the NMS, for analysis outside the benchmark
    (``--candidates FILE``): [unit, finder, x, y, w, h, finder score, p_face, combined, mapped, hits a face at
    IoU 0.3]."""
    rows = []
    for u, preds, n in zip(units, detailed, n_anime, strict=True):
        faces = [Box(*f[:4]) for f in u.boxes.tolist()]
        for i, q in enumerate(preds):
            box = Box(*q[:4])
            rows.append([u.name, "animeface" if i < n else "learned", *(round(v, 1) for v in q[:4]),
                         round(q[6], 5), round(q[5], 5), round(q[4], 5), round(verifier.calibration(q[4]), 5),
                         any(box.iou(f) >= 0.3 for f in faces)])
    return rows


def carded(verifier, card: dict):
    """A copy of a trained verifier reading ``card`` as a loaded card's (views, refine, p_weight)."""
    out = copy(verifier)
    out.card = card
    out.p_weight = card.get("p_weight", verifier.p_weight)
    return out


def with_map(verifier, held: Sequence[Unit], held_cands: Sequence[Preds]):
    """The card's map as train-finder fits it: Platt on the held-back candidates the NMS keeps (the card
    keeps those points too, for `f2a calibrate`)."""
    from f2a_studio.detect.finders.score_fit import platt_fit
    from f2a_studio.detect.verifiers.project import after_nms
    from f2a_studio.detect.verifiers.recalibrate import HELD_BACK_KEY, card_points

    kept = after_nms([(c, u.boxes.tolist()) for u, c in zip(held, mixed(verifier, held, held_cands), strict=True)])
    verifier.calibration = platt_fit(kept.scores, kept.true, source="held-back fifth").calibration
    verifier.card = verifier.card | {HELD_BACK_KEY: card_points(kept.scores, kept.true)}
    return verifier


def moved_mapped(verifier, units: Sequence[Unit], cands: Sequence[Preds]) -> list[Preds]:
    """The candidates as the verifier leaves them (moved, re-scored and mapped), before the NMS."""
    return through_map(verifier, mixed(verifier, units, cands))


def through_map(verifier, combined: Sequence[Preds]) -> list[Preds]:
    """``mixed``'s candidates with their combined score through the verifier's map."""
    return [[(*p[:4], verifier.calibration(p[4])) for p in preds] for preds in combined]


def review_halves(units: Sequence[Unit]) -> tuple[list[int], list[int]]:
    """The scored units in two halves, alternating in the order of their names' hashes (fixed per unit)."""
    order = sorted(range(len(units)), key=lambda i: hashlib.sha256(units[i].name.encode()).hexdigest())
    return order[::2], order[1::2]


def recalibrated(verifier, units: Sequence[Unit], combined: Sequence[Preds]) -> dict:
    """`f2a calibrate` after a first review, simulated: an annotator reviews one half of the scored units
    (every box shown at the default threshold accepted when it matches a face, rejected otherwise), the
    verifier's map is refitted on those decisions and the card's held-back points
    (verifiers/recalibrate.fit_verifier_map), and the other half is scored with the card's map and with the
    refitted one; then the halves swap. What matters is the fixed slider: does 0.5 keep its meaning?
    ``combined``: the candidates as ``mixed`` leaves them (moved, combined score before the map)."""
    from f2a_studio.core.errors import F2AError
    from f2a_studio.detect.verifiers.recalibrate import Points, fit_verifier_map, held_back_points

    held = held_back_points(verifier.card)
    both = merged_voted([[(*p[:4], verifier.calibration(p[4]), p[4]) for p in preds]
                  for preds in combined])  # the mapped score, and the combined one before it
    halves, out = review_halves(units), []
    for reviewed, scored in (halves, halves[::-1]):
        decided = Points([], [])
        for _faces, shown, _taken in shown_matches([units[i] for i in reviewed], [both[i] for i in reviewed],
                                                    DEFAULT_THRESHOLD):
            for q, _iou, _best, face in shown:
                decided.scores.append(float(q[5]))
                decided.faces.append(face >= 0)
        part = [units[i] for i in scored]
        half = {"reviewed_units": len(reviewed), "decisions": {"accepted": decided.positives,
                                                               "rejected": decided.negatives},
                "card": rows_brief(part, [[q[:5] for q in both[i]] for i in scored])}
        try:
            fit = fit_verifier_map(held, decided, "simulated review").calibration
        except F2AError as exc:
            out.append(half | {"refit_error": str(exc)})
            continue
        out.append(half | {"refitted": rows_brief(part, [[(*q[:4], fit(q[5])) for q in both[i]] for i in scored])})
    done = [h for h in out if "refitted" in h]
    mean = {way: {at: {k: round(sum(h[way][at][k] for h in done) / len(done), 4) for k in ("recall", "precision")}
                  for at in ("at_0.3", "at_0.5", "oracle_p85")} for way in ("card", "refitted")} if done else {}
    return {"halves": out, "mean_of_halves": mean}


def rows_brief(units: Sequence[Unit], preds: Sequence[Preds]) -> dict:
    r = rows_at(units, preds)
    return {"at_0.3": score(units, preds, DEFAULT_THRESHOLD)["overall"]["default"], "at_0.5": r["at_0.5"],
            "oracle_p85": r["oracle_p85"], "threshold_oracle_p85": r["threshold_oracle_p85"]}


def rescored(verifier, units: Sequence[Unit], cands: Sequence[Preds]) -> list[Preds]:
    return merged_voted(moved_mapped(verifier, units, cands))


def merged_voted(per_unit: Sequence[Preds]) -> list[Preds]:
    """The NMS, then each kept box placed by the candidates' vote, as the analysis does with a verifier
    (analyze.voted)."""
    from f2a_studio.detect.nms import voted_boxes

    out = []
    for preds, kept in zip(per_unit, merge(per_unit), strict=True):
        boxes = voted_boxes(kept, preds, lambda p: Box(*p[:4]), lambda p: p[4])
        out.append([(*b.to_list(), *k[4:]) for b, k in zip(boxes, kept, strict=True)])
    return out


def reliability(units: Sequence[Unit], preds: Sequence[Preds]) -> list[dict]:
    """Shown boxes binned by score: mean score against the share that are faces (does 0.5 mean half?)."""
    import numpy as np

    from f2a_studio.detect.verifiers.project import after_nms

    kept = after_nms([(p, u.boxes.tolist()) for u, p in zip(units, preds, strict=True)])
    bins = np.digitize(kept.scores, [0.1, 0.3, 0.5, 0.7, 0.9])
    return [{"mean_score": round(float(kept.scores[bins == k].mean()), 3),
             "faces_share": round(float(kept.true[bins == k].mean()), 3), "boxes": int((bins == k).sum())}
            for k in range(6) if (bins == k).any()]


def rows(units: Sequence[Unit], preds: Sequence[Preds]) -> dict:
    out = rows_at(units, preds) | {"at_0.3": score(units, preds, DEFAULT_THRESHOLD)["overall"]["default"]}
    return out | {"hits_iou": hits_iou(units, preds, out["threshold_oracle_p85"])}


def shown_matches(units: Sequence[Unit], preds: Sequence[Preds], threshold: float):
    """For each unit, its shown boxes at ``threshold`` matched to its faces as the scores do (best score first,
    one box per face, IoU ≥ 0.3): (faces, [(box, IoU with the best free face, best IoU with any face, the face
    taken or -1)], the taken faces' indices)."""
    for u, p in zip(units, preds, strict=True):
        faces, taken, shown = [Box(*f[:4]) for f in u.boxes.tolist()], set(), []
        for q in sorted(_drop_ignored(p, u), key=lambda q: -q[4]):
            if q[4] < threshold:
                break
            ious = [Box(*q[:4]).iou(f) for f in faces]
            best = max(((v, i) for i, v in enumerate(ious) if i not in taken), default=(0.0, -1))
            face = best[1] if best[0] >= 0.3 else -1
            if face >= 0:
                taken.add(face)
            shown.append((q, best[0], max(ious, default=0.0), face))
        yield faces, shown, taken


def hits_iou(units: Sequence[Unit], preds: Sequence[Preds], threshold: float) -> dict:
    """How well the shown boxes that hit a face (IoU ≥ 0.3, best score first, one box per face) fit it, at
    ``threshold``: mean IoU and the share at IoU ≥ 0.5 (what box refinement should raise)."""
    import numpy as np

    ious = [iou for _f, shown, _t in shown_matches(units, preds, threshold) for _q, iou, _m, face in shown
            if face >= 0]
    return {"hits": len(ious), "mean_iou": round(float(np.mean(ious)), 4) if ious else None,
            "share_iou_0.5": round(float(np.mean(np.greater_equal(ious, 0.5))), 4) if ious else None}


def errors(units: Sequence[Unit], preds: Sequence[Preds], cands: Sequence[Preds], threshold: float,
           moved: Sequence[Preds] | None = None) -> dict:
    """What the shown boxes at ``threshold`` get wrong: each false alarm (best score first, one box per face
    at IoU 0.3) as ``near_miss`` (IoU 0.1-0.3 with a face), ``duplicate`` (on a face another box already
    hit) or ``background``; each missed face by whether any candidate before the verifier reached it, and
    (``missed_by``) by the picture's kind and the face's short side in pixels (<32, 32-64, 64-128, >=128).
    With ``moved`` (the candidates as the verifier left them, before the NMS), each missed face that had a
    candidate also by where it was lost (``lost_at``): ``refine`` (no moved box reaches it), ``nms`` (one
    did, the NMS kept none) or ``rank`` (a shown box reaches it, below the threshold); those lost at the NMS
    by the rule that dropped the face's best box and what the box that dropped it is (``lost_at_nms_to``)."""
    out: dict = {"hits": 0, "near_miss": 0, "duplicate": 0, "background": 0, "missed_with_candidate": 0,
                 "missed_without_candidate": 0}
    by: dict = {}
    lost: dict = {}
    nms_to: dict = {}
    matched = shown_matches(units, preds, threshold)
    everything = shown_matches(units, preds, float("-inf"))  # every box the NMS kept, at any score
    for k, (u, c, (faces, shown, taken), (_f, every_shown, _t)) in enumerate(
            zip(units, cands, matched, everything, strict=True)):
        for _q, _iou, most, face in shown:
            kind = "hits" if face >= 0 else "duplicate" if most >= 0.3 else "near_miss" if most >= 0.1 \
                else "background"
            out[kind] += 1
        for i, f in enumerate(faces):
            side = min(f.w, f.h)
            size = "<32" if side < 32 else "32-64" if side < 64 else "64-128" if side < 128 else ">=128"
            for key in (f"kind {u.kind}", f"side {size}"):
                row = by.setdefault(key, {"faces": 0, "missed": 0})
                row["faces"] += 1
                row["missed"] += i not in taken
            if i in taken:
                continue
            reached = any(Box(*q[:4]).iou(f) >= 0.3 for q in c)
            out["missed_with_candidate" if reached else "missed_without_candidate"] += 1
            if reached and moved is not None:
                where = "rank" if any(Box(*q[:4]).iou(f) >= 0.3 for q, *_ in every_shown) else \
                    "nms" if any(Box(*q[:4]).iou(f) >= 0.3 for q in moved[k]) else "refine"
                lost[where] = lost.get(where, 0) + 1
                if where == "nms":
                    why = nms_loss(f, moved[k], [q for q, *_ in every_shown], faces)
                    nms_to[why] = nms_to.get(why, 0) + 1
    return out | ({"lost_at": lost, "lost_at_nms_to": nms_to} if moved is not None else {}) | \
        {"missed_by": dict(sorted(by.items()))}


def nms_loss(face: Box, moved: Preds, shown: Preds, faces: Sequence[Box]) -> str:
    """Why the NMS dropped the best box reaching ``face`` (IoU ≥ 0.3): "<rule> by <what>", the rule
    (``iou``, ``inside``: the same face; ``part``: a part of a much larger box) and the box that dropped it
    (``a hit on another face``, ``a box on this face`` (one that misses it at IoU 0.3) or ``a false box``)."""
    from f2a_studio.detect.nms import part_of, same_face

    best = max((q for q in moved if Box(*q[:4]).iou(face) >= 0.3), key=lambda q: q[4])
    b = Box(*best[:4])
    for q in sorted((q for q in shown if q[4] >= best[4]), key=lambda q: -q[4]):
        k = Box(*q[:4])
        rule = "iou" if same_face(b, k, inside=1.01) else "inside" if same_face(b, k) else "part" if part_of(b, k) \
            else None
        if rule:
            other = max(faces, key=lambda f: k.iou(f))
            what = "a box on this face" if k.iou(face) >= 0.1 and other is face else \
                "a hit on another face" if k.iou(other) >= 0.3 else "a false box"
            return f"{rule} by {what}"
    return "unknown"


def unit_facts(units: Sequence[Unit]) -> list[dict]:
    """Each unit's name, kind, title, face count and whether it is grey (manga pages): ``--shown``'s key."""
    import numpy as np

    return [{"unit": u.name, "kind": u.kind, "title": u.title, "faces": len(u.boxes),
             "grey": bool(np.abs(u.pixels.astype(np.int16) - u.pixels.mean(axis=2, keepdims=True)).mean() < 4)}
            for u in units]


def shown_boxes(units: Sequence[Unit], preds: Sequence[Preds]) -> list[list]:
    """Every box shown at any threshold as [unit name, score, hits a face, x, y, w, h], for analysis outside
    the benchmark (``--shown FILE``)."""
    return [[u.name, round(q[4], 5), face >= 0, *(round(float(v), 1) for v in q[:4])]
            for u, (_faces, shown, _t) in zip(units, shown_matches(units, preds, 0.0), strict=True)
            for q, _iou, _m, face in shown]


def gate(verifier, held: Sequence[Unit], held_cands: Sequence[Preds]) -> dict:
    from f2a_studio.detect.verifiers.project import ranked, worse_share

    without = [(c, u.boxes.tolist()) for u, c in zip(held, held_cands, strict=True)]
    with_ = [(c, u.boxes.tolist()) for u, c in zip(held, mixed(verifier, held, held_cands), strict=True)]
    return {"without": ranked(without), "with": ranked(with_), "worse_share": worse_share(with_, without)}


def verifier_variants(anime_tune) -> dict:
    """Row name -> (extra training candidates or None, the verifier's card[, VerifierTrainConfig fields other
    than the product's]) for each verifier row."""
    product = {"refine": True, "rejudge": True}  # what train-finder's card says when moving boxes helped
    mirror = product | {"mirror": True}
    views = mirror | {"zooms": [0.87, 1.15]}
    return {"verifier": (None, product), "verifier_no_refine": (None, {"refine": False}),
            "verifier_one_pass": (None, {"refine": True, "rejudge": False}),
            "verifier_all_candidates": (anime_tune, product),
            "verifier_mirror": (None, mirror),
            "verifier_views": (None, views),
            "verifier_views_wide": (None, mirror | {"zooms": [0.8, 0.9, 1.1, 1.25]}),
            "verifier_views_shifts": (None, views | {"shifts": [[0.07, 0], [-0.07, 0], [0, 0.07], [0, -0.07]]}),
            "verifier_views_p55": (None, views | {"p_weight": 0.55}),
            "verifier_views_p85": (None, views | {"p_weight": 0.85}),
            "verifier_mirror_p85": (None, mirror | {"p_weight": 0.85}),
            "verifier_views_f05": (None, views | {"views_floor": 0.05}),
            "verifier_views_f15": (None, views | {"views_floor": 0.15}),
            # hard example mining (VerifierTrainConfig.mine_*): the product mines the others (x3) since 2026-12-07
            "verifier_views_no_mining": (None, views, {"mine_others": 1.0}),
            "verifier_views_mine_both": (None, views, {"mine_faces": 2.0}),
            # fixed training steps (the product's default was 400 until 7 December, now 1600), and half the
            # learning rate (a fine-tuning from a pretrained start)
            "verifier_views_steps400": (None, views, {"steps": 400}),
            "verifier_views_steps800": (None, views, {"steps": 800}),
            "verifier_views_steps1600": (None, views, {"steps": 1600}),
            "verifier_views_steps3200": (None, views, {"steps": 3200}),
            "verifier_views_lr05": (None, views, {"lr": 5e-4}),
            # the moving average of the weights kept instead of the last step's (small_train's ema)
            "verifier_views_ema998": (None, views, {"ema": 0.998}),
            # the head's input cells dropped while training (VerifierTrainConfig.dropout)
            "verifier_views_dropout3": (None, views, {"dropout": 0.3}),
            # half the training crops grey instead of 15 % (manga: half the scored faces, half of them missed)
            "verifier_views_grey50": (None, views, {"grey": 0.5}),
            "verifier_views_grey80": (None, views, {"grey": 0.8}),
            # 30 % of the training crops at a small face's resolution (VerifierTrainConfig.low_res; devset: worse)
            "verifier_views_lowres30": (None, views, {"low_res": 0.3}),
            # a moved box its own crop judges less likely a face goes back to the given box (card "keep_better")
            "verifier_views_keep_better": (None, views | {"keep_better": True}),
            # trained again with the first verifier's sure answers on the unreviewed (scored) pictures added
            "verifier_views_self": (None, views, {"self_train": {"faces": 0.7, "others": 0.1}})}


def pseudo_labelled(verifier, units: Sequence[Unit], cands: Sequence[Preds], faces_above: float,
                    others_below: float, others_per_unit: int = 30, seed: int = 0):
    """Self-training data from pictures nobody boxed: the boxes ``verifier`` (mapped) shows at
    ``faces_above`` or more as faces, up to ``others_per_unit`` of those below ``others_below`` as not."""
    import numpy as np

    from f2a_studio.detect.verifiers.net import VerifierNetConfig
    from f2a_studio.detect.verifiers.train import VerifierData, context_crops

    size, span = VerifierNetConfig().size, VerifierNetConfig().span
    rng = np.random.default_rng(seed)
    parts, n_faces, n_others = [], 0, 0
    for u, preds in zip(units, rescored(verifier, units, cands), strict=True):
        pos = [p[:4] for p in preds if p[4] >= faces_above]
        neg = [p[:4] for p in preds if p[4] < others_below]
        if len(neg) > others_per_unit:
            neg = [neg[i] for i in sorted(rng.choice(len(neg), others_per_unit, replace=False))]
        if pos or neg:
            parts.append(context_crops(u.pixels, pos + neg, [1.0] * len(pos) + [0.0] * len(neg), size, span))
        n_faces, n_others = n_faces + len(pos), n_others + len(neg)
    return VerifierData.concat(parts, size), {"pseudo_faces": n_faces, "pseudo_others": n_others}


def run(base_dir: Path, folds: Sequence[int] = (1, 2), seed: int = 2024, threads: int = 2,
        steps: int | None = None, init: str = "shipped", only: Sequence[str] = (), finder_plain: bool = False,
        shown: dict | None = None, dumped: dict | None = None) -> dict:
    """``steps``: the verifier's training steps, None for the product's (VerifierTrainConfig.steps); ``shown``:
    filled, when given, with each fold's units and every box each row shows on the held-back and scored units;
    ``dumped``: with the scored units' candidates before the NMS (candidate_rows)."""
    from dataclasses import replace

    import torch

    from f2a_studio.detect.finders.learned_project import TUNED_INFERENCE
    from f2a_studio.detect.verifiers.net import VerifierNetConfig
    from f2a_studio.detect.verifiers.train import VerifierData, VerifierTrainConfig

    steps = VerifierTrainConfig.steps if steps is None else steps

    unknown = sorted(set(only) - set(verifier_variants(None)))
    if unknown:
        raise SystemExit(f"--variants: no row named {', '.join(unknown)} (rows: {', '.join(verifier_variants(None))})")
    present = present_items()
    if isinstance(present, str):
        return {"skipped": present}
    torch.set_num_threads(threads)
    items, folder = present
    report: dict = {"model": str(base_dir), "pictures": len(items), "steps": steps,
                    "verifier_init": init, "finder_inference": {} if finder_plain else TUNED_INFERENCE, "folds": {}}
    for fold in folds:
        started = time.perf_counter()
        train_units, test_units = split(items, folder, fold)
        tune_units, held_units = held_back([u for u in train_units if len(u.boxes)])
        finder, _info = finetune(base_dir, tune_units, seed=seed, threads=threads, hard_negatives=True)
        if not finder_plain:  # as train-finder writes its card: every use of the finder below reads it so
            finder.inference = replace(finder.inference, **TUNED_INFERENCE)
        learned_map = fit_map(held_units, learned_preds(finder, held_units)[0], "learned, held-back fifth")
        anime_train = animeface_preds(train_units)
        anime_map = fit_map(train_units, anime_train, "animeface, training half").calibration
        by_name = {u.name: p for u, p in zip(train_units, anime_train, strict=True)}
        anime_tune = mapped([by_name[u.name] for u in tune_units], anime_map)
        learned_tune = learned_preds(finder, tune_units)[0]  # raw: cut_data labels them, scores unused
        held_cands = candidates(held_units, mapped(learned_preds(finder, held_units)[0], learned_map.calibration),
                                mapped([by_name[u.name] for u in held_units], anime_map))
        anime_test = mapped(animeface_preds(test_units), anime_map)
        test_cands = candidates(test_units, anime_test,
                                mapped(learned_preds(finder, test_units)[0], learned_map.calibration))
        n_anime = [len(_drop_ignored(a, u)) for a, u in zip(anime_test, test_units, strict=True)]
        merged = merge(test_cands)
        result = {"merged": rows(test_units, merged)}
        mistakes = {"merged": errors(test_units, merged, test_cands, result["merged"]["threshold_oracle_p85"],
                                     test_cands)}
        calibration = {"merged": reliability(test_units, merged)}
        train_s, data_counts, gates, cost, recal = {}, {}, {}, {}, {}
        mp = sum(u.pixels.shape[0] * u.pixels.shape[1] for u in test_units) / 1e6
        variants = verifier_variants(anime_tune)
        trained: dict = {}
        datasets: dict = {}
        for name, (extra, card, *options) in variants.items():
            if only and name not in only:
                continue
            options = dict(options[0]) if options else {}
            self_train = options.pop("self_train", None)
            key = (id(extra), json.dumps(options, sort_keys=True))
            if id(extra) not in datasets:
                datasets[id(extra)] = verifier_data(tune_units, learned_tune,
                                                    animeface_stored(tune_units, anime_tune), extra)
            if key not in trained:
                data, counts = datasets[id(extra)]
                trained[key] = (train(data, steps, seed, init, options), data, counts)
            (net, train_s[name], init_used), data, counts = trained[key]
            if self_train:
                first = with_map(carded(net, card), held_units, held_cands)
                pseudo, pseudo_counts = pseudo_labelled(first, test_units, test_cands, self_train["faces"],
                                                        self_train["others"], seed=seed)
                data = VerifierData.concat([data, pseudo], VerifierNetConfig().size)
                net, train_s[name], init_used = train(data, steps, seed, init, options)
                counts = counts | pseudo_counts
            verifier = with_map(carded(net, card), held_units, held_cands)
            t = time.perf_counter()
            combined = mixed(verifier, test_units, test_cands, detail=dumped is not None)
            moved = through_map(verifier, combined)
            preds = merged_voted(moved)
            cost[name] = round((time.perf_counter() - t) / mp, 4)
            result[name] = rows(test_units, preds)
            mistakes[name] = errors(test_units, preds, test_cands, result[name]["threshold_oracle_p85"], moved)
            if shown is not None:
                fold_shown = shown.setdefault(str(fold), {"units": unit_facts(held_units + test_units), "rows": {}})
                fold_shown["rows"][name] = {"held": shown_boxes(held_units, rescored(verifier, held_units, held_cands)),
                                            "test": shown_boxes(test_units, preds)}
            calibration[name] = reliability(test_units, preds)
            if dumped is not None:
                fold_dump = dumped.setdefault(str(fold), {
                    "units": [f | {"boxes": u.boxes.tolist(), "ignore": [list(map(float, b)) for b in u.ignore]}
                              for f, u in zip(unit_facts(test_units), test_units, strict=True)], "rows": {}})
                fold_dump["rows"][name] = candidate_rows(test_units, combined, n_anime, verifier)
            recal[name] = recalibrated(verifier, test_units, combined)
            data_counts[name] = counts | {"faces": data.faces, "others": data.others}
            gates[name] = gate(verifier, held_units, held_cands)
        for name, row in result.items():
            _note(f"fold{fold}_{name}", {k: row[k] for k in ("at_0.3", "at_0.5", "oracle_p85")})
        report["folds"][str(fold)] = {
            "faces_tune": int(sum(len(u.boxes) for u in tune_units)),
            "faces_held_back": int(sum(len(u.boxes) for u in held_units)),
            "faces_test": int(sum(len(u.boxes) for u in test_units)), "verifier_data": data_counts,
            "verifier_train_s": train_s, "verifier_init": init_used, "verifier_s_per_mp": cost,
            "candidates_per_mp": round(sum(map(len, test_cands)) / mp, 1), "held_back_gate": gates,
            "reliability": calibration, "recalibrated": recal, "errors_at_oracle_p85": mistakes,
            "fold_s": round(time.perf_counter() - started, 1),
            "rows": {k: {kk: v[kk] for kk in ("at_0.3", "at_0.5", "oracle_p85", "threshold_oracle_p85", "hits_iou")}
                     for k, v in result.items()}}
    return report


def main(argv: list[str] | None = None) -> None:
    ap = devset_arguments(__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=None,
                    help="verifier training steps (batches of 32; default the product's, VerifierTrainConfig.steps)")
    ap.add_argument("--init", default="shipped",
                    help="the verifier's starting weights: shipped (verifiers/pretrain.py), random, or a folder "
                         "with verifier-pretrained.*")
    ap.add_argument("--variants", nargs="+", default=(), metavar="ROW",
                    help="only these verifier rows (default: all), e.g. verifier verifier_mirror")
    ap.add_argument("--finder-plain", action="store_true",
                    help="the fine-tuned finder reads tiles plain, not as train-finder's card says (each tile and "
                         "its mirror, learned_project.TUNED_INFERENCE): the product before 2026-12-07")
    ap.add_argument("--shown", type=Path, default=None,
                    help="also write every box each row shows (held-back and scored units) to this JSON file")
    ap.add_argument("--candidates", type=Path, default=None,
                    help="also write every scored unit's candidates before the NMS (finder, score, p_face, "
                         "combined, mapped, hit) to this JSON file")
    args = ap.parse_args(argv)
    shown: dict | None = {} if args.shown else None
    dumped: dict | None = {} if args.candidates else None
    print_report(run(base_model(args), args.fold or [1, 2], args.seed, args.threads, args.steps, args.init,
                     args.variants, args.finder_plain, shown, dumped), args.out)
    if args.shown:
        args.shown.write_text(json.dumps(shown))
    if args.candidates:
        args.candidates.write_text(json.dumps(dumped))


if __name__ == "__main__":
    main(sys.argv[1:])
