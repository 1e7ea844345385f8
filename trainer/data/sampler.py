"""A distributed sampler that can resume in the middle of an epoch.

Like torch's DistributedSampler (a per-epoch seeded permutation, padded to a multiple of the world size and
dealt out by rank), but it also skips the items a rank already trained on this epoch, and it yields
(epoch, index) so the dataset seeds its augmentation draw without any state in the workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[tuple[int, int]]):
    def __init__(self, n: int, seed: int, *, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        self.n, self.seed, self.rank, self.world, self.shuffle = n, seed, rank, world, shuffle
        self.epoch = 0
        self.start = 0
        self.per_rank = math.ceil(n / world)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """`start`: items of this epoch this rank has already seen."""
        self.epoch, self.start = epoch, start

    def indices(self) -> list[int]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        else:
            order = list(range(self.n))
        padded = (order * math.ceil(self.per_rank * self.world / self.n))[: self.per_rank * self.world]
        return padded[self.rank::self.world]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in self.indices()[self.start:]:
            yield self.epoch, index

    def __len__(self) -> int:
        return self.per_rank - self.start
