"""GAN objectives by name: vanilla (BCE with logits), lsgan (MSE to 1/0) and hinge."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class GANLoss(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in ("vanilla", "lsgan", "hinge"):
            raise ValueError(f"unknown gan_mode {mode!r}; known: hinge, lsgan, vanilla")
        self.mode = mode

    def forward(self, prediction: torch.Tensor, target_is_real: bool, *, for_discriminator: bool = True
                ) -> torch.Tensor:
        prediction = prediction.float()  # the loss in fp32 also under autocast
        if self.mode == "vanilla":
            target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
            return F.binary_cross_entropy_with_logits(prediction, target)
        if self.mode == "lsgan":
            target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
            return F.mse_loss(prediction, target)
        if for_discriminator:  # hinge
            return F.relu(1 - prediction).mean() if target_is_real else F.relu(1 + prediction).mean()
        return -prediction.mean()  # the generator's hinge term
