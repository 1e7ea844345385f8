"""The sex classifier's network: a small CNN on 64 px aligned face crops, one logit for female."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from f2a_studio.detect.cropnet import backbone

ARCHITECTURE = "f2a-sexnet-v1"


@dataclass(frozen=True)
class SexNetConfig:
    size: int = 64  # aligned crop side (core.align sizes: a power of two)
    margin: float = 0.3  # core.align margin: hair and jaw are in the crop (both tell sex on drawn faces)
    widths: tuple[int, ...] = (16, 32, 48, 64)

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SexNetConfig:
        return cls(int(data["size"]), float(data["margin"]), tuple(int(w) for w in data["widths"]))


class SexNet(nn.Module):
    def __init__(self, cfg: SexNetConfig = SexNetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.features = backbone(cfg.widths)
        self.head = nn.Linear(cfg.widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N×3×S×S in 0..1 → N logits (female)
        f = self.features(x - 0.5).mean(dim=(2, 3))
        return self.head(f)[:, 0]
