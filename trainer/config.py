"""One frozen, validated training configuration, saved as JSON with every checkpoint.

Defaults follow the published setups so results compare with the reference code: pix2pix (Adam 2e-4, β1 0.5,
λ_L1 100, batch 1, batch norm, dropout, unet_256 + 70×70 PatchGAN, vanilla GAN) and CycleGAN (lsgan, λ 10,
identity 0.5, pool 50, instance norm, resnet_9blocks). `preset(name)` gives those and small CPU variants.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_VERSION = 1

MODEL_NAMES = ("pix2pix", "cyclegan", "unit", "ugatit")
GAN_MODES = ("vanilla", "lsgan", "hinge")
NORMS = ("batch", "instance", "none")
AMP_MODES = ("auto", "off", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZER_IMPLS = ("auto", "foreach", "fused", "plain")
DIRECTIONS = ("AtoB", "BtoA")

# Fields that decide the shapes of the weights: a checkpoint only loads into a config that agrees on these.
ARCH_FIELDS = ("model", "net_g", "net_d", "ngf", "ndf", "n_layers_d", "unet_downs", "norm", "input_nc", "output_nc",
               "dropout", "n_blocks")


class ConfigError(ValueError):
    """A training configuration that cannot be run; the message names the field."""


@dataclass(frozen=True)
class TrainConfig:
    model: str = "pix2pix"
    # networks
    net_g: str = "unet_256"
    net_d: str = "patchgan"
    ngf: int = 64
    ndf: int = 64
    n_layers_d: int = 3
    unet_downs: int = 0  # 0: from net_g (unet_256 → 8, unet_128 → 7); else the U-Net depth
    n_blocks: int = 0  # resnet/unit/ugatit residual blocks; 0: from net_g (resnet_9blocks → 9)
    norm: str = "batch"
    dropout: bool = True
    input_nc: int = 3
    output_nc: int = 3
    init_gain: float = 0.02
    # losses
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 0
    # data
    direction: str = "AtoB"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    batch_size: int = 1
    workers: int = 0
    # optimisation
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    epochs: int = 100  # at the initial learning rate
    epochs_decay: int = 100  # then linearly down to zero
    max_steps: int = 0  # 0: run all epochs; else stop (with a resume checkpoint) after this many steps
    seed: int = 0
    # speed
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool = True
    compile: bool = False
    optimizer_impl: str = "auto"
    threads: int = 0  # 0: leave torch's default
    sync_bn: bool = False  # under DDP: convert batch norm to SyncBatchNorm (else batch norm is refused)
    # feedback
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 1000
    n_samples: int = 4
    extra: dict[str, Any] = field(default_factory=dict)  # model-specific weights (unit, ugatit)

    def __post_init__(self) -> None:
        def one_of(name: str, allowed: tuple[str, ...]) -> None:
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")

        one_of("model", MODEL_NAMES)
        one_of("gan_mode", GAN_MODES)
        one_of("norm", NORMS)
        one_of("amp", AMP_MODES)
        one_of("device", DEVICES)
        one_of("optimizer_impl", OPTIMIZER_IMPLS)
        one_of("direction", DIRECTIONS)
        for name in ("ngf", "ndf", "n_layers_d", "batch_size", "crop_size", "load_size", "input_nc", "output_nc",
                     "log_every", "sample_every", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1; got {getattr(self, name)!r}")
        for name in ("epochs", "epochs_decay", "max_steps", "workers", "pool_size", "threads", "unet_downs",
                     "n_blocks", "n_samples"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must not be negative; got {getattr(self, name)!r}")
        if self.epochs + self.epochs_decay < 1:
            raise ConfigError("epochs + epochs_decay must be at least 1")
        if self.load_size < self.crop_size:
            raise ConfigError(f"load_size ({self.load_size}) must be at least crop_size ({self.crop_size})")
        if not 0 < self.lr < 1:
            raise ConfigError(f"lr must be in (0, 1); got {self.lr}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("beta1 and beta2 must be in [0, 1)")
        downs = self.unet_depth
        if self.net_g.startswith("unet") and self.crop_size % (2 ** downs):
            raise ConfigError(f"crop_size {self.crop_size} must be a multiple of 2^{downs} for {self.net_g} "
                              f"with {downs} downsamplings (try unet_128 or a smaller unet_downs)")
        if self.model != "pix2pix" and self.pool_size > 1000:
            raise ConfigError("pool_size above 1000 keeps too many images in memory")
        for name in ("lambda_l1", "lambda_cycle", "lambda_identity", "init_gain"):
            if float(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must not be negative")
        if not isinstance(self.extra, dict):
            raise ConfigError("extra must be a mapping of names to numbers")

    @property
    def unet_depth(self) -> int:
        if self.unet_downs:
            return self.unet_downs
        return {"unet_256": 8, "unet_128": 7}.get(self.net_g, 8)

    @property
    def resnet_blocks(self) -> int:
        if self.n_blocks:
            return self.n_blocks
        return {"resnet_9blocks": 9, "resnet_6blocks": 6}.get(self.net_g, 4)

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def weight(self, name: str, default: float) -> float:
        return float(self.extra.get(name, default))

    def arch(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ARCH_FIELDS}

    def to_json(self) -> dict[str, Any]:
        return {"config_version": CONFIG_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        version = data.pop("config_version", CONFIG_VERSION)
        if not isinstance(version, int) or version > CONFIG_VERSION:
            raise ConfigError(f"config version {version!r} is newer than this trainer reads ({CONFIG_VERSION})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, indent=2) + "\n"

    def save(self, path: Path) -> None:
        from trainer.atomic import write_bytes

        write_bytes(Path(path), self.dumps().encode())

    def override(self, **changes: Any) -> TrainConfig:
        changes = {k: v for k, v in changes.items() if v is not None}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return replace(self, **changes)


_CYCLE = {"model": "cyclegan", "net_g": "resnet_9blocks", "norm": "instance", "gan_mode": "lsgan", "dropout": False,
          "pool_size": 50}

PRESETS: dict[str, dict[str, Any]] = {
    # the published setups
    "pix2pix": {},
    "cyclegan": _CYCLE,
    # small and quick: keypoints → face at 128² on a laptop CPU
    "pix2pix-fast-cpu": {"net_g": "unet_128", "ngf": 32, "ndf": 32, "load_size": 142, "crop_size": 128,
                         "epochs": 20, "epochs_decay": 20, "sample_every": 100, "checkpoint_every": 500},
    "cyclegan-fast-cpu": {**_CYCLE, "net_g": "resnet_6blocks", "ngf": 32, "ndf": 32, "load_size": 142,
                          "crop_size": 128, "epochs": 20, "epochs_decay": 20, "sample_every": 100},
    "unit-light": {"model": "unit", "net_g": "unit", "norm": "instance", "gan_mode": "lsgan", "dropout": False,
                   "ngf": 32, "ndf": 32, "n_blocks": 2, "load_size": 142, "crop_size": 128, "lr": 1e-4},
    "ugatit-light": {"model": "ugatit", "net_g": "ugatit", "norm": "instance", "gan_mode": "lsgan", "dropout": False,
                     "ngf": 32, "ndf": 32, "n_blocks": 4, "n_layers_d": 5, "load_size": 142, "crop_size": 128,
                     "lr": 1e-4, "beta2": 0.999},
}


def preset(name: str, **changes: Any) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return TrainConfig(**PRESETS[name]).override(**changes)
