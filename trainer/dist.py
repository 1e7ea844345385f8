"""Data-parallel training across processes started by torchrun (gloo on CPU, nccl on GPU).

Gradients are averaged with all-reduce after each backward, before each optimizer step. That is what
DistributedDataParallel does, done by hand here because GAN steps break DDP's assumptions: D runs frozen
inside G's step (its parameters get no gradient that iteration) and CycleGAN runs each generator two or three
times before one backward. Weights and buffers start equal (broadcast from rank 0) and stay equal because
every rank applies the same averaged gradients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from trainer.config import ConfigError, TrainConfig


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistInfo:
    """torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them this is a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device_type: str) -> None:
    if info.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=info.rank, world_size=info.world)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def check_norms(cfg: TrainConfig, info: DistInfo, device_type: str) -> None:
    """Batch norm under DDP sees only one rank's batch: convert it (GPU) or refuse it, never ignore it."""
    if not info.enabled or cfg.norm != "batch":
        return
    if not cfg.sync_bn:
        raise ConfigError("batch norm under DDP would normalise each process's batch alone; pass --sync-bn to "
                          "convert it to SyncBatchNorm (CUDA), or use --norm instance")
    if device_type != "cuda":
        raise ConfigError("SyncBatchNorm runs on CUDA only; on CPU under DDP use --norm instance")


def convert_sync_bn(nets: dict[str, nn.Module], cfg: TrainConfig, info: DistInfo) -> None:
    if info.enabled and cfg.norm == "batch" and cfg.sync_bn:
        for name, net in nets.items():
            nets[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)


def broadcast_module(net: nn.Module) -> None:
    for tensor in [*net.parameters(), *net.buffers()]:
        dist.broadcast(tensor.data, src=0)


def average_gradients(nets: list[nn.Module], world: int) -> None:
    grads = [p.grad for net in nets for p in net.parameters() if p.grad is not None]
    if not grads:
        return
    # one flat buffer per call: a single all-reduce instead of one per tensor
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat.div_(world)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def gather(state: torch.Tensor, info: DistInfo) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped tensor (all ranks call this): RNG states, image pools, so a resume
    restores each rank's own."""
    if not info.enabled:
        return [state]
    out = [torch.empty_like(state) for _ in range(info.world)]
    dist.all_gather(out, state)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
