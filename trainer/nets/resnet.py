"""The CycleGAN ResNet generator: 7×7 stem, two stride-2 downsamplings, n residual blocks, two transposed
upsamplings, 7×7 head (resnet_9blocks at ngf 64, instance norm: 11,378,179 parameters, the reference's)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.nets.norm import norm_layer, uses_bias


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: bool) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim),
                                   nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, n_blocks: int = 9, norm: str = "instance",
                 dropout: bool = False) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), make_norm(ngf),
                                   nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias), make_norm(c * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2, 0, -1):
            c = ngf * 2 ** i
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias), make_norm(c // 2),
                       nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
