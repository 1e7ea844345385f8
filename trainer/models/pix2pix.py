"""pix2pix (Isola et al. 2017): a conditional GAN on A|B pairs. D judges (A, B) pairs; G is also pulled
towards B by λ_L1·|G(A) − B|. D is updated before G on the same fake, as in the reference."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from trainer.models.base import GANModel, set_requires_grad
from trainer.nets import build_discriminator, build_generator


class Pix2PixModel(GANModel):
    loss_names = ("G_GAN", "G_L1", "D_real", "D_fake")

    def build(self) -> None:
        self.nets["G"] = build_generator(self.cfg)
        self.nets["D"] = build_discriminator(self.cfg, self.cfg.input_nc + self.cfg.output_nc)

    def make_optimizers(self) -> None:
        self.optimizers["G"] = self.adam("G")
        self.optimizers["D"] = self.adam("D")

    def set_input(self, batch: dict[str, torch.Tensor]) -> None:
        a, b = (batch["A"], batch["B"]) if self.cfg.direction == "AtoB" else (batch["B"], batch["A"])
        self.real_a = self.rt.to_device(a)
        self.real_b = self.rt.to_device(b)

    def optimize_step(self) -> dict[str, float]:
        G, D, rt = self.net("G"), self.net("D"), self.rt
        with rt.autocast():
            fake_b = G(self.real_a)
        # discriminator
        set_requires_grad([self.nets["D"]], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with rt.autocast():
            loss_d_fake = self.gan(D(torch.cat([self.real_a, fake_b.detach()], 1)), False)
            loss_d_real = self.gan(D(torch.cat([self.real_a, self.real_b], 1)), True)
            loss_d = 0.5 * (loss_d_fake + loss_d_real)
        rt.backward(loss_d)
        rt.step(self.optimizers["D"], [self.nets["D"]])
        # generator (D frozen: no D gradients computed)
        set_requires_grad([self.nets["D"]], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with rt.autocast():
            loss_g_gan = self.gan(D(torch.cat([self.real_a, fake_b], 1)), True, for_discriminator=False)
            loss_g_l1 = F.l1_loss(fake_b.float(), self.real_b.float()) * self.cfg.lambda_l1
            loss_g = loss_g_gan + loss_g_l1
        rt.backward(loss_g)
        rt.step(self.optimizers["G"], [self.nets["G"]])
        rt.end_iteration()
        return {"G_GAN": loss_g_gan.item(), "G_L1": loss_g_l1.item() / max(self.cfg.lambda_l1, 1e-12),
                "D_real": loss_d_real.item(), "D_fake": loss_d_fake.item()}
