"""The learned finder's network: a small anchor-free centre-heatmap detector (CenterNet-like), ours.

Backbone: a stride-2 stem and four stages of depthwise-separable blocks (5x5 depthwise in the two deep
stages, for a receptive field that covers a 400 px face at stride 32 cheaply); a top-down neck adds the
stride-32 and stride-16 features onto stride 8; the head predicts at stride 8 a face-centre heatmap
(1 channel, sigmoid) and 4 regression channels (sub-cell centre offset dx, dy and log width, log height in
cells). The smallest faces the synth draws are about 2 cells wide at stride 8, which the offset recovers.
Everything here is written for this project; no pretrained weights exist for it anywhere.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURE = "f2a-centernet-v1"


@dataclass(frozen=True)
class NetConfig:
    widths: tuple[int, int, int, int, int] = (16, 24, 48, 80, 128)  # stem (s2), s4, s8, s16, s32
    depths: tuple[int, int, int, int] = (1, 2, 2, 2)  # blocks per stage s4..s32
    neck: int = 56
    stride: int = 8

    def __post_init__(self) -> None:
        if len(self.widths) != 5 or len(self.depths) != 4 or min(self.widths) < 4 or min(self.depths) < 1:
            raise ValueError(f"bad network config widths={self.widths} depths={self.depths}")
        if self.stride != 8:
            raise ValueError("only stride 8 is built")

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetConfig:
        if data.get("architecture") != ARCHITECTURE:
            raise ValueError(f"architecture {data.get('architecture')!r} is not {ARCHITECTURE!r}")
        return cls(
            widths=tuple(int(v) for v in data["widths"]),  # type: ignore[arg-type]
            depths=tuple(int(v) for v in data["depths"]),  # type: ignore[arg-type]
            neck=int(data["neck"]),
            stride=int(data["stride"]),
        )


TINY = NetConfig(widths=(8, 8, 12, 16, 16), depths=(1, 1, 1, 1), neck=12)  # for tests: same code, few weights


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


class SepBlock(nn.Module):
    """Depthwise kxk + pointwise 1x1; residual when the shape is kept."""

    def __init__(self, cin: int, cout: int, stride: int, k: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=False),
            *_bn_relu(cin),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return F.relu(y + x if self.residual else y, inplace=True)


class FaceNet(nn.Module):
    def __init__(self, cfg: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, d = cfg.widths, cfg.depths
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 2, 1, bias=False), *_bn_relu(w[0]))
        stages = []
        for i in range(4):
            k = 3 if i < 2 else 5
            blocks = [SepBlock(w[i], w[i + 1], 2, k)] + [SepBlock(w[i + 1], w[i + 1], 1, k) for _ in range(d[i] - 1)]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        n = cfg.neck
        self.lateral = nn.ModuleList([nn.Conv2d(w[i], n, 1) for i in (2, 3, 4)])
        self.head = nn.Sequential(
            nn.Conv2d(n, n, 3, 1, 1, groups=n, bias=False),
            *_bn_relu(n),
            nn.Conv2d(n, n, 1, bias=False),
            *_bn_relu(n),
        )
        self.heat = nn.Conv2d(n, 1, 1)
        self.reg = nn.Conv2d(n, 4, 1)
        nn.init.constant_(self.heat.bias, -math.log((1 - 0.01) / 0.01))  # start near "no face" (focal loss)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: N×3×H×W float in [0, 1] (H, W multiples of 32). -> heat logits N×1×H/8×W/8, reg N×4×H/8×W/8."""
        x = self.stem(x - 0.5)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        c3, c4, c5 = feats[1], feats[2], feats[3]
        p = self.lateral[2](c5)
        p = self.lateral[1](c4) + F.interpolate(p, size=c4.shape[-2:], mode="nearest")
        p = self.lateral[0](c3) + F.interpolate(p, size=c3.shape[-2:], mode="nearest")
        h = self.head(p)
        return self.heat(h), self.reg(h)


# -- targets and loss ------------------------------------------------------------------------------------


