"""Learning-from-corrections benchmark (issue 12), one run, JSON out.

    python -m benchmarks.learning_bench [--faces N] [--train N] [--out FILE]

Synthetic faces drawn in the style held out from pretraining (detect.synth_faces.HELD_OUT), fresh seeds:

* ``sex``: accuracy of the shipped classifier, and after training on ``--train`` confirmed faces of that
  style (detect.sex.train, the code ``f2a train-sex`` runs, from the shipped model);
* ``landmarks``: NME (eye-centre distance) of the template fit, the shipped learned model, the model
  adapted to the same ``--train`` faces' pictures without their points (detect/landmarks/adapt.py, as
  ``f2a train-landmarks`` adapts to a project's faces) and the model fine-tuned on ``--train`` corrected faces.
  All get what a detector gives: the true box moved and scaled by a few percent, and for the template the
  true parts scattered by 6% of the eye distance;
* ``face_size`` (the seed's complaint: landmark models draw big-eyed, mostly female, faces too large):
  jaw width / true − 1 (mean and mean |.|) per sex, for the project's default landmark path (the learned
  model, told the sex classifier's p(female) or told 0.5) and for the template fit (the classifier's prior or
  0.5). Two sets of held-out-style faces: ``as_drawn`` (the generator's own: its females have 1.3× wider
  eyes than its males, but the eye *centres* sit as far apart, so a fit by eye centres has nothing to
  over-size) and ``big_eyed`` (synth.variation.BIG_EYED: 85 % of the females and 10 % of the males with
  eyes 1.3× bigger growing outwards, their centres apart, the property behind the complaint). ``property``
  gives the eye-centre distance and eye width over the jaw width per sex, so the claim can be checked. The
  template gets its parts and box as animeface reports them (``_animeface_view``: the per-sex mean offsets
  and scatter of resources/detector_parts.json, which its fit is calibrated to), the learned model the
  jittered truth box it was trained on;
* ``queue``: faces count as right when their sex is right and their landmark NME < 0.1; reviewing a face
  makes it right. Corrections needed to reach 95 % right in the uncertainty order (core.review_queue, with
  the learned model's spread under box jitter, detect.disagreement; the learned-vs-template gap it replaced
  is reported beside it), in random order (mean of 5 shuffles) and lowest finder score first (every face
  here has the same score: that order is the id order), on ``--queue-seeds`` fresh sets of faces (per seed,
  and the ratio to random as mean and standard deviation over the seeds). ``queue_strict``: the same with
  "right" at NME < 0.03 (a model that gets 95 % of faces under 0.1 before review leaves nothing to order).
``devset``: the same landmark rows and the shipped sex classifier on REAL faces (benchmarks/landmarks_devset.py:
devset/points.json's hand-placed points, true boxes); skipped when the pictures are not there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import corrections_needed


def _detector_view(t, rng):
    from f2a_studio.core.models import Box, Parts

    p = t.points()
    iod = float(np.linalg.norm(p[36:42].mean(0) - p[42:48].mean(0)))
    x, y, w, h = t.box
    k = float(np.exp(rng.normal(0, 0.05)))
    dx, dy = rng.normal(0, 0.04, 2)
    box = Box(x + dx * w + (1 - k) * w / 2, y + dy * h + (1 - k) * h / 2, w * k, h * k)
    parts = {}
    for name, val in t.parts().items():
        d = rng.normal(0, 0.06 * iod, 2)
        parts[name] = [val[0] + d[0], val[1] + d[1], *val[2:]]
    return box, Parts.from_json(parts)


def _animeface_view(t, model, rng):
    """Box and parts as animeface reports them for this face: the template points each part stands for,
    moved by that sex's mean offset and scattered by its sigma (resources/detector_parts.json, measured by
    running animeface on synthetic faces), the box sized by ``box_side_per_width``. The template fit is
    calibrated to these; handing it the truth box (about 1.15 jaw widths where animeface's is 1.0-1.06) and
    truth parts (animeface reports the chin ~5 % of the jaw width high) would charge it for a convention."""
    from f2a_studio.core.models import Box, Parts
    from f2a_studio.detect.face_model import ANCHOR_POINTS

    sm = model.for_sex(t.sex)
    p = t.points()
    jaw = float(np.linalg.norm(p[16] - p[0]))
    le, re = p[36:42].mean(0), p[42:48].mean(0)
    a = float(np.arctan2(*(re - le)[::-1]))
    ux, uy = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])

    def off(name: str) -> np.ndarray:
        st = sm.anchors[name]
        return (st.dx * ux + st.dy * uy) * jaw + rng.normal(0, st.sigma * jaw, 2)

    true, parts = t.parts(), {}
    for name in ("left_eye", "right_eye", "mouth"):
        c = p[list(ANCHOR_POINTS[name])].mean(0) + off(name)
        w, h = true[name][2:]
        parts[name] = [c[0] - w / 2, c[1] - h / 2, w, h]
    for name in ("nose", "chin"):
        c = p[ANCHOR_POINTS[name][0]] + off(name)
        parts[name] = [c[0], c[1]]
    bc = sm.anchor_point("box_center")
    c = (le + re) / 2 + (bc[0] * ux + bc[1] * uy) * jaw + rng.normal(0, sm.anchors["box_center"].sigma * jaw, 2)
    side = jaw * sm.box_side_per_width * float(np.exp(rng.normal(0, sm.box_side_sigma)))
    return Box(c[0] - side / 2, c[1] - side / 2, side, side), Parts.from_json(parts)


def _proportions(faces) -> dict:
    """Per sex: eye-centre distance and mean eye width over the jaw width (the claim behind face_size)."""
    rows: dict[str, list] = {}
    for f in faces:
        p = f.truth.points()
        jaw = float(np.linalg.norm(p[16] - p[0]))
        dist = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
        width = float(np.linalg.norm(p[39] - p[36]) + np.linalg.norm(p[45] - p[42])) / 2
        rows.setdefault(f.truth.sex, []).append((dist / jaw, width / jaw))
    return {s: {"eye_distance_over_jaw": round(float(np.mean([r[0] for r in v])), 4),
                "eye_width_over_jaw": round(float(np.mean([r[1] for r in v])), 4)} for s, v in sorted(rows.items())}


def _face_size(seed: int, n: int, variation, sex_net, lm_net) -> dict:
    """Jaw-width error per sex for the learned model and the template fit, with and without the sex prior."""
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.learned import predict_points
    from f2a_studio.detect.landmarks.template_fit import fit_template
    from f2a_studio.detect.refit import sex_prior
    from f2a_studio.detect.sex.pretrain import synth_sex_data
    from f2a_studio.detect.sex.train import predict_p
    from f2a_studio.detect.synth_faces import HELD_OUT, synth_faces

    faces = synth_faces(seed, n, [HELD_OUT], variation=variation)
    p_clf = predict_p(sex_net, synth_sex_data(seed, n, [HELD_OUT], variation=variation).crops)
    model = load_face_model()
    rng = np.random.default_rng([seed, 31])
    err: dict = {}
    for f, p in zip(faces, p_clf, strict=True):
        truth = f.truth.points()
        jaw = float(np.linalg.norm(truth[16] - truth[0]))
        box, _ = _detector_view(f.truth, rng)
        abox, aparts = _animeface_view(f.truth, model, rng)
        prior = sex_prior(*_label(p))
        fits = {("learned", "prior"): predict_points(lm_net, f.image, box, prior)[0],
                ("learned", "no_prior"): predict_points(lm_net, f.image, box, 0.5)[0],
                ("template", "prior"): fit_template(model, abox, aparts, prior).points,
                ("template", "no_prior"): fit_template(model, abox, aparts, 0.5).points}
        for (path, key), pts in fits.items():
            e = float(np.linalg.norm(pts[16] - pts[0])) / jaw - 1
            err.setdefault(path, {}).setdefault(key, {}).setdefault(f.truth.sex, []).append(e)
    out: dict = {"faces": n, "sex_accuracy": round(float(np.mean([(p >= 0.5) == (f.truth.sex == "female")
                                                                    for p, f in zip(p_clf, faces, strict=True)])), 4),
                 "property": _proportions(faces)}
    for path, by_key in err.items():
        row: dict = {}
        for key, by_sex in by_key.items():
            row[key] = {sex: {"mean": round(float(np.mean(v)), 4), "abs": round(float(np.mean(np.abs(v))), 4)}
                        for sex, v in sorted(by_sex.items())}
            row[f"gap_{key}"] = round(row[key]["female"]["abs"] - row[key]["male"]["abs"], 4)
            row[f"gap_{key}_ci95"] = _gap_interval(by_sex["female"], by_sex["male"], seed)
        row["gap_ratio"] = round(abs(row["gap_prior"]) / abs(row["gap_no_prior"]), 3) if row["gap_no_prior"] else None
        out[path] = row
    return out


def _gap_interval(female: list[float], male: list[float], seed: int, n: int = 2000) -> list[float]:
    """95 % bootstrap interval of mean |female error| - mean |male error| (faces resampled within each sex):
    a gap whose interval holds 0 is not one the prior can be seen to halve."""
    rng = np.random.default_rng([seed, 97])
    f, m = np.abs(np.asarray(female)), np.abs(np.asarray(male))
    gaps = [f[rng.integers(len(f), size=len(f))].mean() - m[rng.integers(len(m), size=len(m))].mean()
            for _ in range(n)]
    return [round(float(v), 4) for v in np.percentile(gaps, [2.5, 97.5])]


STRICT_NME = 0.03  # queue_strict's "right" landmarks: about the shipped model's mean error on this style


def _queue(seed: int, n: int, sex_net, lm_net, right_nmes: Sequence[float] = (0.1,)) -> list[dict]:
    """Corrections to 95 % right for the orders, on one fresh set of held-out-style faces, one result per
    ``right_nmes`` (a face is right when its sex is and its landmark NME is below it); the faces are drawn
    and predicted once for all of them."""
    from f2a_studio.core.models import Face, Sex
    from f2a_studio.core.review_queue import review_order
    from f2a_studio.detect.disagreement import learned_spread, template_gap
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.learned import predict_points
    from f2a_studio.detect.landmarks.learned_train import nme
    from f2a_studio.detect.landmarks.template_fit import fit_template
    from f2a_studio.detect.refit import sex_prior
    from f2a_studio.detect.sex import apply_prediction
    from f2a_studio.detect.sex.pretrain import synth_sex_data
    from f2a_studio.detect.sex.train import predict_p
    from f2a_studio.detect.synth_faces import HELD_OUT, synth_faces

    test = synth_faces(seed, n, [HELD_OUT])
    p_clf = predict_p(sex_net, synth_sex_data(seed, n, [HELD_OUT]).crops)
    model = load_face_model()
    rng = np.random.default_rng(seed)
    faces, sex_right, errors, dis, dis_template = [], [], [], {}, {}
    for i, (f, p) in enumerate(zip(test, p_clf, strict=True)):
        box, parts = _detector_view(f.truth, rng)
        prior = sex_prior(*_label(p))
        pre = predict_points(lm_net, f.image, box, prior)[0]  # what a face gets: the first backend
        face = apply_prediction(Face(1, box, id=i + 1, score=0.9, parts=parts), _pred(p))
        faces.append(face)
        dis_template[i + 1] = template_gap(pre, fit_template(model, box, parts, prior).points)
        dis[i + 1] = learned_spread(lm_net, f.image, box, prior, pre)
        sex_right.append(face.sex is Sex(f.truth.sex))
        errors.append(nme(pre, f.truth.points()))

    def queue_of(signal: dict) -> list[int]:
        q = [it.face_id - 1 for it in review_order(faces, signal)]
        return q + [i for i in range(len(faces)) if i not in set(q)]

    shuffles = [list(np.random.default_rng([seed, k]).permutation(len(faces))) for k in range(5)]
    by_score = [i for _, i in sorted((f.score, i) for i, f in enumerate(faces))]
    queue, queue_template = queue_of(dis), queue_of(dis_template)
    out = []
    for right_nme in right_nmes:
        right = np.array(sex_right) & (np.array(errors) < right_nme)
        rnd = float(np.mean([corrections_needed(right, order) for order in shuffles]))
        ideal = [i for i in range(len(faces)) if not right[i]]
        q, qt = corrections_needed(right, queue), corrections_needed(right, queue_template)
        out.append({"seed": seed, "right_before_review": round(float(right.mean()), 4), "uncertainty_queue": q,
                    "uncertainty_queue_template_gap": qt, "random_mean_of_5": rnd,
                    "lowest_score_first": corrections_needed(right, by_score),
                    "oracle": corrections_needed(right, ideal), "ratio_to_random": round(q / max(1.0, rnd), 3),
                    "template_gap_ratio_to_random": round(qt / max(1.0, rnd), 3)})
    return out


def _spread_of(rows: list[dict], key: str) -> dict:
    """Mean, std, min and max of ``key`` over the seeds whose faces were not already 95 % right (there every
    order needs 0 corrections and the ratio says nothing; they are counted apart)."""
    v = [r[key] for r in rows if r["random_mean_of_5"] > 0]
    if not v:
        return {"seeds": 0, "already_at_goal": len(rows)}
    return {"mean": round(float(np.mean(v)), 3), "std": round(float(np.std(v)), 3), "min": min(v), "max": max(v),
            "seeds": len(v), "already_at_goal": len(rows) - len(v)}


def run(n_faces: int = 300, n_train: int = 300, seed: int = 4242, models: Path | None = None,
        queue_seeds: int = 5) -> dict:
    import torch

    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.adapt import AdaptConfig, UnlabelledFace, train_adapted
    from f2a_studio.detect.landmarks.learned import load_net, predict_points
    from f2a_studio.detect.landmarks.learned_train import LmSample, LmTrainConfig, nme, train_landmarks
    from f2a_studio.detect.landmarks.template_fit import fit_template
    from f2a_studio.detect.refit import sex_prior
    from f2a_studio.detect.sex import choose_sex_backend
    from f2a_studio.detect.sex.pretrain import synth_sex_data
    from f2a_studio.detect.sex.train import SexTrainConfig, metrics, predict_p, train_sex
    from f2a_studio.detect.synth_faces import HELD_OUT, synth_faces
    from f2a_studio.synth.variation import BIG_EYED

    torch.set_num_threads(1)
    models = Path(models) if models else PACKAGE_MODELS
    t0 = time.monotonic()
    out: dict = {"held_out_style": HELD_OUT, "test_faces": n_faces, "train_faces": n_train, "seed": seed}
    test = synth_faces(seed, n_faces, [HELD_OUT])
    rng = np.random.default_rng(seed)
    views = [_detector_view(f.truth, rng) for f in test]

    # -- sex
    chosen = choose_sex_backend([models])
    shipped = chosen.backend
    assert shipped.name == "learned", chosen.notes
    test_sex = synth_sex_data(seed, n_faces, [HELD_OUT])
    train_sex_data = synth_sex_data(seed + 1, n_train, [HELD_OUT])
    p_shipped = predict_p(shipped.net, test_sex.crops)
    tuned, _ = load_net_sex(shipped.folder)
    train_sex(tuned, train_sex_data, SexTrainConfig(steps=int(np.clip(200 + n_train // 2, 200, 800)), lr=1e-3))
    out["sex"] = {"shipped": metrics(shipped.net, test_sex), f"trained_on_{n_train}": metrics(tuned, test_sex),
                  "target_accuracy": 0.95}

    # -- landmarks
    model = load_face_model()
    lm_net, lm_card = load_net(models)
    train_faces = synth_faces(seed + 1, n_train, [HELD_OUT])
    samples = []
    for f in train_faces:
        box, _ = _detector_view(f.truth, rng)
        vis = np.asarray(f.truth.visibility)
        samples.append(LmSample(f.image, tuple(box.to_list()), f.truth.points(), np.ones(68, bool),
                                (vis == 2).astype(np.float64), 1.0 if f.truth.sex == "female" else 0.0))
    tuned_lm, _ = load_net(models)
    train_landmarks(tuned_lm, samples, LmTrainConfig(steps=int(np.clip(300 + 2 * n_train, 300, 1500)), lr=1e-3,
                                                      shift=0.06))
    # the same faces' pictures without their points, as `f2a train-landmarks` adapts to a project's faces
    adapted_lm, _ = load_net(models)
    train_adapted(adapted_lm, [], [UnlabelledFace(s.image, s.box, s.p_female) for s in samples],
                  LmTrainConfig(steps=300, lr=1e-3, shift=0.06), AdaptConfig())
    adapted_lm.eval()
    rows = {"template_fit": [], "template_fit_animeface_view": [], "learned_pretrained": [],
            f"learned_adapted_{n_train}_unlabelled": [], f"learned_finetuned_{n_train}": []}
    view_rng = np.random.default_rng([seed, 17])
    for f, (box, parts), p in zip(test, views, p_shipped, strict=True):
        truth = f.truth.points()
        prior = sex_prior(*_label(p))
        abox, aparts = _animeface_view(f.truth, model, view_rng)
        rows["template_fit"].append(nme(fit_template(model, box, parts, prior).points, truth))
        rows["template_fit_animeface_view"].append(nme(fit_template(model, abox, aparts, prior).points, truth))
        rows["learned_pretrained"].append(nme(predict_points(lm_net, f.image, box, prior)[0], truth))
        rows[f"learned_finetuned_{n_train}"].append(nme(predict_points(tuned_lm, f.image, box, prior)[0], truth))
        rows[f"learned_adapted_{n_train}_unlabelled"].append(nme(predict_points(adapted_lm, f.image, box, prior)[0],
                                                                 truth))
    lm = {k: round(float(np.mean(v)), 4) for k, v in rows.items()}
    lm["pretrained_over_template"] = round(lm["learned_pretrained"] / lm["template_fit"], 3)
    lm["pretrained_over_template_animeface_view"] = round(lm["learned_pretrained"] / lm["template_fit_animeface_view"],
                                                          3)
    lm["target_ratio"] = 0.5
    lm["shipped_model"] = {"sha256": lm_card.get("weights_sha256"), "data": lm_card.get("data")}
    out["landmarks"] = lm

    # -- face size: the default path (learned model) and the template fit, on faces as drawn and big-eyed ones
    out["face_size"] = {"as_drawn": _face_size(seed + 2, n_faces, None, shipped.net, lm_net),
                        "big_eyed": _face_size(seed + 3, n_faces, BIG_EYED, shipped.net, lm_net),
                        "target_gap_ratio": 0.5}

    # -- queue, on several fresh sets of faces
    both = [_queue(seed + 100 + k, n_faces, shipped.net, lm_net, (0.1, STRICT_NME)) for k in range(queue_seeds)]
    per_seed, strict = [b[0] for b in both], [b[1] for b in both]
    out["queue"] = {"per_seed": per_seed, "ratio_to_random": _spread_of(per_seed, "ratio_to_random"),
                    "template_gap_ratio_to_random": _spread_of(per_seed, "template_gap_ratio_to_random"),
                    "target_ratio_to_random": 0.6}
    # A landmark model good enough that 95 % of faces are right before review leaves nothing to order at NME
    # 0.1: the same measure with "right" at NME 0.03 keeps the queue's figure informative.
    out["queue_strict"] = {"right_nme": STRICT_NME, "per_seed": strict,
                           "ratio_to_random": _spread_of(strict, "ratio_to_random"),
                           "template_gap_ratio_to_random": _spread_of(strict, "template_gap_ratio_to_random"),
                           "target_ratio_to_random": 0.6}
    out["devset"] = _devset(models)
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def load_net_sex(folder: Path):
    from f2a_studio.detect.sex.backends import LearnedSexBackend

    b = LearnedSexBackend(folder)
    b.load()
    return b.net, b.card


def _label(p: float):
    from f2a_studio.core.models import Sex

    return (Sex.FEMALE, p) if p >= 0.5 else (Sex.MALE, 1 - p)


def _pred(p: float):
    from f2a_studio.detect.sex import SexPrediction

    return SexPrediction(float(p), "learned")


def _devset(models: Path | None = None) -> dict:
    """The real-devset part (benchmarks/landmarks_devset.py: hand-placed points and sex, true boxes); it
    reports ``{"skipped": ...}`` without the pictures. The per-face rows stay in that script's own output."""
    from benchmarks import landmarks_devset

    result = landmarks_devset.run(models=models)
    return {k: v for k, v in result.items() if k != "per_face"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=300)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--models", type=Path, help="Folder of the models to measure (default: the shipped ones).")
    ap.add_argument("--queue-seeds", type=int, default=5, help="Fresh sets of faces the queue is measured on.")
    args = ap.parse_args(argv)
    result = run(args.faces, args.train, args.seed, args.models, args.queue_seeds)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
