"""Training the crop verifier: labelled candidate boxes → context crops → balanced batches.

Each labelled box keeps one *context* crop of CONTEXT_FACTOR × the verifier's span (at the resolution the
verifier's crop will have), cut once from the full-resolution picture; a batch re-crops it with a random shift,
zoom and mirror, so training never holds whole pictures and sees each box as the analysis will (the
analysis crops from full-resolution pixels too; a downscaled copy would blur the small faces of a strip).
Batches are balanced, half faces and half not: a page has many more false alarms than faces, and the
card's isotonic map (fitted on the held-back cuts, verifiers/project.py) puts the probabilities back on
the real rate afterwards. A batch depends on its step alone, so an interrupted run resumes exactly
(detect/small_train.py).

A box that overlaps a face (verifiers/refine.REFINE_IOU) also keeps that face's box in context pixels;
a jittered crop turns it into the box head's target offsets from the crop's own square, so the head
learns where the face is from every shift and zoom the batch draws (refine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from f2a_studio.detect.cropnet import BOX_EXPAND, box_crop, box_matrix, photometric
from f2a_studio.detect.small_train import Schedule, TrainResult, train_steps

Progress = Callable[[int, int, str], None]
CONTEXT_FACTOR = 1.5  # a context crop spans this × the verifier's crop: room for a 15 % zoom-out and a 10 % shift


LOW_RES_SIDES = (12.0, 40.0)  # box sides (pixels) a low-resolution crop is shown at, log-uniform


@dataclass(frozen=True)
class VerifierTrainConfig:
    # 1600 batches of 32 learnt from (64 drawn): ~70 s on 2 cores; from the shipped pretrained start, recall at
    # precision 0.85 on the real devset 0.636 vs 0.592 at 400 steps (10 runs, benchmarks/verifier_devset.py)
    steps: int = 1600
    faces_per_batch: int = 16
    others_per_batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-3
    seed: int = 0
    shift: float = 0.1  # box sides
    zoom: float = 0.15  # log-uniform ±
    photometric: bool = True  # brightness/contrast jitter and grey crops (cropnet.photometric; devset +0.0/+0.04)
    grey: float = 0.15  # share of the photometric crops turned grey (manga pages are half the devset's faces)
    box_weight: float = 1.0  # the box head's smooth-L1 loss beside the logit's cross-entropy
    real_look: float = 0.0  # share of crops given a scanned/printed page's look (landmarks/augment.photometric_real)
    # share of crops shown as a small face would be: shrunk so the box side is LOW_RES_SIDES pixels, then
    # enlarged back (a 20 px face's crop is a blurred enlargement; the project's faces are mostly larger).
    # Devset, seed 2024: 30 % gave 0.613 / 0.664 against 0.645 / 0.707 at precision 0.85: off
    low_res: float = 0.0
    # online hard example mining: draw this × each kind per batch, learn from the hardest faces_per_batch
    # faces and others_per_batch others (the false alarms ranked above faces are what precision 0.85 pays
    # for). Devset recall at precision 0.85, 5 seeds × 2 folds: others ×3 0.572 vs 0.547 (better on 6 runs,
    # worse on 3); mining the faces too (×2) was unstable (one run fell to the finders' own ranking).
    mine_faces: float = 1.0
    mine_others: float = 3.0
    ema: float = 0.0  # > 0: the verifier kept is this decay's moving average of the weights (small_train)
    dropout: float = 0.0  # share of the head's input dropped while training (VerifierNet.dropout)

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_look <= 1.0:
            raise ValueError(f"real_look is the share of crops given a page's look, in 0..1, not {self.real_look}")
        if not 0.0 <= self.low_res <= 1.0:
            raise ValueError(f"low_res is the share of crops shown at a small face's resolution, in 0..1, not "
                             f"{self.low_res}")
        if not 0.0 <= self.grey <= 1.0:
            raise ValueError(f"grey is the share of crops turned grey, in 0..1, not {self.grey}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout is a share in [0, 1), not {self.dropout}")
        if self.mine_faces < 1.0 or self.mine_others < 1.0:
            raise ValueError(f"mine_faces/mine_others draw that many times a batch's kind, >= 1 "
                             f"(got {self.mine_faces}, {self.mine_others})")

    def drawn(self) -> tuple[int, int]:
        """Faces and others drawn per batch before mining keeps the hardest."""
        return round(self.faces_per_batch * self.mine_faces), round(self.others_per_batch * self.mine_others)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VerifierData:
    """Context crops (N×C×C×3 uint8, the box centred, CONTEXT_FACTOR × span box sides), 1 face / 0 not,
    and the overlapped face's box in context pixels (N×4, NaN where the box overlaps none)."""

    contexts: np.ndarray
    labels: np.ndarray
    targets: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.targets is None:
            object.__setattr__(self, "targets", np.full((len(self.labels), 4), np.nan))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def faces(self) -> int:
        return int((self.labels > 0.5).sum())

    @property
    def others(self) -> int:
        return len(self) - self.faces

    @staticmethod
    def concat(parts: Sequence[VerifierData], size: int) -> VerifierData:
        parts = [p for p in parts if len(p)]
        if not parts:
            c = context_side(size)
            return VerifierData(np.zeros((0, c, c, 3), np.uint8), np.zeros(0))
        return VerifierData(np.concatenate([p.contexts for p in parts]), np.concatenate([p.labels for p in parts]),
                            np.concatenate([p.targets for p in parts]))

    @property
    def with_targets(self) -> int:
        return int(np.isfinite(self.targets[:, 0]).sum())


