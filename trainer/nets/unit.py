"""UNIT (Liu et al. 2017), light: two VAE encoder/decoder pairs whose innermost residual blocks are shared,
so both domains map into one latent space. The latent is the encoder's mean plus unit Gaussian noise, with
the KL term reduced to the mean of μ² (as the UNIT authors' code does)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.nets.resnet import ResnetBlock


class UnitEncoder(nn.Module):
    def __init__(self, input_nc: int, ngf: int, n_down: int, n_res: int, shared: nn.Module) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), nn.InstanceNorm2d(ngf),
                                   nn.ReLU(True)]
        c = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1), nn.InstanceNorm2d(c * 2), nn.ReLU(True)]
            c *= 2
        layers += [ResnetBlock(c, "instance", False) for _ in range(n_res)]
        self.private = nn.Sequential(*layers)
        self.shared = shared
        self.channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.private(x))


class UnitDecoder(nn.Module):
    def __init__(self, output_nc: int, channels: int, n_up: int, n_res: int, shared: nn.Module) -> None:
        super().__init__()
        self.shared = shared
        layers: list[nn.Module] = [ResnetBlock(channels, "instance", False) for _ in range(n_res)]
        c = channels
        for _ in range(n_up):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c // 2, 5, 1, 2),
                       nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, output_nc, 7), nn.Tanh()]
        self.private = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.private(self.shared(z))


class UnitPair(nn.Module):
    """Both domains' encoders and decoders, holding the shared blocks once."""

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 32, n_res: int = 2, n_down: int = 2) -> None:
        super().__init__()
        c = ngf * 2 ** n_down
        self.enc_shared = ResnetBlock(c, "instance", False)
        self.dec_shared = ResnetBlock(c, "instance", False)
        self.enc_a = UnitEncoder(input_nc, ngf, n_down, n_res, self.enc_shared)
        self.enc_b = UnitEncoder(output_nc, ngf, n_down, n_res, self.enc_shared)
        self.dec_a = UnitDecoder(input_nc, c, n_down, n_res, self.dec_shared)
        self.dec_b = UnitDecoder(output_nc, c, n_down, n_res, self.dec_shared)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A → B with the mean latent (no noise): what translate and ONNX export use."""
        return self.dec_b(self.enc_a(x))

    def encode(self, x: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        mu = (self.enc_a if domain == "A" else self.enc_b)(x)
        noise = torch.randn_like(mu) if self.training else torch.zeros_like(mu)
        return mu, mu + noise

    def decode(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.dec_a if domain == "A" else self.dec_b)(z)
