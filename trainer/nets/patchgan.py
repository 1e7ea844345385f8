"""The PatchGAN discriminator: with n_layers 3 each output judges a 70×70 patch (2,768,705 parameters at ndf 64
with batch norm and 6 input channels, as the reference's NLayerDiscriminator)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.nets.norm import norm_layer, uses_bias


class PatchDiscriminator(nn.Module):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
                 spectral: bool = False) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)

        def conv(i: int, o: int, stride: int, b: bool = True) -> nn.Module:
            layer = nn.Conv2d(i, o, 4, stride, 1, bias=b)
            return nn.utils.spectral_norm(layer) if spectral else layer

        layers: list[nn.Module] = [conv(input_nc, ndf, 2), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [conv(ndf * prev, ndf * mult, stride, bias), make_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(conv(ndf * mult, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
