"""Training the learned landmark model: pretraining on synthetic faces (``python -m
f2a_studio.detect.landmarks.learned_train``) and fine-tuning on a project's corrected landmarks
(``f2a train-landmarks``).

A sample is an image, its face box, 68 points with a mask (a project trains only on the points a person
placed or confirmed: core.provenance), their visibility and the character's p(female). Each step crops
every sample afresh around a jittered box (a detector's box is off by a tenth of a face or so), from a
generator seeded with ``(seed, step)``. A fixed part of the corrected faces is held back for the card's NME.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from torch import nn

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Domain, Sex
from f2a_studio.core.provenance import human_faces
from f2a_studio.detect.cropnet import box_crop, box_matrix, held_back_key, photometric, save_model
from f2a_studio.detect.landmarks.learned import STEM, load_net, predict_points
from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
from f2a_studio.detect.landmarks.regions import IN_PLACE, CutRegion, cut_region
from f2a_studio.detect.small_train import (
    Schedule,
    TrainResult,
    resume_note,
    resume_path,
    stop_on_sigterm,
    train_resumable,
    train_steps,
)

MIN_FACES = 10
MIN_ADAPT_FACES = 20  # faces (any, unlabelled) to adapt to without corrections (the devset measure had 28)
ADAPT_MIN_SCORE = 0.5  # detections adapted to: the likely faces (a person's faces always)
MAX_ADAPT_FACES = 1000  # 300 steps draw ~5000 faces: more would barely be seen, and each costs memory
HELD_BACK = 0.2
Progress = Callable[[int, int, str], None]


class NotEnoughLandmarks(F2AError):
    """Too few faces with landmarks a person placed; the message says what is needed."""


@dataclass(frozen=True)
class LmSample:
    image: np.ndarray  # H×W×3 uint8: a synthetic face's picture, or a project face's part of its cut
    box: tuple[float, float, float, float]  # in ``image``'s pixels, as are the points
    points: np.ndarray  # (68, 2)
    mask: np.ndarray  # (68,) bool: points to learn from
    visible: np.ndarray  # (68,) float 0/1 (COCO v == 2)
    p_female: float
    region: CutRegion = IN_PLACE  # where ``image`` sits in the project's cut


@dataclass(frozen=True)
class LmTrainConfig:
    steps: int = 2000
    batch: int = 32
    lr: float = 3e-3
    seed: int = 0
    shift: float = 0.08  # box jitter, box sides
    zoom: float = 0.1  # box scale jitter (log-uniform ±)

    def to_json(self) -> dict:
        return asdict(self)


def nme(points: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean point error over the eye-centre distance (the benchmarks' NME)."""
    t = np.asarray(truth, np.float64)[:, :2]
    iod = float(np.linalg.norm(t[36:42].mean(0) - t[42:48].mean(0))) or 1.0
    err = np.linalg.norm(np.asarray(points, np.float64)[:, :2] - t, axis=1)
    return float(err[mask].mean() if mask is not None else err.mean()) / iod


def _batch(samples: Sequence[LmSample], step: int, cfg: LmTrainConfig, size: int):
    import torch

    from f2a_studio.detect.cropnet import to_tensor

    rng = np.random.default_rng([cfg.seed, step])
    crops, pts, masks, vis, pf = [], [], [], [], []
    for _ in range(cfg.batch):
        s = samples[int(rng.integers(len(samples)))]
        shift = tuple(rng.uniform(-cfg.shift, cfg.shift, 2))
        zoom = float(np.exp(rng.uniform(-cfg.zoom, cfg.zoom)))
        m = box_matrix(s.box, size, shift, zoom)
        crops.append(box_crop(s.image, m, size))
        pts.append((s.points @ m[:, :2].T + m[:, 2]) / size)
        masks.append(s.mask)
        vis.append(s.visible)
        # the sex the model is told is sometimes unknown (0.5) or a soft guess, as at inference
        r = rng.random()
        pf.append(0.5 if r < 0.3 else (s.p_female if r < 0.6 else 0.5 + (s.p_female - 0.5) * rng.uniform(0.3, 1)))
    x = to_tensor(list(photometric(np.stack(crops), rng)))
    return (x, torch.tensor(pf, dtype=torch.float32), torch.from_numpy(np.stack(pts)).float(),
            torch.from_numpy(np.stack(masks)).float(), torch.from_numpy(np.stack(vis)).float())


def _loss(net, batch):
    import torch.nn.functional as F

    x, pf, pts, mask, vis = batch
    pred, vis_logit = net(x, pf)
    err = (pred - pts).abs().sum(dim=2)  # L1 in crop units
    point_loss = (err * mask).sum() / mask.sum().clamp(min=1)
    vis_loss = (F.binary_cross_entropy_with_logits(vis_logit, vis, reduction="none") * mask).sum() / mask.sum().clamp(
        min=1)
    return point_loss + 0.05 * vis_loss


