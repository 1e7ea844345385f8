"""The lifecycle every model follows (after the reference's BaseModel): `set_input(batch)`, `optimize_step()`
returning the step's losses, and `translate(x)` for samples and inference.

What differs from the reference: networks live in one dict (no `getattr(self, "net" + name)`), and everything
a resume needs (weights, optimizers, schedulers, pools) is reachable from here for trainer/checkpoint.py.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod

import torch
from torch import nn

from trainer.config import TrainConfig
from trainer.losses import GANLoss
from trainer.nets.norm import batch_stats_for_inference
from trainer.pool import ImagePool
from trainer.runtime import Runtime


def set_requires_grad(nets: list[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def lr_factor(cfg: TrainConfig):
    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - cfg.epochs) / float(cfg.epochs_decay + 1)

    return factor


class GANModel(ABC):
    loss_names: tuple[str, ...] = ()
    generator_name: str = "G"  # the net `translate` and ONNX export use

    def __init__(self, cfg: TrainConfig, runtime: Runtime) -> None:
        self.cfg = cfg
        self.rt = runtime
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self.pools: dict[str, ImagePool] = {}
        self.gan = GANLoss(cfg.gan_mode)
        self.build()
        for name, net in self.nets.items():
            self.nets[name] = runtime.place(net)
        self._calls = {name: (torch.compile(net) if runtime.compile else net) for name, net in self.nets.items()}
        self.make_optimizers()
        for name, opt in self.optimizers.items():
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg))

    # ---------------------------------------------------------------- to implement
    @abstractmethod
    def build(self) -> None:
        """Fill self.nets (and self.pools)."""

    @abstractmethod
    def make_optimizers(self) -> None:
        """Fill self.optimizers."""

    @abstractmethod
    def set_input(self, batch: dict[str, torch.Tensor]) -> None: ...

    @abstractmethod
    def optimize_step(self) -> dict[str, float]: ...

    def visuals(self) -> list[torch.Tensor]:
        """Rows of the sample grid for the current input: input, translation, target."""
        return [self.real_a, self.translate(self.real_a), self.real_b]

    # ---------------------------------------------------------------- shared
    def net(self, name: str) -> nn.Module:
        """The callable form (compiled when asked for); self.nets holds the plain modules for saving."""
        return self._calls[name]

    def adam(self, *names: str) -> torch.optim.Adam:
        params = [p for n in names for p in self.nets[n].parameters()]
        return self.rt.adam(params, self.cfg.lr, (self.cfg.beta1, self.cfg.beta2))

    def train(self) -> None:
        for net in self.nets.values():
            net.train()

    def inference_generator(self) -> nn.Module:
        """A copy of the generator for inference: eval mode, batch norm on the batch's statistics, no dropout.
        A copy so that sampling during training leaves weights, running stats and RNG streams alone."""
        return prepare_generator(copy.deepcopy(self.nets[self.generator_name]))

    @torch.no_grad()
    def translate(self, x: torch.Tensor) -> torch.Tensor:
        net = self.inference_generator()
        with self.rt.autocast():
            return net(x).float()

    def step_schedulers(self) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step()

    @property
    def lr(self) -> float:
        return next(iter(self.optimizers.values())).param_groups[0]["lr"]


def prepare_generator(net: nn.Module) -> nn.Module:
    return batch_stats_for_inference(net).eval()
