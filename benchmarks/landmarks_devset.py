"""Landmarks and sex on REAL faces: the devset's hand-placed points (issue 12), one JSON out.

    python -m benchmarks.landmarks_devset [--images DIR] [--models DIR] [--out FILE] [--overlays DIR]

devset/points.json holds, for 56 frontal-ish devset faces, both eye centres, the nose tip, the mouth corners
and the chin (iBUG 36-41 mean, 42-47 mean, 30, 48, 54, 8) and the sex read from the picture. Every method
starts from the TRUE (hand-drawn) box, as a hand-drawn box or a perfect finder would give it:

* ``mean_face_in_box``: the mean face scaled into the box, upright and frontal (template_fit.place_by_box);
* ``template_fit``: the template fit as a box without detector parts gets it (fit_template, no parts, p 0.5);
* ``learned_no_prior``: the shipped learned landmark model with p(female) 0.5;
* ``learned_sex_prior``: the pipeline's order (detect.analyze.with_sex): the shipped sex classifier on the
  crop aligned by the no-prior landmarks, its label turned into the fit's prior (refit.sex_prior), the
  template's posterior fed to the learned model;
* ``learned_true_sex``: the same with the hand-read sex as a confirmed label (the best the prior can do);
* ``learned_animeface_view``: the learned model (p 0.5) on animeface's box where animeface finds the face in
  a window around the hand box (detect/landmark_box.py), else on the hand box;
* ``refit_person_box``: the product end to end: ``refit_face`` on the face as a person drew it (source
  human; the sex classifier's prior, animeface's view when it has one), as the studio and the label
  importers fit a person's box.

``queue``: the review queue's landmark signal (detect.disagreement.learned_spread) on these faces: its rank
correlation with the NME, and the corrections, largest spread first, to get 80/90/95 % of the faces under
NME 0.2, against random order and the oracle; ``queue_flip_gap`` the same for the gap between the crop's and
its mirror's points (a candidate signal).

NME: mean distance over the face's visible hand points (a null or hidden point is not scored) divided by
the distance between the two hand eye centres (an estimated eye still counts for that distance). Sex:
accuracy of the shipped classifier on faces whose sex was read (female/male), on the crop the pipeline
aligns (learned landmarks) and on the crop the hand points align. The points were never used to train or
tune anything. Without the pictures (devset/rebuild.py) the result is ``{"skipped": ...}``, exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
POINT_NAMES = ("eye36_41", "eye42_47", "nose30", "mouth48", "mouth54", "chin8")
# How each hand point is read off 68 iBUG points: eye centres are the mean of the eye's six points.
IBUG_OF_POINT = {"eye36_41": tuple(range(36, 42)), "eye42_47": tuple(range(42, 48)), "nose30": (30,),
                 "mouth48": (48,), "mouth54": (54,), "chin8": (8,)}
METHODS = ("mean_face_in_box", "template_fit", "learned_no_prior", "learned_sex_prior", "learned_true_sex",
           "learned_animeface_view", "refit_person_box")
QUEUE_RIGHT_NME = 0.2  # a face's landmarks count as right under this NME (the target's 0.5 x the mean face)
TARGET_RATIO = 0.5  # issue 12: pretrained NME <= 0.5 x the mean face placed in the box, on real faces


class PointsFileError(ValueError):
    pass


@dataclass(frozen=True)
class HandFace:
    image: str
    face: int
    box: tuple[float, float, float, float]
    points: np.ndarray  # (6, 2) image pixels, nan where null
    scored: np.ndarray  # (6,) bool: present and visible
    sex: str  # female / male / unknown
    kind: str
    title: str


def six_points(points68: np.ndarray) -> np.ndarray:
    """(6, 2) hand-point equivalents (POINT_NAMES order) of 68 iBUG points."""
    pts = np.asarray(points68, np.float64)
    if pts.ndim != 2 or pts.shape[0] != 68 or pts.shape[1] < 2:
        raise ValueError(f"expected 68 landmarks of at least (x, y), got shape {pts.shape}")
    return np.array([pts[list(IBUG_OF_POINT[n]), :2].mean(axis=0) for n in POINT_NAMES])


def nme6(pred: np.ndarray, truth: np.ndarray, scored: np.ndarray) -> float:
    """Mean error over the scored points divided by the truth's eye-centre distance."""
    truth = np.asarray(truth, np.float64)
    iod = float(np.linalg.norm(truth[0] - truth[1]))
    if not np.isfinite(iod) or iod < 1e-6:
        raise ValueError("the two hand eye centres are missing or coincide: no eye distance to normalise by")
    mask = np.asarray(scored, bool)
    if not mask.any():
        raise ValueError("no scored point")
    err = np.linalg.norm(np.asarray(pred, np.float64)[mask] - truth[mask], axis=1)
    return float(err.mean()) / iod


