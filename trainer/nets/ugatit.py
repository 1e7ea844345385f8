"""U-GAT-IT light (Kim et al. 2020): a ResNet generator with class-activation-map (CAM) attention and AdaLIN
residual blocks whose γ, β come from a small MLP; and a CAM PatchGAN discriminator with spectral norm.

"Light" is where the official code runs out of memory: its full MLP flattens the whole feature map
(64²·256 inputs at 256²), the light one pools it to one vector per channel first.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from trainer.nets.resnet import ResnetBlock


class ILN(nn.Module):
    """Instance-layer norm: a learned mix ρ of instance and layer normalisation, with optional given γ, β."""

    def __init__(self, channels: int, rho: float, affine: bool, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), rho))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1)) if affine else None
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1)) if affine else None

    def forward(self, x: torch.Tensor, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None
                ) -> torch.Tensor:
        in_mean = x.mean(dim=(2, 3), keepdim=True)
        in_var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
        ln_mean = x.mean(dim=(1, 2, 3), keepdim=True)
        ln_var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        out_in = (x - in_mean) * torch.rsqrt(in_var + self.eps)
        out_ln = (x - ln_mean) * torch.rsqrt(ln_var + self.eps)
        rho = self.rho.clamp(0, 1)  # the reference clips ρ after each step; clamping here keeps it valid always
        out = rho * out_in + (1 - rho) * out_ln
        if gamma is None:
            gamma, beta = self.gamma, self.beta
        else:
            gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]
        return out * gamma + beta


class AdaLINBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, 1, 1, padding_mode="reflect")
        self.norm1 = ILN(dim, 0.9, affine=False)
        self.conv2 = nn.Conv2d(dim, dim, 3, 1, 1, padding_mode="reflect")
        self.norm2 = ILN(dim, 0.9, affine=False)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x), gamma, beta))
        return x + self.norm2(self.conv2(h), gamma, beta)


class CAM(nn.Module):
    """Weights the features by a global-average and a global-max classifier's weights; returns the re-weighted
    features, the two classifiers' logits (trained to tell the domains apart) and a heatmap."""

    def __init__(self, dim: int, spectral: bool = False) -> None:
        super().__init__()
        wrap = nn.utils.spectral_norm if spectral else (lambda m: m)
        self.gap_fc = wrap(nn.Linear(dim, 1, bias=False))
        self.gmp_fc = wrap(nn.Linear(dim, 1, bias=False))
        self.mix = nn.Conv2d(dim * 2, dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gap_logit = self.gap_fc(x.mean(dim=(2, 3)))
        gmp_logit = self.gmp_fc(x.amax(dim=(2, 3)))
        w_gap = self.gap_fc.weight.view(1, -1, 1, 1)
        w_gmp = self.gmp_fc.weight.view(1, -1, 1, 1)
        h = self.mix(torch.cat([x * w_gap, x * w_gmp], 1))
        return h, torch.cat([gap_logit, gmp_logit], 1), h.sum(dim=1, keepdim=True)


class UgatitGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, ngf: int = 32, n_blocks: int = 4) -> None:
        super().__init__()
        enc: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=False),
                                nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(2):
            enc += [nn.ReflectionPad2d(1), nn.Conv2d(c, c * 2, 3, 2, bias=False), nn.InstanceNorm2d(c * 2),
                    nn.ReLU(True)]
            c *= 2
        enc += [ResnetBlock(c, "instance", False) for _ in range(n_blocks)]
        self.encoder = nn.Sequential(*enc)
        self.cam = CAM(c)
        self.mlp = nn.Sequential(nn.Linear(c, c, bias=False), nn.ReLU(True), nn.Linear(c, c, bias=False),
                                 nn.ReLU(True))
        self.gamma = nn.Linear(c, c, bias=False)
        self.beta = nn.Linear(c, c, bias=False)
        self.blocks = nn.ModuleList(AdaLINBlock(c) for _ in range(n_blocks))
        up: list[nn.Module] = []
        for _ in range(2):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                   nn.Conv2d(c, c // 2, 3, bias=False), _ILNLayer(c // 2), nn.ReLU(True)]
            c //= 2
        up += [nn.ReflectionPad2d(3), nn.Conv2d(c, output_nc, 7, bias=False), nn.Tanh()]
        self.decoder = nn.Sequential(*up)

    def translate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, cam_logit, heatmap = self.cam(self.encoder(x))
        style = self.mlp(h.mean(dim=(2, 3)))  # light: pooled before the MLP
        gamma, beta = self.gamma(style), self.beta(style)
        for block in self.blocks:
            h = block(h, gamma, beta)
        return self.decoder(h), cam_logit, heatmap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.translate(x)[0]


class _ILNLayer(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = ILN(channels, 0.0, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class UgatitDiscriminator(nn.Module):
    """A PatchGAN with spectral norm and a CAM before its last layer; returns (patch logits, CAM logits)."""

    def __init__(self, input_nc: int, ndf: int = 32, n_layers: int = 5) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), sn(nn.Conv2d(input_nc, ndf, 4, 2)), nn.LeakyReLU(0.2, True)]
        c = ndf
        for _ in range(1, n_layers - 2):
            layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(c, c * 2, 4, 2)), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers += [nn.ReflectionPad2d(1), sn(nn.Conv2d(c, c * 2, 4, 1)), nn.LeakyReLU(0.2, True)]
        c *= 2
        self.features = nn.Sequential(*layers)
        self.cam = CAM(c, spectral=True)
        self.head = nn.Sequential(nn.LeakyReLU(0.2, True), nn.ReflectionPad2d(1), sn(nn.Conv2d(c, 1, 4, 1)))

    def judge(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, cam_logit, _ = self.cam(self.features(x))
        return self.head(h), cam_logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge(x)[0]