def context_side(size: int) -> int:
    return round(size * CONTEXT_FACTOR)


def crop_zoom(span: float) -> float:
    """cropnet.box_matrix's zoom for a crop of ``span`` box sides."""
    return BOX_EXPAND / span


def context_crops(pixels: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[float],
                  size: int, span: float, faces: Sequence[Sequence[float] | None] | None = None) -> VerifierData:
    """One picture's labelled boxes as context crops (see the module docstring); ``faces``: per box, the
    face box it overlaps (None: none), in the picture's coordinates."""
    side = context_side(size)
    zoom = crop_zoom(span * CONTEXT_FACTOR)
    matrices = [box_matrix(b[:4], side, zoom=zoom) for b in boxes]
    crops = [box_crop(pixels, m, side) for m in matrices]
    arr = np.stack(crops) if crops else np.zeros((0, side, side, 3), np.uint8)
    targets = np.full((len(boxes), 4), np.nan)
    for i, (m, f) in enumerate(zip(matrices, faces or [None] * len(boxes), strict=True)):
        if f is not None:  # the face box in context pixels (the matrix only scales and moves)
            targets[i] = (m[0, 0] * f[0] + m[0, 2], m[1, 1] * f[1] + m[1, 2], m[0, 0] * f[2], m[1, 1] * f[3])
    return VerifierData(arr, np.asarray(labels, np.float64).reshape(-1), targets)


