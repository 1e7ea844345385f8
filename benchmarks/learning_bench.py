"""Learning-from-corrections benchmark (issue 12), one run, JSON out.

    python -m benchmarks.learning_bench [--faces N] [--train N] [--out FILE]

Synthetic faces drawn in the style held out from pretraining (detect.synth_faces.HELD_OUT), fresh seeds:

* ``sex``: accuracy of the shipped classifier, and after training on ``--train`` confirmed faces of that
  style (detect.sex.train, the code ``f2a train-sex`` runs, from the shipped model);
* ``landmarks``: NME (eye-centre distance) of the template fit, the shipped learned model and the model
  fine-tuned on ``--train`` corrected faces. Both get what a detector gives: the true box moved and scaled by
  a few percent, and for the template the true parts scattered by 6% of the eye distance;
* ``face_size``: |jaw width / true − 1| of the template fit for female and male faces, with the sex prior off
  (p = 0.5) and on (the shipped classifier's prediction);
* ``queue``: faces count as right when their sex is right and their landmark NME < 0.1; reviewing a face
  makes it right. Corrections needed to reach 95 % right in the uncertainty order (core.review_queue, with
  the learned model's spread under box jitter, detect.disagreement; the learned-vs-template gap it replaced
  is reported beside it), in random order (mean of 5 shuffles) and lowest finder score
  first (every face here has the same score: that order is the id order).
``devset``: the same landmark rows and the shipped sex classifier on REAL faces (benchmarks/landmarks_devset.py:
devset/points.json's hand-placed points, true boxes); skipped when the pictures are not there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


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


def run(n_faces: int = 300, n_train: int = 300, seed: int = 4242, models: Path | None = None) -> dict:
    import torch

    from f2a_studio.core.models import Face, Sex
    from f2a_studio.core.review_queue import review_order
    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.disagreement import learned_spread, template_gap
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.learned import load_net, predict_points
    from f2a_studio.detect.landmarks.learned_train import LmSample, LmTrainConfig, nme, train_landmarks
    from f2a_studio.detect.landmarks.template_fit import fit_template
    from f2a_studio.detect.refit import sex_prior
    from f2a_studio.detect.sex import apply_prediction, choose_sex_backend
    from f2a_studio.detect.sex.pretrain import synth_sex_data
    from f2a_studio.detect.sex.train import SexTrainConfig, metrics, predict_p, train_sex
    from f2a_studio.detect.synth_faces import HELD_OUT, synth_faces

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
    lm_net, _ = load_net(models)
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
    rows = {"template_fit": [], "learned_pretrained": [], f"learned_finetuned_{n_train}": []}
    size_err = {"female": {"no_prior": [], "prior": []}, "male": {"no_prior": [], "prior": []}}
    faces, correct, dis, dis_template = [], [], {}, {}
    for i, (f, (box, parts), p) in enumerate(zip(test, views, p_shipped, strict=True)):
        truth = f.truth.points()
        prior = sex_prior(*_label(p))
        tmpl = fit_template(model, box, parts, prior).points
        tmpl0 = fit_template(model, box, parts, 0.5).points
        pre = predict_points(lm_net, f.image, box, prior)[0]
        fine = predict_points(tuned_lm, f.image, box, prior)[0]
        rows["template_fit"].append(nme(tmpl, truth))
        rows["learned_pretrained"].append(nme(pre, truth))
        rows[f"learned_finetuned_{n_train}"].append(nme(fine, truth))
        jaw = float(np.linalg.norm(truth[16] - truth[0]))
        for key, pts in (("no_prior", tmpl0), ("prior", tmpl)):
            size_err[f.truth.sex][key].append(abs(float(np.linalg.norm(pts[16] - pts[0])) / jaw - 1))
        face = apply_prediction(Face(1, box, id=i + 1, score=0.9, parts=parts), _pred(p))
        faces.append(face)
        dis_template[i + 1] = template_gap(pre, tmpl)  # the queue's landmark signal before (the gap)
        dis[i + 1] = learned_spread(lm_net, f.image, box, prior, pre)  # ... and now (detect.disagreement)
        best = pre  # the landmarks a face gets: the first backend, the shipped learned model
        correct.append(bool((face.sex is Sex(f.truth.sex)) and nme(best, truth) < 0.1))
    lm = {k: round(float(np.mean(v)), 4) for k, v in rows.items()}
    lm["pretrained_over_template"] = round(lm["learned_pretrained"] / lm["template_fit"], 3)
    lm["target_ratio"] = 0.5
    out["landmarks"] = lm
    fs = {s: {k: round(float(np.mean(v)), 4) for k, v in d.items()} for s, d in size_err.items()}
    gap_no = fs["female"]["no_prior"] - fs["male"]["no_prior"]
    gap_prior = fs["female"]["prior"] - fs["male"]["prior"]
    out["face_size"] = fs | {"gap_no_prior": round(gap_no, 4), "gap_prior": round(gap_prior, 4),
                             "gap_ratio": round(abs(gap_prior) / abs(gap_no), 3) if gap_no else None,
                             "target_gap_ratio": 0.5}

    # -- queue
    right = np.array(correct)

    def needed(order: list[int]) -> int:
        ok = right.copy()
        goal = int(np.ceil(0.95 * len(ok)))
        for n, idx in enumerate(order):
            if ok.sum() >= goal:
                return n
            ok[idx] = True
        return len(order)

    def queue_of(signal: dict) -> list[int]:
        q = [it.face_id - 1 for it in review_order(faces, signal)]
        return q + [i for i in range(len(faces)) if i not in set(q)]

    queue, queue_before = queue_of(dis), queue_of(dis_template)
    shuffles = [needed(list(np.random.default_rng([seed, k]).permutation(len(faces)))) for k in range(5)]
    by_score = [i for _, i in sorted((f.score, i) for i, f in enumerate(faces))]
    out["queue"] = {"right_before_review": round(float(right.mean()), 4), "uncertainty_queue": needed(queue),
                    "uncertainty_queue_template_gap": needed(queue_before),
                    "random_mean_of_5": float(np.mean(shuffles)), "lowest_score_first": needed(by_score),
                    "target_ratio_to_random": 0.6}
    out["queue"]["ratio_to_random"] = round(out["queue"]["uncertainty_queue"] / max(1.0, np.mean(shuffles)), 3)
    out["queue"]["template_gap_ratio_to_random"] = round(needed(queue_before) / max(1.0, np.mean(shuffles)), 3)
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
    args = ap.parse_args(argv)
    result = run(args.faces, args.train, args.seed, args.models)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