def samples_key(samples: Sequence[LmSample]) -> str:
    """A digest of the training samples (pixels, boxes, points, masks, sex): a resume file continues
    only the run it was written by."""
    return pixels_key(samples, lambda s: (np.asarray(s.box, np.float64), s.points, s.mask, s.visible,
                                          np.array([s.p_female])))


def pixels_key(items: Sequence, arrays: Callable[[object], Sequence[np.ndarray]]) -> str:
    """A digest of each item's ``image`` (hashed once however many items share it) and its ``arrays``."""
    import hashlib

    h = hashlib.sha256()
    seen: dict[int, str] = {}
    for s in items:
        if id(s.image) not in seen:  # one cut's pixels once, however many faces it has
            seen[id(s.image)] = hashlib.sha256(np.ascontiguousarray(s.image).tobytes()).hexdigest()
        h.update(seen[id(s.image)].encode())
        for a in arrays(s):
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def train_landmarks(net: nn.Module, samples: Sequence[LmSample], cfg: LmTrainConfig,
                    progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                    resume: Path | None = None) -> TrainResult:
    """Train in place (detect.small_train: with ``resume``, an interrupted run continues exactly)."""
    import json

    import torch

    if not samples:
        raise ValueError("no training faces")
    torch.manual_seed(cfg.seed)
    run = f"landmarks:{json.dumps(net.cfg.to_json(), sort_keys=True)}:{json.dumps(cfg.to_json(), sort_keys=True)}"
    return train_steps(net, lambda step: _batch(samples, step, cfg, net.cfg.size), _loss,
                       Schedule(cfg.steps, cfg.lr), resume=resume, run=f"{run}:{samples_key(samples)}",
                       progress=progress, should_stop=should_stop)


def evaluate(net: nn.Module, samples: Sequence[LmSample]) -> dict:
    if not samples:
        return {}
    errs = [nme(predict_points(net, s.image, s.box, s.p_female)[0], s.points, s.mask) for s in samples]
    return {"faces": len(samples), "nme": round(float(np.mean(errs)), 4)}


def card_for(net: nn.Module, cfg: LmTrainConfig, data: dict, metrics: dict, seconds: float, command: str) -> dict:
    return {
        "kind": "landmark model",
        "net": net.cfg.to_json(),
        "train": cfg.to_json() | {"seconds": round(seconds, 1), "command": command,
                                  "python": platform.python_version()},
        "data": data,
        "metrics": metrics,
        "output": "68 iBUG points and their visibility from a square crop of 1.5 box sides; input p(female)",
    }


# -- synthetic pretraining ---------------------------------------------------------------------------------


