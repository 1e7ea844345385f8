"""Training the crop verifier: labelled candidate boxes → context crops → balanced batches.

Each labelled box keeps one *context* crop of CONTEXT_FACTOR × the verifier's span (at the resolution the
verifier's crop will have), cut once from the full-resolution picture; a batch re-crops it with a random shift,
zoom and mirror, so training never holds whole pictures and sees each box as the analysis will (the
analysis crops from full-resolution pixels too; a downscaled copy would blur the small faces of a strip).
Batches are balanced, half faces and half not: a page has many more false alarms than faces, and the
card's isotonic map (fitted on the held-back cuts, verifiers/project.py) puts the probabilities back on
the real rate afterwards. A batch depends on its step alone, so an interrupted run resumes exactly
(detect/small_train.py).
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


@dataclass(frozen=True)
class VerifierTrainConfig:
    steps: int = 400  # 400 batches of 32: ~1 min on 2 cores (benchmarks/verifier_devset.py)
    faces_per_batch: int = 16
    others_per_batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-3
    seed: int = 0
    shift: float = 0.1  # box sides
    zoom: float = 0.15  # log-uniform ±
    photometric: bool = True  # brightness/contrast jitter and grey crops (cropnet.photometric; devset +0.0/+0.04)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VerifierData:
    """Context crops (N×C×C×3 uint8, the box centred, CONTEXT_FACTOR × span box sides) and 1 face / 0 not."""

    contexts: np.ndarray
    labels: np.ndarray

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
        return VerifierData(np.concatenate([p.contexts for p in parts]), np.concatenate([p.labels for p in parts]))


def context_side(size: int) -> int:
    return round(size * CONTEXT_FACTOR)


def crop_zoom(span: float) -> float:
    """cropnet.box_matrix's zoom for a crop of ``span`` box sides."""
    return BOX_EXPAND / span


def context_crops(pixels: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[float],
                  size: int, span: float) -> VerifierData:
    """One picture's labelled boxes as context crops (see the module docstring)."""
    side = context_side(size)
    zoom = crop_zoom(span * CONTEXT_FACTOR)
    crops = [box_crop(pixels, box_matrix(b[:4], side, zoom=zoom), side) for b in boxes]
    arr = np.stack(crops) if crops else np.zeros((0, side, side, 3), np.uint8)
    return VerifierData(arr, np.asarray(labels, np.float64).reshape(-1))


def jittered_crops(data: VerifierData, idx: np.ndarray, size: int, span: float, rng: np.random.Generator,
                   cfg: VerifierTrainConfig) -> np.ndarray:
    """The verifier's crops of the boxes ``idx``: shifted, zoomed and mirrored at random."""
    side = context_side(size)
    box_side = side / (span * CONTEXT_FACTOR)  # the box's longer side in context pixels (squared anyway)
    centred = (side / 2 - box_side / 2, side / 2 - box_side / 2, box_side, box_side)
    out = np.empty((len(idx), size, size, 3), np.uint8)
    for k, i in enumerate(idx):
        shift = (float(rng.uniform(-cfg.shift, cfg.shift)), float(rng.uniform(-cfg.shift, cfg.shift)))
        zoom = float(np.exp(rng.uniform(-cfg.zoom, cfg.zoom)))
        crop = box_crop(data.contexts[i], box_matrix(centred, size, shift, zoom * crop_zoom(span)), size)
        out[k] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return photometric(out, rng) if cfg.photometric else out


def data_key(data: VerifierData) -> str:
    """A digest of the training crops and labels: a resume file continues only the run it was written by."""
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(data.contexts).tobytes())
    h.update(np.asarray(data.labels, np.float64).tobytes())
    return h.hexdigest()[:16]


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

    def batches(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        idx = np.concatenate([rng.choice(faces, cfg.faces_per_batch), rng.choice(others, cfg.others_per_batch)])
        x = to_tensor(list(jittered_crops(data, idx, size, span, rng, cfg)))
        return x, torch.from_numpy(data.labels[idx].astype(np.float32))

    def loss_fn(n, batch):
        x, y = batch
        return F.binary_cross_entropy_with_logits(n(x), y)

    run = f"verifier:{json.dumps(net.cfg.to_json(), sort_keys=True)}:{json.dumps(cfg.to_json())}:{data_key(data)}"
    schedule = Schedule(cfg.steps, cfg.lr, weight_decay=cfg.weight_decay)
    return train_steps(net, batches, loss_fn, schedule, resume=resume, run=run, progress=progress,
                       should_stop=should_stop)
