"""The pix2pix U-Net generator: `depth` stride-2 convolutions down to 1×1 at the trained size, skips between
mirrored levels, widths ngf·(1, 2, 4, 8, 8, …). unet_256 is depth 8, unet_128 depth 7; at ngf 64 with batch
norm unet_256 has 54,413,955 parameters (the reference reports 54.414 M).

Same maths as the reference's recursive UnetSkipConnectionBlock, including a quirk that matters for matching
it: the in-place LeakyReLU at the start of each inner block also changes the tensor kept for the skip, so the
skip carries the activated features. Written as two loops instead of recursion so the levels are explicit.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.nets.norm import norm_layer, uses_bias


class UnetGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, depth: int = 8, ngf: int = 64, norm: str = "batch",
                 dropout: bool = True) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"U-Net depth must be at least 2, got {depth}")
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]  # channels after down conv i
        self.depth = depth
        self.first = nn.Conv2d(input_nc, widths[0], 4, 2, 1, bias=bias)
        downs = []
        for i in range(1, depth):
            layers: list[nn.Module] = [nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=bias)]
            if i < depth - 1:  # the innermost level has no norm (its output is 1×1)
                layers.append(make_norm(widths[i]))
            downs.append(nn.Sequential(*layers))
        self.downs = nn.ModuleList(downs)
        ups = []
        for i in range(depth - 1, 0, -1):
            inner = widths[i] if i == depth - 1 else widths[i] * 2
            layers = [nn.ConvTranspose2d(inner, widths[i - 1], 4, 2, 1, bias=bias), make_norm(widths[i - 1])]
            # dropout on the inner 8×-wide levels below the innermost, as the reference (num_downs - 5 of them)
            if dropout and i < depth - 1 and i >= 4:
                layers.append(nn.Dropout(0.5))
            ups.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList(ups)
        self.last = nn.ConvTranspose2d(widths[0] * 2, output_nc, 4, 2, 1)
        # in place, as the reference: no backward below needs the overwritten tensors (conv and batch-norm
        # backward use their inputs, cat's backward nothing), and it saves a copy of every feature map
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        skips = []
        for down in self.downs:
            h = self.lrelu(h)
            skips.append(h)
            h = down(h)
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            h = torch.cat([skip, up(self.relu(h))], 1)
        return torch.tanh(self.last(self.relu(h)))
