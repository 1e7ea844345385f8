"""The heatmap landmark network: one heatmap per iBUG point on a stride-4 grid, read out by a soft-argmax
(integral regression), told the character's p(female).

Why beside the direct regressor (learned_net): that one squeezes the crop through a 4×4 map and a dense
layer, so on faces unlike its synthetic training ones it falls back to the mean face placed in the box
(devset/README.md: real faces 0.85–0.93× the mean face's error). A convolutional heatmap is translation
equivariant: an eye drawn off where the mean face has it still lights the heatmap where it is drawn. The
soft-argmax keeps the same output (points in crop units, visibility logits), so loss, training, fitting and
model files are shared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

ARCHITECTURE = "f2a-landmarknet-heatmap-v1"


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


@dataclass(frozen=True)
class HeatmapNetConfig:
    size: int = 96  # crop side: BOX_EXPAND box sides (detect.cropnet)
    widths: tuple[int, ...] = (16, 32, 48, 64)  # stride-2 stages; heatmaps at the second stage (stride 4)

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HeatmapNetConfig:
        return cls(int(data["size"]), tuple(int(w) for w in data["widths"]))


class HeatmapLandmarkNet(nn.Module):
    """Encoder of stride-2 stages, a decoder back to stride 4 with skips (U-Net style), 68 heatmaps."""

    def __init__(self, cfg: HeatmapNetConfig = HeatmapNetConfig()) -> None:
        super().__init__()
        if len(cfg.widths) < 2 or cfg.size % 2 ** len(cfg.widths):
            raise ValueError(f"size {cfg.size} must be a multiple of 2^{len(cfg.widths)} (two or more stages)")
        self.cfg = cfg
        c_in, stages = 3, []
        for c in cfg.widths:
            stages.append(nn.Sequential(*_conv(c_in, c, 2), *_conv(c, c)))
            c_in = c
        self.stages = nn.ModuleList(stages)
        # decoder: from the deepest stage up to stage 2 (stride 4); the sex enters at the deepest one
        ups, c_up = [], cfg.widths[-1] + 1
        for c_skip in reversed(cfg.widths[1:-1]):
            ups.append(nn.Sequential(*_conv(c_up + c_skip, c_skip)))
            c_up = c_skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Conv2d(c_up, 68, 1)
        self.vis = nn.Linear(c_up, 68)
        self.log_beta = nn.Parameter(torch.tensor(0.0))  # heatmap sharpness, learned

    def forward(self, x: torch.Tensor, p_female: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x N×3×S×S in 0..1, p_female N → points N×68×2 in crop units (0..1), visibility logits N×68."""
        feats, h = [], x - 0.5
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        s = (p_female.float() - 0.5) * 2
        h = torch.cat([h, s[:, None, None, None].expand(-1, 1, h.shape[2], h.shape[3])], dim=1)
        for up, skip in zip(self.ups, reversed(feats[1:-1]), strict=True):
            h = up(torch.cat([F.interpolate(h, size=skip.shape[2:], mode="nearest"), skip], dim=1))
        return soft_argmax(self.head(h) * self.log_beta.exp()), self.vis(h.mean(dim=(2, 3)))


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """N×K×H×W → N×K×2 (x, y) in 0..1: the expected cell centre under each map's softmax."""
    n, k, hh, ww = logits.shape
    prob = logits.flatten(2).softmax(dim=2).view(n, k, hh, ww)
    xs = (torch.arange(ww, dtype=prob.dtype, device=prob.device) + 0.5) / ww
    ys = (torch.arange(hh, dtype=prob.dtype, device=prob.device) + 0.5) / hh
    return torch.stack([(prob.sum(dim=2) * xs).sum(dim=2), (prob.sum(dim=3) * ys).sum(dim=2)], dim=2)
