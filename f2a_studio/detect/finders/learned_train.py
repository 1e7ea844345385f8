"""Training the learned finder: crops, augmentation, the step loop with resume, and evaluation.

Data are :class:`Sample` s (an image already at the network's scale, its face boxes, the boxes a person
rejected). Each step draws its crops from a generator seeded with ``(seed, step)``, so a resumed run
draws exactly the crops the uninterrupted one would have; the resume file holds weights, optimizer and
step (torch.save of tensors and numbers only, read back with ``weights_only=True``), written atomically.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from f2a_studio.core.box_overlap import iou
from f2a_studio.detect.finders.learned_io import InferenceConfig
from f2a_studio.detect.finders.learned_net import FaceNet, detection_loss, encode_targets

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # H×W×3 uint8 RGB at network scale
    boxes: np.ndarray  # N×4 xywh faces
    rejected: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # M×4 xywh, a person said "no face"
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # K×4 xywh, neither face nor background


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 400
    batch: int = 8
    crop: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    scale_jitter: tuple[float, float] = (0.7, 1.35)
    grey_prob: float = 0.15
    # share of crops given the look of a printed or scanned page (grey and halftone screens, gamma, blur,
    # low resolution, noise, JPEG; detect/landmarks/augment.photometric_real): synthetic panels are clean,
    # real pages are not. 0 leaves the crops exactly as before (no random draw is made).
    real_look: float = 0.0
    save_every: int = 50  # steps between resume-file writes

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_look <= 1.0 or not 0.0 <= self.grey_prob <= 1.0:
            raise ValueError(f"real_look and grey_prob must be probabilities in 0..1, "
                             f"not {self.real_look} and {self.grey_prob}")

    def to_json(self) -> dict:
        return asdict(self)


def to_network_scale(
    pixels: np.ndarray,
    boxes: np.ndarray,
    rejected: np.ndarray,
    inf: InferenceConfig,
    ignore: np.ndarray | None = None,
) -> Sample:
    """The image scaled as inference scales it (short side at most ``max_short``), boxes with it."""
    h, w = pixels.shape[:2]
    s = min(1.0, inf.max_short / max(1, min(h, w)))
    img = pixels[:, :, :3]
    if s < 1.0:
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    b = np.asarray(boxes, np.float64).reshape(-1, 4) * s
    r = np.asarray(rejected, np.float64).reshape(-1, 4) * s
    ig = np.asarray(ignore if ignore is not None else np.zeros((0, 4)), np.float64).reshape(-1, 4) * s
    return Sample(np.ascontiguousarray(img), b, r, ig)


def _crop(sample: Sample, rng: np.random.Generator, cfg: TrainConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One augmented crop and its targets. Half the crops are centred near a face so few-face projects
    still see their faces often; the rest are anywhere (negatives: backgrounds, props, bubbles)."""
    c = cfg.crop
    h, w = sample.image.shape[:2]
    scale = float(np.exp(rng.uniform(*np.log(cfg.scale_jitter))))
    src = c / scale  # crop side in sample pixels
    boxes = sample.boxes
    if len(boxes) and rng.random() < 0.5:
        bx, by, bw, bh = boxes[int(rng.integers(len(boxes)))]
        cx = bx + bw / 2 + rng.uniform(-0.4, 0.4) * src
        cy = by + bh / 2 + rng.uniform(-0.4, 0.4) * src
        x0, y0 = cx - src / 2, cy - src / 2
    else:
        x0 = rng.uniform(min(0.0, w - src), max(0.0, w - src))
        y0 = rng.uniform(min(0.0, h - src), max(0.0, h - src))
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    flip = rng.random() < 0.5
    if flip:
        m = np.array([[-1, 0, c], [0, 1, 0]], np.float64) @ np.vstack([m, [0, 0, 1]])
    border = tuple(int(v) for v in rng.integers(0, 256, 3))
    img = cv2.warpAffine(
        sample.image, m, (c, c), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border
    )
    if rng.random() < cfg.grey_prob:
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    gain, bias = rng.uniform(0.6, 1.25), rng.uniform(-20, 20)  # pages range from dim to bright
    img = np.clip(img.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    if cfg.real_look > 0 and rng.random() < cfg.real_look:
        from f2a_studio.detect.landmarks.augment import AugmentConfig, photometric_real

        img = photometric_real(img, rng, AugmentConfig())

    def mapped(b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, np.float64).reshape(-1, 4)
        xa = b[:, 0] * scale - x0 * scale
        ya = b[:, 1] * scale - y0 * scale
        ww, hh = b[:, 2] * scale, b[:, 3] * scale
        if flip:
            xa = c - xa - ww
        return np.column_stack([xa, ya, ww, hh])

    fb = mapped(boxes)
    cx, cy = fb[:, 0] + fb[:, 2] / 2, fb[:, 1] + fb[:, 3] / 2
    inside = (cx >= 0) & (cx < c) & (cy >= 0) & (cy < c)
    vis_w = np.clip(fb[:, 0] + fb[:, 2], 0, c) - np.clip(fb[:, 0], 0, c)
    vis_h = np.clip(fb[:, 1] + fb[:, 3], 0, c) - np.clip(fb[:, 1], 0, c)
    mostly = (vis_w * vis_h) >= 0.6 * fb[:, 2] * fb[:, 3]
    pos = inside & mostly & (fb[:, 2] >= 6)
    overlaps = (vis_w > 0) & (vis_h > 0)
    ignore = np.vstack([fb[overlaps & ~pos], mapped(sample.ignore)])  # cut, too small, or marked: neither
    return img, encode_targets(fb[pos], ignore, mapped(sample.rejected), c, c)


def make_batch(samples: Sequence[Sample], step: int, cfg: TrainConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    rng = np.random.default_rng([cfg.seed, step])
    imgs, targets = [], []
    for _ in range(cfg.batch):
        img, t = _crop(samples[int(rng.integers(len(samples)))], rng, cfg)
        imgs.append(img)
        targets.append(t)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255
    tt = {k: torch.from_numpy(np.stack([t[k] for t in targets])) for k in targets[0]}
    return x, tt


def _lr(step: int, cfg: TrainConfig) -> float:
    warm = min(1.0, (step + 1) / max(1, min(50, cfg.steps // 10)))
    return cfg.lr * warm * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.steps)))


@dataclass(frozen=True)
class TrainResult:
    steps_done: int
    resumed_from: int
    seconds: float
    final_loss: float


def _save_resume(
    path: Path, net: FaceNet, opt: torch.optim.Optimizer, step: int, cfg: TrainConfig, run: str
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step, "seed": cfg.seed, "run": run}
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def train(
    net: FaceNet,
    samples: Sequence[Sample],
    cfg: TrainConfig,
    *,
    resume: Path | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    run: str = "",
) -> TrainResult:
    """Train ``net`` in place for ``cfg.steps`` steps. With ``resume`` set, continue from that file when
    it exists and keep it up to date; ``should_stop`` (checked every step) or Ctrl-C ends early after
    saving it. ``run`` names the data and settings: a resume file of another run is refused."""
    if not samples:
        raise ValueError("no training samples")
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = 0
    if resume is not None and resume.is_file():
        state = torch.load(resume, map_location="cpu", weights_only=True)
        if int(state.get("seed", -1)) != cfg.seed or state.get("run", "") != run:
            raise ValueError(
                f"{resume}: this resume file is from another training run (other data or settings); "
                "delete it to start over"
            )
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
    net.train()
    t0 = time.monotonic()
    loss_v = float("nan")
    done = start
    try:
        for step in range(start, cfg.steps):
            if should_stop is not None and should_stop():
                if resume is not None:
                    _save_resume(resume, net, opt, step, cfg, run)
                net.eval()
                return TrainResult(step, start, time.monotonic() - t0, loss_v)
            for g in opt.param_groups:
                g["lr"] = _lr(step, cfg)
            x, t = make_batch(samples, step, cfg)
            heat, reg = net(x)
            loss, _ = detection_loss(heat, reg, t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            done = step + 1
            loss_v = float(loss.detach())
            if progress is not None:
                progress(done, cfg.steps, f"loss {loss_v:.3f}")
            if resume is not None and done % cfg.save_every == 0:
                _save_resume(resume, net, opt, done, cfg, run)
    except KeyboardInterrupt:
        if resume is not None:  # the step in flight is lost, every finished one is kept
            _save_resume(resume, net, opt, done, cfg, run)
        raise
    net.eval()
    if resume is not None:
        resume.unlink(missing_ok=True)  # finished: nothing to resume
    return TrainResult(cfg.steps, start, time.monotonic() - t0, loss_v)


# -- evaluation -------------------------------------------------------------------------------------------


_iou = iou  # the name this module's callers and benchmarks know


def match(preds: Sequence[Sequence[float]], truth: Sequence[Sequence[float]], iou: float = 0.3) -> list[bool]:
    """Per prediction (best score first), whether it matched a not-yet-matched truth box at ``iou``."""
    used = [False] * len(truth)
    out = []
    for p in sorted(preds, key=lambda q: -q[4]):
        best, bj = iou, -1
        for j, t in enumerate(truth):
            if not used[j]:
                v = _iou(p, t)
                if v >= best:
                    best, bj = v, j
        if bj >= 0:
            used[bj] = True
        out.append(bj >= 0)
    return out


@dataclass(frozen=True)
class Scored:
    """Scores of every prediction with whether it is a true face, and how many faces there were."""

    scores: np.ndarray
    true: np.ndarray
    n_truth: int

    def at(self, threshold: float) -> dict[str, float]:
        keep = self.scores >= threshold
        tp = int(self.true[keep].sum())
        n = int(keep.sum())
        return {
            "threshold": float(threshold),
            "recall": tp / self.n_truth if self.n_truth else 0.0,
            "precision": tp / n if n else 1.0,
            "predictions": n,
            "faces": self.n_truth,
        }

    def threshold_for_precision(self, precision: float) -> float:
        """The lowest threshold whose precision is at least ``precision`` (1.0 when none reaches it)."""
        order = np.argsort(-self.scores)
        tp = np.cumsum(self.true[order])
        prec = tp / np.arange(1, len(order) + 1)
        ok = np.nonzero(prec >= precision)[0]
        return float(self.scores[order][ok[-1]]) if len(ok) else 1.0


def score_predictions(
    per_image: Sequence[tuple[Sequence[Sequence[float]], Sequence[Sequence[float]]]], iou: float = 0.3
) -> Scored:
    """``per_image``: (predictions ``x y w h score``, truth ``x y w h``) per image."""
    scores, true, n = [], [], 0
    for preds, truth in per_image:
        ordered = sorted(preds, key=lambda q: -q[4])
        scores.extend(p[4] for p in ordered)
        true.extend(match(ordered, truth, iou))
        n += len(truth)
    return Scored(np.asarray(scores, np.float64), np.asarray(true, bool), n)