def jittered_crops(data: VerifierData, idx: np.ndarray, size: int, span: float, rng: np.random.Generator,
                   cfg: VerifierTrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The verifier's crops of the boxes ``idx``, shifted, zoomed and mirrored at random, and each one's
    box-head target (refine.offsets of its face from the square the crop was cut around; NaN: none)."""
    from f2a_studio.detect.verifiers.refine import offsets

    side = context_side(size)
    box_side = side / (span * CONTEXT_FACTOR)  # the box's longer side in context pixels (squared anyway)
    centred = (side / 2 - box_side / 2, side / 2 - box_side / 2, box_side, box_side)
    out = np.empty((len(idx), size, size, 3), np.uint8)
    targets = np.full((len(idx), 4), np.nan)
    for k, i in enumerate(idx):
        shift = (float(rng.uniform(-cfg.shift, cfg.shift)), float(rng.uniform(-cfg.shift, cfg.shift)))
        zoom = float(np.exp(rng.uniform(-cfg.zoom, cfg.zoom)))
        crop = box_crop(data.contexts[i], box_matrix(centred, size, shift, zoom * crop_zoom(span)), size)
        mirror = rng.random() < 0.5
        out[k] = crop[:, ::-1] if mirror else crop
        if np.isfinite(data.targets[i, 0]):  # the square this crop shows, as the analysis would crop it
            s = box_side / zoom
            cx, cy = side / 2 + shift[0] * box_side, side / 2 + shift[1] * box_side
            targets[k] = offsets((cx - s / 2, cy - s / 2, s, s), data.targets[i])
            if mirror:
                targets[k, 0] = -targets[k, 0]
    if cfg.low_res > 0:
        for k in np.flatnonzero(rng.random(len(out)) < cfg.low_res):
            out[k] = low_resolution(out[k], size / span, float(np.exp(rng.uniform(*np.log(LOW_RES_SIDES)))))
    if cfg.photometric:
        out = photometric(out, rng, grey_prob=cfg.grey)
    if cfg.real_look > 0:
        from f2a_studio.detect.landmarks.augment import AugmentConfig, photometric_real

        look = AugmentConfig()
        for k in np.flatnonzero(rng.random(len(out)) < cfg.real_look):
            out[k] = photometric_real(out[k], rng, look)
    return out, targets


def low_resolution(crop: np.ndarray, box_px: float, small_px: float) -> np.ndarray:
    """``crop`` (its box ``box_px`` pixels a side) as it would look if the box were ``small_px`` pixels:
    shrunk (INTER_AREA) and enlarged back (bilinear), as the analysis enlarges a small face's crop."""
    import cv2

    k = small_px / box_px
    if k >= 1.0:
        return crop
    h, w = crop.shape[:2]
    small = cv2.resize(crop, (max(2, round(w * k)), max(2, round(h * k))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def data_key(data: VerifierData) -> str:
    """A digest of the training crops and labels: a resume file continues only the run it was written by."""
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(data.contexts).tobytes())
    h.update(np.asarray(data.labels, np.float64).tobytes())
    h.update(np.nan_to_num(np.asarray(data.targets, np.float64), nan=-1e9).tobytes())
    return h.hexdigest()[:16]


def mined_loss(logits, labels, n_faces: int, keep_faces: int, keep_others: int):
    """Cross-entropy over the ``keep_faces`` hardest of the batch's first ``n_faces`` (the faces) and the
    ``keep_others`` hardest of the rest (all of them when that is all there are)."""
    import torch
    import torch.nn.functional as F

    each = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    faces, others = each[:n_faces], each[n_faces:]
    return torch.cat([faces.topk(min(keep_faces, len(faces))).values,
                      others.topk(min(keep_others, len(others))).values]).mean()


def train_verifier(net, data: VerifierData, cfg: VerifierTrainConfig, *, resume: Path | None = None,
                   progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train ``net`` (a VerifierNet) in place on balanced batches; ValueError without both kinds."""
    import json

    import torch
    import torch.nn.functional as F

    from f2a_studio.detect.cropnet import to_tensor

    faces, others = np.flatnonzero(data.labels > 0.5), np.flatnonzero(data.labels <= 0.5)
    if not len(faces) or not len(others):
        raise ValueError(f"the verifier needs faces and non-faces to learn from ({len(faces)} and {len(others)})")
    torch.manual_seed(cfg.seed)
    size, span = net.cfg.size, net.cfg.span

    n_faces, n_others = cfg.drawn()  # per batch, before mining keeps the hardest

    def batches(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        idx = np.concatenate([rng.choice(faces, n_faces), rng.choice(others, n_others)])
        crops, targets = jittered_crops(data, idx, size, span, rng, cfg)
        return (to_tensor(list(crops)), torch.from_numpy(data.labels[idx].astype(np.float32)),
                torch.from_numpy(targets.astype(np.float32)))

    def loss_fn(n, batch):
        x, y, t = batch
        out = n(x)
        loss = mined_loss(out[:, 0], y, n_faces, cfg.faces_per_batch, cfg.others_per_batch)
        has = torch.isfinite(t[:, 0])
        if net.cfg.box_head and bool(has.any()):
            loss = loss + cfg.box_weight * F.smooth_l1_loss(out[has, 1:], t[has], beta=0.05)
        return loss

    run = f"verifier:{json.dumps(net.cfg.to_json(), sort_keys=True)}:{json.dumps(cfg.to_json())}:{data_key(data)}"
    schedule = Schedule(cfg.steps, cfg.lr, weight_decay=cfg.weight_decay)
    net.dropout = cfg.dropout
    try:
        return train_steps(net, batches, loss_fn, schedule, resume=resume, run=run, progress=progress,
                           should_stop=should_stop, ema=cfg.ema)
    finally:
        net.dropout = 0.0