def encode_targets(
    boxes: np.ndarray, ignore: np.ndarray, hard_negatives: np.ndarray, height: int, width: int, stride: int = 8
) -> dict[str, np.ndarray]:
    """Training targets for one crop of ``height`` × ``width`` pixels.

    ``boxes`` (N×4 xywh, centre inside the crop) are faces; ``ignore`` boxes (faces cut by the crop edge)
    get no heatmap loss; ``hard_negatives`` (boxes a person rejected) get a heavier negative weight.
    """
    gh, gw = height // stride, width // stride
    heat = np.zeros((gh, gw), np.float32)
    weight = np.ones((gh, gw), np.float32)
    reg = np.zeros((4, gh, gw), np.float32)
    mask = np.zeros((gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    for x, y, w, h in np.asarray(hard_negatives, np.float64).reshape(-1, 4):
        x0, y0 = int(max(0, x // stride)), int(max(0, y // stride))
        x1, y1 = int(min(gw, math.ceil((x + w) / stride))), int(min(gh, math.ceil((y + h) / stride)))
        weight[y0:y1, x0:x1] = 3.0
    for x, y, w, h in np.asarray(ignore, np.float64).reshape(-1, 4):
        x0, y0 = int(max(0, x // stride)), int(max(0, y // stride))
        x1, y1 = int(min(gw, math.ceil((x + w) / stride))), int(min(gh, math.ceil((y + h) / stride)))
        weight[y0:y1, x0:x1] = 0.0
    for x, y, w, h in np.asarray(boxes, np.float64).reshape(-1, 4):
        cx, cy = (x + w / 2) / stride, (y + h / 2) / stride
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < gw and 0 <= iy < gh) or w <= 0 or h <= 0:
            continue
        sigma = max(0.6, min(w, h) / stride / 6.0)
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma**2))
        heat = np.maximum(heat, g)
        heat[iy, ix] = 1.0
        reg[:, iy, ix] = (cx - ix, cy - iy, math.log(w / stride), math.log(h / stride))
        mask[iy, ix] = 1.0
        weight[iy, ix] = 1.0
    return {"heat": heat, "weight": weight, "reg": reg, "mask": mask}


def detection_loss(
    heat_logits: torch.Tensor, reg: torch.Tensor, targets: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Penalty-reduced focal loss on the heatmap (CenterNet) + L1 on offset and log size at face centres."""
    t, wgt, mask = targets["heat"], targets["weight"], targets["mask"]
    p = torch.sigmoid(heat_logits[:, 0]).clamp(1e-4, 1 - 1e-4)
    pos = t.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - t) ** 4 * (1 - pos) * wgt
    n_pos = pos.sum().clamp(min=1.0)
    focal = (pos_loss.sum() + neg_loss.sum()) / n_pos
    m = mask.unsqueeze(1)
    l1 = (torch.abs(reg - targets["reg"]) * m).sum() / (m.sum() * 4).clamp(min=1.0)
    loss = focal + l1
    return loss, {"focal": float(focal.detach()), "l1": float(l1.detach())}


# -- decoding --------------------------------------------------------------------------------------------


def decode(
    heat_logits: torch.Tensor, reg: torch.Tensor, threshold: float, top_k: int = 100, stride: int = 8
) -> list[tuple[float, float, float, float, float]]:
    """Peaks of one image's heatmap (1×1×h×w) -> ``(x, y, w, h, score)`` in network-input pixels."""
    heat = torch.sigmoid(heat_logits)
    peaks = heat == F.max_pool2d(heat, 3, 1, 1)
    scores = (heat * peaks)[0, 0].flatten()
    k = min(top_k, scores.numel())
    vals, idx = torch.topk(scores, k)
    keep = vals >= threshold
    vals, idx = vals[keep], idx[keep]
    gw = heat.shape[-1]
    iy, ix = (idx // gw).float(), (idx % gw).float()
    r = reg[0].flatten(1)[:, idx]
    cx, cy = (ix + r[0]) * stride, (iy + r[1]) * stride
    bw, bh = torch.exp(r[2].clamp(-3, 6)) * stride, torch.exp(r[3].clamp(-3, 6)) * stride
    out = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh, vals], dim=1)
    return [tuple(float(v) for v in row) for row in out.tolist()]  # type: ignore[misc]