def load_points(path: Path, labels: Path) -> list[HandFace]:
    """devset/points.json joined to labels.json (kind, title; the box must match the labelled one)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    images = {im["id"]: im for im in json.loads(labels.read_text(encoding="utf-8"))["images"]}
    out = []
    for n, f in enumerate(data.get("faces", [])):
        where = f"{path.name}: face {n} ({f.get('image')}:{f.get('face')})"
        im = images.get(f.get("image"))
        if im is None:
            raise PointsFileError(f"{where}: no picture {f.get('image')!r} in {labels.name}")
        if not 0 <= int(f["face"]) < len(im["faces"]):
            raise PointsFileError(f"{where}: face index out of range (the picture has {len(im['faces'])})")
        if list(im["faces"][int(f["face"])]["box"]) != list(f["box"]):
            raise PointsFileError(f"{where}: box {f['box']} differs from {labels.name}'s")
        pts = np.full((6, 2), np.nan)
        scored = np.zeros(6, bool)
        for i, name in enumerate(POINT_NAMES):
            p = f["points"].get(name)
            if p is not None:
                pts[i] = p[:2]
                scored[i] = bool(f.get("visible", {}).get(name, True))
        if not np.isfinite(pts[:2]).all():
            raise PointsFileError(f"{where}: both eye centres are needed (placed or estimated)")
        if f.get("sex") not in ("female", "male", "unknown"):
            raise PointsFileError(f"{where}: sex must be female, male or unknown, not {f.get('sex')!r}")
        out.append(HandFace(im["id"], int(f["face"]), tuple(float(v) for v in f["box"]), pts, scored,
                            f["sex"], im["kind"], im.get("title", im["kind"])))
    return out


def hand_landmarks(points: np.ndarray) -> np.ndarray:
    """68 [x, y, v] with only what the hand points give the aligner (core.align.anchor_points): every point of
    each eye at its centre and the two mouth corners (their mean is the mouth centre); the rest unlabelled."""
    lm = np.zeros((68, 3))
    lm[36:42, :2], lm[36:42, 2] = points[0], 2
    lm[42:48, :2], lm[42:48, 2] = points[1], 2
    if np.isfinite(points[3:5]).all():
        lm[48, :2], lm[54, :2] = points[3], points[4]
        lm[[48, 54], 2] = 2
    return lm


def images_folder() -> Path:
    return Path(os.environ.get("F2A_DEVSET_IMAGES", "/work/devset-images"))


def _shown(path: Path) -> str:
    """A path inside the checkout as a relative one (results files stay the same from any clone)."""
    try:
        return str(path.resolve().relative_to(HERE))
    except ValueError:
        return str(path)


def _summary(values: Sequence[float]) -> dict:
    a = np.asarray(values, np.float64)
    return {"faces": int(a.size), "nme_mean": round(float(a.mean()), 4), "nme_median": round(float(np.median(a)), 4)}


def _ratio_interval(num: np.ndarray, den: np.ndarray, seed: int = 0, n: int = 2000) -> list[float]:
    """95% bootstrap interval (faces resampled) of mean(num) / mean(den)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), (n, len(num)))
    r = num[idx].mean(1) / den[idx].mean(1)
    return [round(float(np.percentile(r, 2.5)), 3), round(float(np.percentile(r, 97.5)), 3)]


