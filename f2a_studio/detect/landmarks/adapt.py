"""Adapting the landmark model to a project's own faces without labels (issue 12: "landmarks follow each face").

On real pages the synthetic-trained model drifts towards the mean face placed in the box: moved or turned
with the crop, its points stay where they sit in the crop instead of on the face. A correct landmark model is
equivariant: two views of one face (each crop shifted, zoomed, turned, perhaps mirrored, and each with its
own page look) must give the same points in the picture. That needs no labels, so every face of a project
teaches it, corrected or not (the equivariance idea of Honari et al., "Improving landmark localization with
semi-supervised learning", CVPR 2018). What keeps it from an agreeable but wrong answer (all points on one
corner) is a supervised term: the project's corrections where there are any, and always a batch of
synthetic faces with exact truth, drawn and augmented as the shipped model was pretrained
(augmented_pretrain).

The training loop, resume files and model files are detect.small_train's and learned_train's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from f2a_studio.core.ibug68 import MIRROR
from f2a_studio.detect.cropnet import box_crop, to_tensor
from f2a_studio.detect.landmarks.augment import AugmentConfig, photometric_real, random_crop_matrix
from f2a_studio.detect.landmarks.regions import MAX_SIDE, cut_region


@dataclass(frozen=True)
class UnlabelledFace:
    image: np.ndarray  # H×W×3 uint8
    box: tuple[float, float, float, float]
    p_female: float


@dataclass(frozen=True)
class AdaptConfig:
    weight: float = 1.0  # the view-agreement term's weight against the supervised terms
    faces_batch: int = 16  # unlabelled faces per step, two views each
    anchor_batch: int = 16  # synthetic faces per step
    anchor_faces: int = 600  # synthetic faces drawn for the anchor (a few seconds)
    # Each view: the box moved by up to this many box sides, zoomed, turned and stretched; a mirror half the
    # time. Milder than pretraining's augmentation: both views must still show the whole face.
    shift: float = 0.12
    zoom: tuple[float, float] = (0.85, 1.2)
    rotate: float = 20.0
    stretch: float = 0.08
    look: AugmentConfig = field(default_factory=AugmentConfig)  # page looks (grey, screentone, blur, JPEG...)

    def views(self) -> AugmentConfig:
        return AugmentConfig(shift=self.shift, zoom=self.zoom, rotate=self.rotate, rotate_prob=0.8,
                             stretch=self.stretch)

    def to_json(self) -> dict:
        out = asdict(self)
        out["look"] = "AugmentConfig()" if self.look == AugmentConfig() else self.look.to_json()
        return out


@dataclass(frozen=True)
class ViewPairs:
    """Two views of each face: crops N×3×S×S, crop→image matrices N×2×3, mirrored N, plus box sides N and
    p(female) N (torch tensors)."""

    crops: tuple
    inverse: tuple
    mirrored: tuple
    sides: object
    p_female: object


def view_pairs(faces: Sequence[UnlabelledFace], n: int, rng: np.random.Generator, size: int,
               cfg: AdaptConfig) -> ViewPairs:
    import torch

    views = cfg.views()
    crops: tuple[list, list] = ([], [])
    inverse: tuple[list, list] = ([], [])
    mirrored: tuple[list, list] = ([], [])
    sides, pf = [], []
    for _ in range(n):
        f = faces[int(rng.integers(len(faces)))]
        sides.append(max(float(f.box[2]), float(f.box[3]), 1.0))
        pf.append(f.p_female)
        for k in range(2):
            m, flip = random_crop_matrix(f.box, size, rng, views)
            crops[k].append(photometric_real(box_crop(f.image, m, size), rng, cfg.look))
            inverse[k].append(cv2.invertAffineTransform(m))
            mirrored[k].append(flip)
    return ViewPairs(tuple(to_tensor(c) for c in crops),
                     tuple(torch.from_numpy(np.stack(i)).float() for i in inverse),
                     tuple(torch.tensor(m) for m in mirrored),
                     torch.tensor(sides, dtype=torch.float32), torch.tensor(pf, dtype=torch.float32))


def to_image(points, inverse, mirrored, size: int):
    """Network points (N×68×2, crop units) → picture pixels; a mirrored crop's point j is the face's point
    MIRROR[j] (MIRROR is its own inverse)."""
    import torch

    p = points * size
    p = torch.where(mirrored[:, None, None], p[:, list(MIRROR)], p)
    return p @ inverse[:, :, :2].transpose(1, 2) + inverse[:, None, :, 2]


def view_disagreement(net, pairs: ViewPairs):
    """Mean over faces of the L1 distance (x + y) between the two views' points in the picture, per box side."""
    size = net.cfg.size
    placed = [to_image(net(pairs.crops[k], pairs.p_female)[0], pairs.inverse[k], pairs.mirrored[k], size)
              for k in range(2)]
    return ((placed[0] - placed[1]).abs().sum(dim=2).mean(dim=1) / pairs.sides).mean()


