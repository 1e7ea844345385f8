"""The learned landmark model's network: direct regression of 68 points and their visibility from a
square crop around the face box, told the character's p(female) (sex-aware: a female character's chin
sits closer to her eyes, which a face-blind regressor averages away)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from f2a_studio.detect.cropnet import backbone

ARCHITECTURE = "f2a-landmarknet-v1"


@dataclass(frozen=True)
class LandmarkNetConfig:
    size: int = 64  # crop side: BOX_EXPAND box sides (detect.cropnet)
    widths: tuple[int, ...] = (16, 32, 48, 64)  # four stride-2 stages: a 4×4 map at 64 px
    hidden: int = 128

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LandmarkNetConfig:
        return cls(int(data["size"]), tuple(int(w) for w in data["widths"]), int(data["hidden"]))


class LandmarkNet(nn.Module):
    def __init__(self, cfg: LandmarkNetConfig = LandmarkNetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.features = backbone(cfg.widths)
        cells = (cfg.size // 2 ** len(cfg.widths)) ** 2
        self.fc = nn.Sequential(nn.Linear(cfg.widths[-1] * cells + 1, cfg.hidden), nn.ReLU(inplace=True))
        self.points = nn.Linear(cfg.hidden + 1, 136)
        self.vis = nn.Linear(cfg.hidden, 68)
        nn.init.zeros_(self.points.weight)
        nn.init.zeros_(self.points.bias)

    def forward(self, x: torch.Tensor, p_female: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x N×3×S×S in 0..1, p_female N → points N×68×2 in crop units (0..1), visibility logits N×68."""
        s = (p_female.float()[:, None] - 0.5) * 2
        f = self.fc(torch.cat([self.features(x - 0.5).flatten(1), s], dim=1))
        pts = self.points(torch.cat([f, s], dim=1)).view(-1, 68, 2) + 0.5
        return pts, self.vis(f)