def run(images: Path | None = None, models: Path | None = None, points: Path | None = None,
        overlays: Path | None = None) -> dict:
    images = Path(images) if images else images_folder()
    points = Path(points) if points else HERE / "devset" / "points.json"
    labels = HERE / "devset" / "labels.json"
    if not points.is_file() or not labels.is_file():
        return {"skipped": f"needs {points} and {labels}"}
    faces = load_points(points, labels)
    files = {im["id"]: im["file"] for im in json.loads(labels.read_text(encoding="utf-8"))["images"]}
    missing = sorted({f.image for f in faces if not (images / files[f.image]).is_file()})
    if missing:
        return {"skipped": f"{len(missing)} of the pictures are not in {images} (devset/rebuild.py builds "
                           f"them), e.g. {files[missing[0]]}"}

    import torch

    from f2a_studio.core.imageio import load_image
    from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus, Parts, Sex
    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.cropnet import aligned_crop
    from f2a_studio.detect.disagreement import learned_spread
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmark_box import animeface_view
    from f2a_studio.detect.landmarks.learned import load_net, predict_points
    from f2a_studio.detect.landmarks.learned_train import nme
    from f2a_studio.detect.landmarks.template_fit import fit_template, place_by_box
    from f2a_studio.detect.refit import refit_face, sex_prior
    from f2a_studio.detect.sex.backends import LearnedSexBackend
    from f2a_studio.detect.sex.train import predict_p

    torch.set_num_threads(1)
    t0 = time.monotonic()
    models = Path(models) if models else PACKAGE_MODELS
    model = load_face_model()
    lm_net, lm_card = load_net(models)
    sex_backend = LearnedSexBackend(models)
    sex_backend.load()
    sex_net = sex_backend.net
    size, margin = sex_net.cfg.size, sex_net.cfg.margin

    rows: dict[str, list[float]] = {m: [] for m in METHODS}
    per_point: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    per_face, sex_rows, spreads, flip_gaps = [], [], [], []
    cache: dict[str, np.ndarray] = {}
    for f in faces:
        if f.image not in cache:
            cache.clear()  # one picture at a time: the strips are 690x6400
            cache[f.image] = load_image(images / files[f.image]).pixels[:, :, :3]
        pixels = cache[f.image]
        box = Box(*f.box)
        preds68 = {"mean_face_in_box": place_by_box(model, box),
                   "template_fit": fit_template(model, box, Parts(), 0.5).points}
        no_prior, _ = predict_points(lm_net, pixels, box, 0.5)
        preds68["learned_no_prior"] = no_prior
        spreads.append(learned_spread(lm_net, pixels, box, 0.5, no_prior))
        own_half = predict_points(lm_net, pixels, box, 0.5, flip=False)[0]  # the flip average's other half:
        flip_gaps.append(nme(own_half, 2 * no_prior - own_half))  # the other half: 2 x mean - own
        lm = np.concatenate([no_prior, np.full((68, 1), 2.0)], axis=1)
        crops = [aligned_crop(pixels, lm, size, margin), aligned_crop(pixels, hand_landmarks(f.points), size, margin)]
        p_pipe, p_hand = (float(v) for v in predict_p(sex_net, np.stack(crops)))
        label = (Sex.FEMALE, p_pipe) if p_pipe >= 0.5 else (Sex.MALE, 1 - p_pipe)
        prior = fit_template(model, box, Parts(), sex_prior(*label)).p_female
        preds68["learned_sex_prior"] = predict_points(lm_net, pixels, box, prior)[0]
        true_prior = fit_template(model, box, Parts(), sex_prior(f.sex)).p_female
        preds68["learned_true_sex"] = predict_points(lm_net, pixels, box, true_prior)[0]
        view = animeface_view(pixels, box)
        preds68["learned_animeface_view"] = predict_points(lm_net, pixels, view.box if view else box, 0.5)[0]
        drawn = Face(image_id=0, box=box, source=FaceSource.HUMAN, status=FaceStatus.ACCEPTED)
        refit = refit_face(pixels, drawn, search_path=[models])
        preds68["refit_person_box"] = np.array([(x, y) for x, y, _ in refit.landmarks], np.float64)
        row = {"face": f"{f.image}:{f.face}", "kind": f.kind, "sex": f.sex, "p_female": round(p_pipe, 3),
               "p_female_hand_aligned": round(p_hand, 3), "animeface_view": view is not None}
        for m, p68 in preds68.items():
            six = six_points(p68)
            rows[m].append(nme6(six, f.points, f.scored))
            iod = float(np.linalg.norm(f.points[0] - f.points[1]))
            err = np.where(f.scored, np.linalg.norm(six - np.nan_to_num(f.points), axis=1) / iod, np.nan)
            per_point[m].append(err)
            row[m] = round(rows[m][-1], 4)
        per_face.append(row)
        if f.sex != "unknown":
            sex_rows.append((f.sex == "female", p_pipe, p_hand, f.kind))
        if overlays is not None:
            _overlay(overlays, f, pixels, {m: six_points(preds68[m]) for m in
                                           ("mean_face_in_box", "learned_no_prior", "learned_sex_prior")})

    out: dict = {"faces": len(faces), "points": list(POINT_NAMES), "box": "true (hand-drawn) box",
                 "landmark_model": {"file": _shown(models / "landmarks-learned.safetensors"),
                                    "sha256": lm_card.get("weights_sha256", "")},
                 "sex_model": {"file": _shown(models / "sex-learned.safetensors"), "sha256": sex_backend.sha256}}
    out["nme"] = {m: _summary(v) for m, v in rows.items()}
    base = np.asarray(rows["mean_face_in_box"])
    ratios = {}
    for m in METHODS[1:]:
        v = np.asarray(rows[m])
        ratios[m] = {"ratio": round(float(v.mean() / base.mean()), 3), "ci95": _ratio_interval(v, base),
                     "faces_better": int((v < base).sum())}
    out["over_mean_face_in_box"] = ratios
    out["target"] = {"learned_over_mean_face_in_box": TARGET_RATIO,
                     "met": bool(ratios["learned_no_prior"]["ratio"] <= TARGET_RATIO)}
    seen = np.array([r["animeface_view"] for r in per_face])
    out["animeface_view"] = {"faces": int(seen.sum()),
                             **{m: round(float(np.asarray(rows[m])[seen].mean()), 4) if seen.any() else None
                                for m in ("learned_no_prior", "learned_animeface_view", "refit_person_box")},
                             "faces_better": int((np.asarray(rows["learned_animeface_view"])[seen]
                                                  < np.asarray(rows["learned_no_prior"])[seen]).sum())}
    out["nme_by_point"] = {m: {n: round(float(np.nanmean(np.array(v)[:, i])), 4) for i, n in enumerate(POINT_NAMES)}
                           for m, v in per_point.items()}
    kinds = sorted({f.kind for f in faces})
    out["nme_by_kind"] = {k: {m: _summary([r for r, f in zip(rows[m], faces, strict=True) if f.kind == k])
                              ["nme_mean"] for m in METHODS} | {"faces": sum(f.kind == k for f in faces)}
                          for k in kinds}
    truth = np.array([s[0] for s in sex_rows])
    pipe, hand = np.array([s[1] for s in sex_rows]), np.array([s[2] for s in sex_rows])
    out["sex"] = {"faces": len(sex_rows), "female": int(truth.sum()), "male": int((~truth).sum()),
                  "accuracy_pipeline_crop": round(float(((pipe >= 0.5) == truth).mean()), 4),
                  "accuracy_hand_aligned_crop": round(float(((hand >= 0.5) == truth).mean()), 4),
                  "predicted_female_share": round(float((pipe >= 0.5).mean()), 4),
                  "accuracy_by_kind": {k: round(float(np.mean([(s[1] >= 0.5) == s[0] for s in sex_rows
                                                               if s[3] == k])), 4)
                                       for k in sorted({s[3] for s in sex_rows})},
                  "majority_baseline": round(float(max(truth.mean(), 1 - truth.mean())), 4)}
    errors = np.asarray(rows["learned_no_prior"])
    out["queue"] = _queue(errors, np.asarray(spreads))
    # the gap between the crop's and its mirror's points: free with the flip average (one prediction instead
    # of the spread's six), a candidate signal
    out["queue_flip_gap"] = _queue(errors, np.asarray(flip_gaps)) | {"signal": "the learned model's points on the "
                                                                    "crop vs on its mirror (no sex prior, true box)"}
    for row, spread, gap in zip(per_face, spreads, flip_gaps, strict=True):
        row["learned_spread"], row["flip_gap"] = round(float(spread), 4), round(float(gap), 4)
    out["per_face"] = per_face
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def _queue(errors: np.ndarray, signal: np.ndarray) -> dict:
    """A review queue's landmark signal on real faces (by default the learned model's spread under box jitter,
    detect.disagreement, what the studio's "next" orders faces by): does it find the faces whose landmarks are
    off? Corrections to reach a share of faces right (NME < QUEUE_RIGHT_NME), largest signal first, against
    random order (mean of 20 shuffles) and the oracle (the wrong faces first)."""
    from scipy.stats import spearmanr

    from benchmarks.common import corrections_needed

    right = errors < QUEUE_RIGHT_NME
    by_signal = [int(i) for i in np.argsort(-signal, kind="stable")]
    oracle = [int(i) for i in np.argsort(-errors, kind="stable")]
    goals = {}
    for goal in (0.8, 0.9, 0.95):
        rnd = float(np.mean([corrections_needed(right, list(np.random.default_rng([7, k]).permutation(len(right))),
                                                goal) for k in range(20)]))
        q = corrections_needed(right, by_signal, goal)
        goals[str(goal)] = {"signal_order": q, "random_mean_of_20": rnd,
                            "oracle": corrections_needed(right, oracle, goal),
                            "ratio_to_random": round(q / rnd, 3) if rnd else None}
    return {"signal": "detect.disagreement.learned_spread (no sex prior, true box)", "right_nme": QUEUE_RIGHT_NME,
            "right_before_review": round(float(right.mean()), 4),
            "spearman_signal_vs_nme": round(float(spearmanr(signal, errors)[0]), 3), "corrections": goals}


