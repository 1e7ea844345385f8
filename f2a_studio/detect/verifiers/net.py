"""The crop verifier's network: a small CNN on a 96 px crop around the candidate's box, one logit for "a face"
and, with ``box_head``, where the face's box really is (verifiers/refine.py: offsets from the crop's box).

The head flattens the last map instead of pooling it (unlike the sex classifier): whether a face
sits *in the middle* of the crop, at the box's size, is what tells a face box from a box on hair, a hand
or a balloon beside one, and global pooling would throw that position away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from f2a_studio.detect.cropnet import backbone

ARCHITECTURE = "f2a-verifiernet-v1"


@dataclass(frozen=True)
class VerifierNetConfig:
    size: int = 96  # crop side in pixels (devset, recall at precision 0.85: 0.43/0.45 against 0.38/0.44 at 64)
    widths: tuple[int, ...] = (16, 32, 48, 64)  # four stride-2 stages: a 6×6 map at 96 px
    hidden: int = 64
    span: float = 1.5  # box sides the crop covers, around the box's centre (the landmark model's crop)
    box_head: bool = True  # 4 more outputs: the face box's offsets (refine.py); cards before it had none

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifierNetConfig:
        return cls(int(data["size"]), tuple(int(w) for w in data["widths"]), int(data["hidden"]),
                   float(data.get("span", 1.5)), bool(data.get("box_head", False)))

    @property
    def outputs(self) -> int:
        return 5 if self.box_head else 1


class VerifierNet(nn.Module):
    def __init__(self, cfg: VerifierNetConfig = VerifierNetConfig()) -> None:
        super().__init__()
        if cfg.size % 2 ** len(cfg.widths):
            raise ValueError(f"verifier crop side {cfg.size} must be a multiple of {2 ** len(cfg.widths)}")
        self.cfg = cfg
        self.features = backbone(cfg.widths)
        cells = (cfg.size // 2 ** len(cfg.widths)) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cfg.widths[-1] * cells, cfg.hidden), nn.ReLU(inplace=True),
                                  nn.Linear(cfg.hidden, cfg.outputs))
        # a training setting, not the architecture (no weights, not in the card): the share of the flattened
        # map's cells dropped while training (VerifierTrainConfig.dropout); the head holds most of the weights
        self.dropout = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N×3×S×S in 0..1 → N×outputs: column 0 the logit of "a face", then (box head) the offsets."""
        flat = self.head[0](self.features(x - 0.5))
        if self.dropout and self.training:
            flat = nn.functional.dropout(flat, self.dropout, training=True)
        return self.head[1:](flat)
