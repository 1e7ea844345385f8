"""Small real generators for the preview's tests and benchmark, written as in pytorch-CycleGAN-and-pix2pix.

The preview loads trainer/'s networks through f2a_studio/preview/loader.py; these stand-ins let the engine
be tested (and benchmarked) without trainer/: the same U-Net skip structure and ResNet blocks, at any width.
"""

from __future__ import annotations

import torch
from torch import nn


class UnetBlock(nn.Module):
    """One level of the pix2pix U-Net: down, the inner levels, up, concatenated with the skip."""

    def __init__(self, outer: int, inner: int, in_nc: int | None = None, sub: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: type[nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        self.outermost = outermost
        in_nc = in_nc or outer
        down = nn.Conv2d(in_nc, inner, 4, 2, 1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, sub, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, norm(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, norm(inner), sub, nn.ReLU(True), up, norm(outer)]
        self.model = nn.Sequential(*[m for m in layers if m is not None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, in_nc: int = 3, out_nc: int = 3, num_downs: int = 7, ngf: int = 32) -> None:
        super().__init__()
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, sub=block)
        block = UnetBlock(ngf * 4, ngf * 8, sub=block)
        block = UnetBlock(ngf * 2, ngf * 4, sub=block)
        block = UnetBlock(ngf, ngf * 2, sub=block)
        self.model = UnetBlock(out_nc, ngf, in_nc=in_nc, sub=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: two downsamplings, n residual blocks, two upsamplings (instance norm)."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, ngf: int = 16, n_blocks: int = 2) -> None:
        super().__init__()
        norm = nn.InstanceNorm2d
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, ngf, 7), norm(ngf), nn.ReLU(True)]
        for k in range(2):
            m = 2**k
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1), norm(ngf * m * 2), nn.ReLU(True)]
        width = ngf * 4
        layers += [_ResBlock(width) for _ in range(n_blocks)]
        for k in range(2):
            m = 2 ** (2 - k)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1), norm(ngf * m // 2),
                       nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _ResBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
                                   nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)