def _overlay(folder: Path, f: HandFace, pixels: np.ndarray, preds: dict[str, np.ndarray]) -> None:
    """Crop of the face with the hand points (white rings) and each method's six points (dots) drawn."""
    import cv2

    colors = {"mean_face_in_box": (255, 160, 0), "learned_no_prior": (255, 0, 0), "learned_sex_prior": (0, 160, 255)}
    x, y, w, h = f.box
    m = 0.35 * max(w, h)
    x0, y0 = max(0, int(x - m)), max(0, int(y - m))
    x1, y1 = min(pixels.shape[1], int(x + w + m)), min(pixels.shape[0], int(y + h + m))
    k = 400 / max(x1 - x0, y1 - y0)
    img = cv2.resize(np.ascontiguousarray(pixels[y0:y1, x0:x1]), (round((x1 - x0) * k), round((y1 - y0) * k)))
    img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)

    def q(p):
        return round((p[0] - x0) * k), round((p[1] - y0) * k)

    cv2.rectangle(img, q((x, y)), q((x + w, y + h)), (0, 200, 0), 1)
    for p in f.points:
        if np.isfinite(p).all():
            cv2.circle(img, q(p), 7, (255, 255, 255), 2)
            cv2.circle(img, q(p), 8, (0, 0, 0), 1)
    for name, six in preds.items():
        c = colors[name][::-1]
        for p in six:
            cv2.circle(img, q(p), 4, c, -1)
        cv2.polylines(img, [np.array([q(six[i]) for i in (0, 1, 4, 5, 3, 0)], np.int32)], False, c, 1)
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f"{f.image}_{f.face}.png"), img)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path,
                    help="The devset pictures (default $F2A_DEVSET_IMAGES or /work/devset-images).")
    ap.add_argument("--models", type=Path, help="Folder of the landmark and sex models (default: the shipped ones).")
    ap.add_argument("--points", type=Path, help="Hand points file (default devset/points.json).")
    ap.add_argument("--overlays", type=Path, help="Write one PNG per face: hand points vs predictions.")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    result = run(args.images, args.models, args.points, args.overlays)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, args.out)
    print(text if "skipped" in result else json.dumps({k: v for k, v in result.items() if k != "per_face"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
