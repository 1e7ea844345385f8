"""Normalisation layers by name, and the inference form of batch norm that pix2pix needs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn


def norm_layer(name: str) -> Callable[[int], nn.Module]:
    """batch (affine, running stats), instance (no affine, no running stats, as in the reference), none."""
    if name == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if name == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if name == "none":
        return lambda _channels: nn.Identity()
    raise ValueError(f"unknown norm {name!r}; known: batch, instance, none")


def uses_bias(name: str) -> bool:
    """Convolutions before batch norm drop their bias (the norm's shift replaces it), as the reference does."""
    return name != "batch"


class BatchStatNorm(nn.Module):
    """Batch norm that normalises with the statistics of the batch at hand, also in eval mode.

    pix2pix trains with batch 1, where batch norm is instance norm with an affine; the running averages are
    a poor fit, which is why the reference test script keeps the nets in train mode. This module gives that
    output deterministically (no running-stat updates) and exports to ONNX as plain reductions.
    """

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        self.eps = bn.eps
        self.weight = bn.weight
        self.bias = bn.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(0, 2, 3), keepdim=True)
        y = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y


def batch_stats_for_inference(net: nn.Module) -> nn.Module:
    """Swap every BatchNorm2d of `net` (in place) for BatchStatNorm; returns `net`."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            setattr(net, name, BatchStatNorm(child))
        else:
            batch_stats_for_inference(child)
    return net