def synth_samples(seed: int, n: int, styles: Sequence[str], size: int = 128, variation=None) -> list[LmSample]:
    """``variation``: a synth.variation.Variation (None: the generator's default faces)."""
    from f2a_studio.detect.synth_faces import synth_faces

    out = []
    for f in synth_faces(seed, n, styles, size, variation):
        t = f.truth
        vis = np.asarray(t.visibility)
        out.append(LmSample(f.image, t.box, t.points(), np.ones(68, bool), (vis == 2).astype(np.float64),
                            1.0 if t.sex == "female" else 0.0))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from f2a_studio.detect.synth_faces import HELD_OUT
    from f2a_studio.synth.styles import STYLES

    ap = argparse.ArgumentParser(description="Pretrain the learned landmark model on synthetic faces")
    ap.add_argument("--out", type=Path, default=Path("f2a_studio/resources/models"))
    ap.add_argument("--faces", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hold-out", default=HELD_OUT, choices=sorted(STYLES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--big-eyes", type=float, nargs=2, metavar=("FEMALE", "MALE"), default=(0.0, 0.0),
                    help="Probability of a big-eyed character per sex (synth.variation.big_eyed), e.g. 0.5 0.1.")
    ap.add_argument("--init", type=Path, help="Start from the model in this folder (fine-tune) instead of afresh.")
    ap.add_argument("--lr", type=float, default=LmTrainConfig.lr)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    styles = [s for s in STYLES if s != args.hold_out]
    t0 = time.monotonic()
    from f2a_studio.synth.variation import BIG_EYED, Variation

    variation = Variation(big_eyes=tuple(args.big_eyes))
    samples = synth_samples(args.seed, args.faces, styles, variation=variation)
    started_from = "random weights"
    if args.init:  # fine-tune: the card names the model it started from
        net, init_card = load_net(args.init)
        net.train()
        started_from = f"{args.init} (weights sha256 {init_card.get('weights_sha256', 'unknown')})"
    else:
        net = LandmarkNet(LandmarkNetConfig())
    cfg = LmTrainConfig(steps=args.steps, seed=args.seed, lr=args.lr)
    resume = resume_path(args.out, STEM)
    print(resume_note(resume) or "", end="", flush=True)
    with stop_on_sigterm() as stop:
        result = train_landmarks(net, samples, cfg, progress=lambda d, t, s: print(d, t, s, flush=True)
                                 if d % 100 == 0 else None, should_stop=stop, resume=resume)
    if result.interrupted:
        print(f"stopped after step {result.steps_done}: run the same command again to continue", flush=True)
        return 1
    metrics = {"fresh_training_styles": evaluate(net, synth_samples(args.seed + 1000, 200, styles)),
               "held_out_style": evaluate(net, synth_samples(args.seed + 1000, 200, [args.hold_out])),
               "held_out_style_big_eyed": evaluate(net, synth_samples(args.seed + 1000, 200, [args.hold_out],
                                                                      variation=BIG_EYED))}
    data = {"synthetic_faces": args.faces, "styles": styles, "held_out_style": args.hold_out,
            "big_eyes": list(args.big_eyes), "started_from": started_from}
    card = card_for(net, cfg, data,
                    metrics, time.monotonic() - t0,
                    "python -m f2a_studio.detect.landmarks.learned_train " + " ".join(sys.argv[1:]))
    print(save_model(args.out, STEM, net.state_dict(), card), metrics, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


# -- a project's corrections -------------------------------------------------------------------------------


def project_samples(store) -> tuple[list[LmSample], list[LmSample], dict]:  # store: core.store.ProjectStore
    """(train, held back, counts): faces with landmarks a person placed or confirmed; only those points are
    learned from (core.provenance.human_faces). The crop is the one refit_face gives the model (a person's
    box: animeface's view of the face inside it, detect/landmark_box.landmark_crop); each sample keeps only
    that crop's part of the cut (landmarks.regions; ``sample.region`` maps back). Anime faces only:
    the model serves anime images, and photos' points (CycleGAN's domain A) would teach it human shapes."""
    from f2a_studio.detect.landmark_box import landmark_crop
    from f2a_studio.detect.sex import p_female_of

    labelled = [h for h in human_faces(store, Domain.ANIME) if h.landmarks is not None and h.points]
    train, held = [], []
    by_image: dict[int, list] = {}
    for h in labelled:
        by_image.setdefault(h.image_id, []).append(h)
    for image_id, hs in sorted(by_image.items()):
        record = store.image(image_id)
        pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
        faces = {f.id: f for f in store.faces(image_id)}
        for h in hs:
            face = faces[h.face_id]
            lm = np.asarray(h.landmarks, np.float64)
            mask = np.zeros(68, bool)
            mask[sorted(h.points)] = True
            mask &= lm[:, 2] > 0  # a point marked outside the picture has no position to learn
            p = {Sex.FEMALE: 1.0, Sex.MALE: 0.0}.get(h.sex, p_female_of(face)) if h.sex else p_female_of(face)
            crop_box, _parts = landmark_crop(pixels, face)
            region, where = cut_region(pixels, crop_box.to_list())  # the cut itself would be kept per face
            s = LmSample(region, where.box_from_cut(crop_box.to_list()), where.from_cut(lm), mask,
                         (lm[:, 2] == 2).astype(np.float64), float(p), where)
            (held if held_back_key(f"{record.hash}:{h.face_id}") < HELD_BACK else train).append(s)
    counts = {"corrected_faces": len(labelled), "train_faces": len(train), "held_back_faces": len(held),
              "points": int(sum(s.mask.sum() for s in train + held))}
    return train, held, counts


def start_net(search_path: Sequence[Path]):  # -> (a landmarks.nets network, where it came from)
    from f2a_studio.detect.cropnet import model_folders
    from f2a_studio.detect.landmarks.heatmap_net import HeatmapLandmarkNet

    for folder in model_folders(search_path, STEM):
        try:
            return load_net(folder)[0], str(folder)
        except F2AError:
            continue
    return HeatmapLandmarkNet(), "new network"  # the shipped model's architecture


def project_faces(store, min_score: float = ADAPT_MIN_SCORE, most: int = MAX_ADAPT_FACES):
    """(train, held back): the project's anime faces as pictures without labels (adapt.UnlabelledFace, each a
    region around the face), for adapting the model to them (landmarks.adapt): every face a person drew or
    confirmed and every detection scoring ``min_score`` or more, none rejected; at most ``most`` of them train
    (a fixed choice by held_back_key). The same faces as project_samples are held back (held_back_key of
    picture and face), so the card's held-back figures come from faces the run never saw, labelled or not."""
    from f2a_studio.detect.landmarks.adapt import face_region
    from f2a_studio.detect.sex import p_female_of

    keyed = adaptable_faces(store, min_score)
    held = [k for k in keyed if k[0] < HELD_BACK]
    chosen = sorted((k for k in keyed if k[0] >= HELD_BACK), key=lambda k: k[0])[:most] + held
    out: tuple[list, list] = ([], [])
    by_image: dict[int, list] = {}
    for k in chosen:
        by_image.setdefault(k[1].id, []).append(k)
    for picks in by_image.values():
        pixels = load_image(store.cut_file(picks[0][1])).pixels[:, :, :3]
        for key, _record, f in picks:
            out[key < HELD_BACK].append(face_region(pixels, f.box.to_list(), float(p_female_of(f))))
    return out


def adaptable_faces(store, min_score: float = ADAPT_MIN_SCORE) -> list[tuple[float, object, object]]:
    """(held_back_key, image record, face) of every face project_faces may adapt to, read from the store
    alone (no picture decoded): cheap enough to ask after every detection run (landmarks.auto_adapt)."""
    from f2a_studio.core.models import FaceStatus
    from f2a_studio.core.provenance import is_human_work

    keyed = []
    for record in store.images(domain=Domain.ANIME):
        keyed += [(held_back_key(f"{record.hash}:{f.id}"), record, f) for f in store.faces(record.id)
                  if f.status is not FaceStatus.REJECTED and (is_human_work(f) or f.score >= min_score)]
    return keyed


def train_project(store, *, steps: int | None = None, min_faces: int = MIN_FACES, base: Sequence[Path] | None = None,
                  progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                  adapt: bool = True, min_adapt_faces: int = MIN_ADAPT_FACES,
                  command: str = "f2a train-landmarks") -> dict:
    """Fine-tune on the project's corrected landmarks and, with ``adapt``, adapt to all its faces without
    labels (landmarks.adapt: two views of a face must give the same points); writes
    PROJECT/checkpoints/landmarks-learned.*. With fewer than ``min_faces`` corrections it adapts mostly (when
    the project has ``min_adapt_faces`` faces); with neither it raises NotEnoughLandmarks saying what is needed.
    ``command``: what the card and the resume note name as the run (`f2a detect` adapts by itself)."""
    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.landmarks.adapt import AdaptConfig, mean_disagreement, train_adapted

    train, held, counts = project_samples(store)
    corrected = len(train) + len(held)
    faces, faces_held = project_faces(store) if adapt else ([], [])
    notes: list[str] = []
    if corrected < min_faces:
        if len(faces) + len(faces_held) < min_adapt_faces or not faces:
            raise NotEnoughLandmarks(
                f"the landmark model learns from landmarks a person placed or confirmed: this project has "
                f"{corrected} such face(s). Correct the landmarks of at least {min_faces} faces (studio: "
                "drag points, or place the anchor points and refit), then run f2a train-landmarks again. "
                + (f"It can also adapt to a project's faces without corrections once it has {min_adapt_faces} "
                   f"faces to learn from (found {len(faces) + len(faces_held)}). " if adapt else "")
                + "Until then the shipped landmark model (or the template fit) places them."
            )
        had = (f"{corrected} face(s) with corrected landmarks (fewer than {min_faces}): learned from them and"
               if corrected else "no face with corrected landmarks yet:")
        notes.append(f"{had} adapted to the project's {len(faces)} faces without labels; correct the landmarks of "
                     f"at least {min_faces} faces to teach it more and to measure it on held-back corrections")
    if not held:
        held = train
    path = list(base) if base is not None else model_search_path()
    net, started = start_net([p for p in path if Path(p) != store.checkpoints_dir])
    acfg = AdaptConfig()

    def measured(net) -> dict:
        return evaluate(net, held) | ({"view_disagreement": mean_disagreement(net, faces_held, acfg)} if faces else {})

    before = measured(net)
    cfg = LmTrainConfig(steps=steps or int(np.clip(300 + 2 * len(train), 300, 1500)), lr=1e-3, shift=0.06)
    t0 = time.monotonic()
    if faces:
        def run(resume: Path):
            return train_adapted(net, train, faces, cfg, acfg, progress, should_stop, resume)
    else:
        def run(resume: Path):
            return train_landmarks(net, train, cfg, progress, should_stop, resume)
    result = train_resumable(net, run, resume_path(store.checkpoints_dir, STEM), notes, command)
    after = measured(net)
    data = counts | {"started_from": started, "adapted_faces": len(faces), "held_back_unlabelled_faces":
                     len(faces_held)}
    card = card_for(net, cfg, data, {"held_back_before": before, "held_back_after": after},
                    time.monotonic() - t0, command)
    card["train"]["resumed_from"] = result.resumed_from
    if faces:
        card["train"]["adapt"] = acfg.to_json()
    weights = save_model(store.checkpoints_dir, STEM, net.state_dict(), card)
    return card | {"files": [str(weights)], "notes": notes}
