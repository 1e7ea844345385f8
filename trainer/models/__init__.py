"""Models by name (config `model`); unknown names fail listing the known ones."""

from __future__ import annotations

from trainer.config import ConfigError, TrainConfig
from trainer.models.base import GANModel
from trainer.models.cyclegan import CycleGANModel
from trainer.models.pix2pix import Pix2PixModel
from trainer.models.ugatit import UGATITModel
from trainer.models.unit import UNITModel
from trainer.runtime import Runtime

MODELS: dict[str, type[GANModel]] = {
    "pix2pix": Pix2PixModel,
    "cyclegan": CycleGANModel,
    "unit": UNITModel,
    "ugatit": UGATITModel,
}

# which export layouts each model reads
PAIRED = {"pix2pix"}


def build_model(cfg: TrainConfig, runtime: Runtime) -> GANModel:
    try:
        cls = MODELS[cfg.model]
    except KeyError:
        raise ConfigError(f"unknown model {cfg.model!r}; known: {', '.join(sorted(MODELS))}") from None
    return cls(cfg, runtime)
