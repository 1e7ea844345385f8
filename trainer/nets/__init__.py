"""Networks by name. `build_generator(cfg)` / `build_discriminator(cfg, input_nc)` look the name up in
GENERATORS / DISCRIMINATORS and fail loudly, listing the known names; `init_weights` is the reference's
normal(0, 0.02) initialisation."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from trainer.config import ConfigError, TrainConfig
from trainer.nets.patchgan import PatchDiscriminator
from trainer.nets.resnet import ResnetGenerator
from trainer.nets.ugatit import UgatitDiscriminator, UgatitGenerator
from trainer.nets.unet import UnetGenerator
from trainer.nets.unit import UnitPair


def _unet(cfg: TrainConfig, i: int, o: int) -> nn.Module:
    return UnetGenerator(i, o, cfg.unet_depth, cfg.ngf, cfg.norm, cfg.dropout)


def _resnet(cfg: TrainConfig, i: int, o: int) -> nn.Module:
    return ResnetGenerator(i, o, cfg.ngf, cfg.resnet_blocks, cfg.norm, cfg.dropout)


GENERATORS: dict[str, Callable[[TrainConfig, int, int], nn.Module]] = {
    "unet_256": _unet,
    "unet_128": _unet,
    "unet": _unet,  # depth from unet_downs
    "resnet_9blocks": _resnet,
    "resnet_6blocks": _resnet,
    "resnet": _resnet,  # blocks from n_blocks
    "unit": lambda cfg, i, o: UnitPair(i, o, cfg.ngf, cfg.resnet_blocks),
    "ugatit": lambda cfg, i, o: UgatitGenerator(i, o, cfg.ngf, cfg.resnet_blocks),
}

DISCRIMINATORS: dict[str, Callable[[TrainConfig, int], nn.Module]] = {
    "patchgan": lambda cfg, i: PatchDiscriminator(i, cfg.ndf, cfg.n_layers_d, cfg.norm),
    "pixel": lambda cfg, i: PatchDiscriminator(i, cfg.ndf, 0, cfg.norm),
    "patchgan_sn": lambda cfg, i: PatchDiscriminator(i, cfg.ndf, cfg.n_layers_d, "none", spectral=True),
    "ugatit_cam": lambda cfg, i: UgatitDiscriminator(i, cfg.ndf, cfg.n_layers_d),
}


def _lookup(table: dict, kind: str, name: str) -> Callable:
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}") from None


def build_generator(cfg: TrainConfig, input_nc: int | None = None, output_nc: int | None = None) -> nn.Module:
    net = _lookup(GENERATORS, "generator", cfg.net_g)(cfg, input_nc or cfg.input_nc, output_nc or cfg.output_nc)
    return init_weights(net, cfg.init_gain)


def build_discriminator(cfg: TrainConfig, input_nc: int, name: str | None = None) -> nn.Module:
    return init_weights(_lookup(DISCRIMINATORS, "discriminator", name or cfg.net_d)(cfg, input_nc), cfg.init_gain)


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Conv/linear weights ~ N(0, gain), biases 0; batch-norm scales ~ N(1, gain), shifts 0 (the reference's
    'normal' init). Spectral-normed layers keep their parametrised weight (`weight_orig`)."""
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            weight = getattr(module, "weight_orig", module.weight)
            nn.init.normal_(weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
