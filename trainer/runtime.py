"""Where and how the steps run: device, mixed precision, memory format, and the data-parallel group.

Choices measured on the shared 2-core CPU box (benchmarks/train_bench.py, medians, same run): bf16 autocast made
the pix2pix unet_256 step 1.6–2× faster than fp32 and the CycleGAN resnet_9blocks step ~1.6× faster, on a CPU
with AVX512-BF16; so `auto` uses bf16 on CPUs whose oneDNN reports bf16 support and fp32 elsewhere (emulated
bf16 is slower). channels_last and foreach Adam measured within noise of the plain setup on CPU; they stay on
(they help on GPUs). On CUDA `auto` is bf16 where supported, else fp16 with a GradScaler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from trainer.config import ConfigError, TrainConfig


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for, but torch sees no CUDA device")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device mps was asked for, but this torch has no MPS support here")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def pick_amp(mode: str, device: torch.device) -> torch.dtype | None:
    if mode == "off" or (mode == "auto" and device.type == "mps"):
        return None
    if mode == "auto" and device.type == "cpu":
        return torch.bfloat16 if cpu_has_bf16() else None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        if device.type == "cpu":
            raise ConfigError("amp fp16 is for GPUs; on CPU use amp bf16 or off")
        return torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@dataclass
class Runtime:
    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    compile: bool = False
    optimizer_impl: str = "plain"
    rank: int = 0
    world: int = 1
    scaler: torch.amp.GradScaler | None = field(default=None)

    @classmethod
    def from_config(cls, cfg: TrainConfig, *, rank: int = 0, world: int = 1,
                    device: torch.device | None = None) -> Runtime:
        device = device or pick_device(cfg.device)
        amp = pick_amp(cfg.amp, device)
        impl = cfg.optimizer_impl
        if impl == "auto":
            impl = "fused" if device.type == "cuda" else "foreach"
        scaler = torch.amp.GradScaler(device.type) if amp is torch.float16 else None
        return cls(device, amp, cfg.channels_last and device.type != "mps", cfg.compile, impl, rank, world, scaler)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.amp_dtype is None:
            yield
            return
        with torch.autocast(self.device.type, dtype=self.amp_dtype):
            yield

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def place(self, net: nn.Module) -> nn.Module:
        net = net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net

    def adam(self, params: list[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        kwargs = {"fused": True} if self.optimizer_impl == "fused" else {}
        if self.optimizer_impl == "foreach":
            kwargs = {"foreach": True}
        if self.optimizer_impl == "plain":
            kwargs = {"foreach": False}
        return torch.optim.Adam(params, lr=lr, betas=betas, **kwargs)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, nets: list[nn.Module]) -> None:
        """Average gradients over the data-parallel group, then step."""
        if self.world > 1:
            from trainer.dist import average_gradients

            average_gradients(nets, self.world)
        if self.scaler:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def end_iteration(self) -> None:
        if self.scaler:
            self.scaler.update()