def mean_disagreement(net, faces: Sequence[UnlabelledFace], cfg: AdaptConfig, seed: int = 0,
                      pairs: int = 64) -> float | None:
    """A label-free check on faces the training never saw: the mean view disagreement over a fixed draw of
    ``pairs`` view pairs (lower: the points follow the face better); None without faces (a card is JSON)."""
    import torch

    if not faces:
        return None
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        value = float(view_disagreement(net, view_pairs(faces, pairs, np.random.default_rng([seed, 99]),
                                                        net.cfg.size, cfg)))
    net.train(was_training)
    return round(value, 4)


def anchor_samples(seed: int, n: int):  # -> list[LmSample]
    """Synthetic faces with exact truth, drawn as the shipped model's pretraining draws them (its styles:
    every style but the benchmarks' held-out one)."""
    from f2a_studio.detect.landmarks.augmented_pretrain import PRETRAIN_VARIATION, varied_samples
    from f2a_studio.detect.synth_faces import HELD_OUT
    from f2a_studio.synth.styles import STYLES

    return varied_samples(seed, n, [s for s in STYLES if s != HELD_OUT], PRETRAIN_VARIATION)


def face_region(pixels: np.ndarray, box, p_female: float, max_side: int = MAX_SIDE) -> UnlabelledFace:
    """The face's part of its cut (landmarks.regions: a box side of margin, the box side at most ``max_side``
    pixels): a project's strips are far too large to keep whole."""
    region, where = cut_region(pixels, box, max_side)
    return UnlabelledFace(region, where.box_from_cut(box), p_female)


def faces_key(faces: Sequence[UnlabelledFace]) -> str:
    from f2a_studio.detect.landmarks.learned_train import pixels_key

    return pixels_key(faces, lambda f: (np.asarray([*f.box, f.p_female], np.float64),))


def train_adapted(net, corrections: Sequence, faces: Sequence[UnlabelledFace], cfg, acfg: AdaptConfig,
                  progress: Callable[[int, int, str], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, resume: Path | None = None, anchor=None):
    """Train ``net`` in place on: the corrections (learned_train's crops and loss; may be empty), synthetic
    anchor faces (``anchor``, or ``acfg.anchor_faces`` drawn from ``cfg.seed``) and the view agreement on
    ``faces``. ``cfg``: a learned_train.LmTrainConfig. Returns detect.small_train's TrainResult."""
    import torch

    from f2a_studio.detect.landmarks.augmented_pretrain import augmented_batch
    from f2a_studio.detect.landmarks.learned_train import LmTrainConfig, _batch, _loss, samples_key
    from f2a_studio.detect.small_train import Schedule, train_steps

    if not faces:
        raise ValueError("no faces to adapt to")
    anchor = list(anchor) if anchor is not None else anchor_samples(cfg.seed, acfg.anchor_faces)
    size = net.cfg.size
    anchor_cfg = LmTrainConfig(batch=acfg.anchor_batch, seed=cfg.seed + 1)

    def batches(step: int):
        rng = np.random.default_rng([cfg.seed, 7, step])
        return (_batch(corrections, step, cfg, size) if corrections else None,
                augmented_batch(anchor, step, anchor_cfg, acfg.look, size),
                view_pairs(faces, acfg.faces_batch, rng, size, acfg))

    def loss(net, batch):
        own, synthetic, pairs = batch
        total = _loss(net, synthetic) + acfg.weight * view_disagreement(net, pairs)
        return total + _loss(net, own) if own is not None else total

    torch.manual_seed(cfg.seed)
    settings = [json.dumps(c, sort_keys=True) for c in (net.cfg.to_json(), cfg.to_json(), acfg.to_json())]
    run = ":".join(["landmarks-adapted", *settings, samples_key(corrections), samples_key(anchor), faces_key(faces)])
    return train_steps(net, batches, loss, Schedule(cfg.steps, cfg.lr), resume=resume, run=run, progress=progress,
                       should_stop=should_stop)
