"""Do a title's corrections make the landmark model and the sex classifier better on its other REAL faces?

    python -m benchmarks.landmarks_devset_finetune [--steps N] [--out FILE]

Issue 12: "every correction an annotator makes should make the next predictions better". devset/points.json
holds, for 56 real faces, the six points the studio's Place Anchors mode takes (eye centres, nose tip, mouth
corners, chin). Each face's anchors become a correction exactly as the studio makes one
(detect.anchors.fit_to_anchors through the true box, the hand-read sex confirmed; only the anchors' points,
anchor_indices, are learned from), and the shipped landmark model is fine-tuned on half of each title's
faces the way `f2a train-landmarks` does (learned_train.train_landmarks, lr 1e-3, box shift 0.06), then
scored on the other half, and the halves swapped (two folds: every face scored once, by a model that never
saw it). NME over the six hand points / the hand eye distance (landmarks_devset.nme6), from the true box,
p(female) from the hand-read sex as the pipeline would have it once a person set it.

Rows: the mean face in the box (the issue's yardstick), the shipped model, the fine-tuned one; the issue's
target is ≤ 0.5× the mean face. ``shipped_view`` / ``fine_tuned_view``: the same with the model cropping
animeface's box where animeface sees the face around the hand box (detect/landmark_box.py, as refit_face
does for a person's box), in training too. ``adapted``: the shipped model adapted, as `f2a train-landmarks`
does (detect/landmarks/adapt.py), to the training half's pictures WITHOUT their labels (two views of a face
must agree; synthetic faces keep it anchored), scored on the other half: what the model learns from a title's
faces before anyone corrects one. ``adapted_seen``: adapted to all 56 faces' pictures and scored on the same
faces (a project's model is adapted to the very faces it then places; still no labels).
``fine_tuned_adapted``: the training half's corrections and pictures together, scored on the other half.
``queue``: landmarks_devset's queue measure (the studio's spread signal against the NME) for the shipped
model and for the adapted one (the adaptation trains the views to agree: does the signal still rank?).
``sex``: the same folds for the sex classifier, trained as `f2a train-sex`
does (sex/train.train_sex, lr 1e-3) on the training half's hand-read sex with crops aligned by the corrected
points, scored on the other half's crops aligned by the shipped landmark model's points (what the pipeline
has before anyone corrects a face). Without the pictures: {"skipped": ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.landmarks_devset import HERE, POINT_NAMES, HandFace, images_folder, load_points, nme6, six_points

ANCHOR_OF_POINT = dict(zip(POINT_NAMES, ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right", "chin"),
                           strict=True))


def halves(faces: Sequence[HandFace]) -> tuple[list[int], list[int]]:
    """Indices of two halves: within each title, faces sorted by (picture, face) alternate A, B, A..."""
    by_title: dict[str, list[int]] = {}
    for i, f in enumerate(faces):
        by_title.setdefault(f.title, []).append(i)
    a, b = [], []
    for idx in by_title.values():
        idx = sorted(idx, key=lambda i: (faces[i].image, faces[i].face))
        a += idx[0::2]
        b += idx[1::2]
    return a, b


def p_female(face: HandFace) -> float:
    return {"female": 1.0, "male": 0.0}.get(face.sex, 0.5)


def correction(face: HandFace, pixels: np.ndarray, crop_box=None):
    """The training sample the studio's anchors would make of this face (LmSample), or None without anchors;
    ``crop_box`` (a Box): the box the model crops instead of the face's (animeface's view of it)."""
    from f2a_studio.core.models import Box, Face, Sex
    from f2a_studio.detect.anchors import anchor_indices, fit_to_anchors
    from f2a_studio.detect.landmarks.learned_train import LmSample

    anchors = {ANCHOR_OF_POINT[n]: (float(face.points[i, 0]), float(face.points[i, 1]))
               for i, n in enumerate(POINT_NAMES) if face.scored[i]}
    if not anchors:
        return None
    sex = {"female": Sex.FEMALE, "male": Sex.MALE}.get(face.sex, Sex.UNKNOWN)
    box = Box(*face.box)
    stub = Face(image_id=0, box=box, sex=sex, sex_prob=None if sex is Sex.UNKNOWN else 1.0)
    points = fit_to_anchors(stub, anchors)
    mask = np.zeros(68, bool)
    mask[sorted(anchor_indices(anchors))] = True
    return LmSample(pixels, tuple((crop_box or box).to_list()), points, mask, np.ones(68), p_female(face))


def run(images: Path | None = None, steps: int | None = None, seed: int = 0) -> dict:
    images = Path(images) if images else images_folder()
    points, labels = HERE / "devset" / "points.json", HERE / "devset" / "labels.json"
    if not points.is_file() or not labels.is_file():
        return {"skipped": f"needs {points} and {labels}"}
    faces = load_points(points, labels)
    files = {im["id"]: im["file"] for im in json.loads(labels.read_text(encoding="utf-8"))["images"]}
    if any(not (images / files[f.image]).is_file() for f in faces):
        return {"skipped": f"the pictures are not all in {images} (devset/rebuild.py builds them)"}

    import torch

    from benchmarks.landmarks_devset import _queue
    from f2a_studio.core.imageio import load_image
    from f2a_studio.core.models import Box
    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.disagreement import learned_spread
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmark_box import animeface_view
    from f2a_studio.detect.landmarks.adapt import (
        AdaptConfig,
        UnlabelledFace,
        anchor_samples,
        train_adapted,
    )
    from f2a_studio.detect.landmarks.learned import load_net, predict_points
    from f2a_studio.detect.landmarks.learned_train import LmTrainConfig, train_landmarks
    from f2a_studio.detect.landmarks.regions import region_bounds
    from f2a_studio.detect.landmarks.template_fit import place_by_box

    torch.set_num_threads(2)
    t0 = time.monotonic()
    model = load_face_model()
    crops: dict[int, np.ndarray] = {}  # each face's picture, cropped around the face (the strips are large)
    offsets: dict[int, tuple[float, float]] = {}
    views: dict[int, Box] = {}  # animeface's box where it sees the face in a window around the hand box
    decoded: dict[str, np.ndarray] = {}  # the last picture only: the faces come picture by picture
    for i, f in enumerate(faces):
        if f.image not in decoded:
            decoded = {f.image: load_image(images / files[f.image]).pixels[:, :, :3]}
        pixels = decoded[f.image]
        x0, y0, x1, y1 = region_bounds(f.box)  # the margin the product's adaptation keeps (adapt.face_region)
        crops[i] = np.ascontiguousarray(pixels[y0:y1, x0:x1])
        offsets[i] = (float(x0), float(y0))
        view = animeface_view(pixels, Box(*f.box))  # as refit_face looks at a person's box
        if view is not None:
            views[i] = view.box.translated(-x0, -y0)
    local = [_shifted(f, *offsets[i]) for i, f in enumerate(faces)]
    corrections = {i: correction(f, crops[i]) for i, f in enumerate(local)}  # each face's anchors, made once
    corrections_view = {i: correction(f, crops[i], views.get(i)) for i, f in enumerate(local)}

    def nmes(net, idx: Sequence[int], use_views: bool = False) -> list[float]:
        return [nme6(six_points(predict_points(net, crops[i], views.get(i, Box(*local[i].box)) if use_views
                                               else Box(*local[i].box), p_female(local[i]))[0]),
                     local[i].points, local[i].scored) for i in idx]

    a, b = halves(local)
    rows: dict[str, dict[int, float]] = {"mean_face_in_box": {}, "shipped": {}, "fine_tuned": {},
                                         "shipped_view": {}, "fine_tuned_view": {}, "adapted": {},
                                         "adapted_seen": {}, "fine_tuned_adapted": {}}
    unlabelled = {i: UnlabelledFace(crops[i], local[i].box, p_female(local[i])) for i in range(len(local))}
    anchor = anchor_samples(seed, AdaptConfig().anchor_faces)

    def adapted(train_idx: Sequence[int], with_corrections: bool):
        """The shipped model as `f2a train-landmarks` adapts it: the faces' pixels (no labels), and the
        corrections of the same faces when ``with_corrections``."""
        own = [corrections[i] for i in train_idx if with_corrections and corrections[i] is not None]
        net, _ = load_net(PACKAGE_MODELS)
        cfg = LmTrainConfig(steps=steps or int(np.clip(300 + 2 * len(own), 300, 1500)), lr=1e-3, shift=0.06,
                            seed=seed)
        started = time.monotonic()
        train_adapted(net.train(), own, [unlabelled[i] for i in train_idx], cfg, AdaptConfig(), anchor=anchor)
        return net.eval(), {"train_faces": len(own), "adapted_faces": len(train_idx), "steps": cfg.steps,
                            "train_s": round(time.monotonic() - started, 1)}
    shipped, card = load_net(PACKAGE_MODELS)
    folds = []
    for train_idx, test_idx in ((a, b), (b, a)):
        for row, made, use_views in (("fine_tuned", corrections, False), ("fine_tuned_view", corrections_view, True)):
            samples = [made[i] for i in train_idx if made[i] is not None]
            net, _ = load_net(PACKAGE_MODELS)
            cfg = LmTrainConfig(steps=steps or int(np.clip(300 + 2 * len(samples), 300, 1500)), lr=1e-3,
                                shift=0.06, seed=seed)
            started = time.monotonic()
            train_landmarks(net.train(), samples, cfg)
            net.eval()
            folds.append({"row": row, "train_faces": len(samples), "test_faces": len(test_idx), "steps": cfg.steps,
                          "train_s": round(time.monotonic() - started, 1)})
            for i, v in zip(test_idx, nmes(net, test_idx, use_views), strict=True):
                rows[row][i] = v
        for row, with_corrections in (("adapted", False), ("fine_tuned_adapted", True)):
            net, fold = adapted(train_idx, with_corrections)
            folds.append({"row": row, "test_faces": len(test_idx)} | fold)
            for i, v in zip(test_idx, nmes(net, test_idx), strict=True):
                rows[row][i] = v
        for i, v in zip(test_idx, nmes(shipped, test_idx), strict=True):
            rows["shipped"][i] = v
        for i, v in zip(test_idx, nmes(shipped, test_idx, True), strict=True):
            rows["shipped_view"][i] = v
        for i in test_idx:
            f = local[i]
            rows["mean_face_in_box"][i] = nme6(six_points(place_by_box(model, Box(*f.box))), f.points, f.scored)
    everyone = sorted(rows["shipped"])  # adapted to every face's pixels, scored on the same faces
    net, fold = adapted(everyone, False)
    folds.append({"row": "adapted_seen", "test_faces": len(everyone)} | fold)
    rows["adapted_seen"] = dict(zip(everyone, nmes(net, everyone), strict=True))
    queues = {name: _queue(np.array([rows[row][i] for i in everyone]),
                           np.array([learned_spread(model, crops[i], Box(*local[i].box), p_female(local[i]))
                                     for i in everyone]))
              for name, row, model in (("shipped", "shipped", shipped), ("adapted_seen", "adapted_seen", net))}
    out_sex = _sex_folds(local, crops, corrections, (a, b), seed)
    order = sorted(rows["shipped"])
    base = np.array([rows["mean_face_in_box"][i] for i in order])
    out: dict = {"faces": len(order), "landmark_model_sha256": card.get("weights_sha256", ""), "folds": folds,
                 "nme": {}, "over_mean_face_in_box": {}}
    for name, values in rows.items():
        v = np.array([values[i] for i in order])
        out["nme"][name] = {"mean": round(float(v.mean()), 4), "median": round(float(np.median(v)), 4)}
        out["over_mean_face_in_box"][name] = round(float(v.mean() / base.mean()), 3)
    kinds = sorted({f.kind for f in local})
    out["over_mean_face_in_box_by_kind"] = {
        k: {name: round(float(np.mean([values[i] for i in order if local[i].kind == k]) /
                              np.mean([rows["mean_face_in_box"][i] for i in order if local[i].kind == k])), 3)
            for name, values in rows.items() if name != "mean_face_in_box"}
        | {"faces": sum(local[i].kind == k for i in order)} for k in kinds}
    out["target"] = {"fine_tuned_over_mean_face_in_box": 0.5,
                     "met": bool(out["over_mean_face_in_box"]["fine_tuned"] <= 0.5),
                     "met_without_corrections": bool(out["over_mean_face_in_box"]["adapted"] <= 0.5)}
    out["adapted_better_than_shipped"] = int(sum(rows["adapted"][i] < rows["shipped"][i] for i in order))
    out["queue"] = queues  # does the studio's landmark signal still find the wrong faces once adapted?
    out["sex"] = out_sex
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def _sex_folds(faces: Sequence[HandFace], crops: dict[int, np.ndarray], corrections: dict,
               halves_: tuple[list[int], list[int]], seed: int) -> dict:
    from f2a_studio.core.models import Box
    from f2a_studio.core.search_path import PACKAGE_MODELS
    from f2a_studio.detect.cropnet import aligned_crop
    from f2a_studio.detect.landmarks.learned import load_net, predict_points
    from f2a_studio.detect.sex.backends import LearnedSexBackend
    from f2a_studio.detect.sex.train import SexData, SexTrainConfig, predict_p, train_sex

    lm_net, _ = load_net(PACKAGE_MODELS)
    shipped = LearnedSexBackend(PACKAGE_MODELS)
    shipped.load()
    size, margin = shipped.net.cfg.size, shipped.net.cfg.margin
    known = [i for i, f in enumerate(faces) if f.sex in ("female", "male")]

    def with_v(points: np.ndarray) -> np.ndarray:
        return np.concatenate([points, np.full((68, 1), 2.0)], axis=1)

    corrected = {i: aligned_crop(crops[i], with_v(corrections[i].points), size, margin) for i in known}
    pipeline = {i: aligned_crop(crops[i], with_v(predict_points(lm_net, crops[i], Box(*faces[i].box), 0.5)[0]),
                                size, margin) for i in known}
    female = {i: float(faces[i].sex == "female") for i in known}
    right = {"shipped": 0, "fine_tuned": 0}
    folds = []
    for train_half, test_half in (halves_, halves_[::-1]):
        train_idx = [i for i in train_half if i in female]
        test_idx = [i for i in test_half if i in female]
        net = LearnedSexBackend(PACKAGE_MODELS)
        net.load()
        cfg = SexTrainConfig(steps=int(np.clip(200 + len(train_idx) // 2, 200, 800)), lr=1e-3, seed=seed)
        train_sex(net.net.train(), SexData(np.stack([corrected[i] for i in train_idx]),
                                           np.array([female[i] for i in train_idx])), cfg)
        net.net.eval()
        test_crops = np.stack([pipeline[i] for i in test_idx])
        truth = np.array([female[i] for i in test_idx]) > 0.5
        for name, model in (("shipped", shipped.net), ("fine_tuned", net.net)):
            right[name] += int(((predict_p(model, test_crops) >= 0.5) == truth).sum())
        folds.append({"train_faces": len(train_idx), "test_faces": len(test_idx), "steps": cfg.steps})
    return {"faces": len(known), "female": int(sum(female.values())), "folds": folds,
            "accuracy": {k: round(v / len(known), 4) for k, v in right.items()}}


def _shifted(f: HandFace, dx: float, dy: float) -> HandFace:
    """The face in the coordinates of its crop."""
    from dataclasses import replace

    x, y, w, h = f.box
    return replace(f, box=(x - dx, y - dy, w, h), points=f.points - np.array([dx, dy]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: as train-landmarks)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    report = run(args.images, args.steps)
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
