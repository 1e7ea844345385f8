"""UNIT light: shared-latent VAE-GAN. Losses (weights after the UNIT authors' defaults, in cfg.extra):
GAN on both translations, within-domain reconstruction (10), KL (0.01), cycle reconstruction (10), cycle KL
(0.01). One optimizer for the encoder/decoder pair, one for both discriminators."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from trainer.models.base import GANModel, set_requires_grad
from trainer.nets import build_discriminator, build_generator


def _kl(mu: torch.Tensor) -> torch.Tensor:
    return mu.float().pow(2).mean()


class UNITModel(GANModel):
    loss_names = ("G_gan", "recon", "kl", "cycle", "D")

    def build(self) -> None:
        c = self.cfg
        self.nets["G"] = build_generator(c, c.input_nc, c.output_nc)
        self.nets["D_A"] = build_discriminator(c, c.input_nc)
        self.nets["D_B"] = build_discriminator(c, c.output_nc)

    def make_optimizers(self) -> None:
        self.optimizers["G"] = self.adam("G")
        self.optimizers["D"] = self.adam("D_A", "D_B")

    def set_input(self, batch: dict[str, torch.Tensor]) -> None:
        a, b = (batch["A"], batch["B"]) if self.cfg.direction == "AtoB" else (batch["B"], batch["A"])
        self.real_a = self.rt.to_device(a)
        self.real_b = self.rt.to_device(b)

    def optimize_step(self) -> dict[str, float]:
        c, rt = self.cfg, self.rt
        pair = self.nets["G"]  # encode/decode are methods, so the plain module (not the compiled call)
        d_a, d_b = self.net("D_A"), self.net("D_B")
        ds = [self.nets["D_A"], self.nets["D_B"]]
        w_recon, w_kl = c.weight("recon", 10.0), c.weight("kl", 0.01)
        w_cyc, w_cyc_kl = c.weight("cycle", 10.0), c.weight("cycle_kl", 0.01)
        set_requires_grad(ds, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with rt.autocast():
            mu_a, z_a = pair.encode(self.real_a, "A")
            mu_b, z_b = pair.encode(self.real_b, "B")
            rec_a, rec_b = pair.decode(z_a, "A"), pair.decode(z_b, "B")
            fake_b, fake_a = pair.decode(z_a, "B"), pair.decode(z_b, "A")
            mu_ab, z_ab = pair.encode(fake_b, "B")
            mu_ba, z_ba = pair.encode(fake_a, "A")
            cyc_a, cyc_b = pair.decode(z_ab, "A"), pair.decode(z_ba, "B")
            gan = (self.gan(d_b(fake_b), True, for_discriminator=False)
                   + self.gan(d_a(fake_a), True, for_discriminator=False))
            recon = F.l1_loss(rec_a.float(), self.real_a.float()) + F.l1_loss(rec_b.float(), self.real_b.float())
            kl = _kl(mu_a) + _kl(mu_b)
            cycle = F.l1_loss(cyc_a.float(), self.real_a.float()) + F.l1_loss(cyc_b.float(), self.real_b.float())
            loss = gan + w_recon * recon + w_kl * kl + w_cyc * cycle + w_cyc_kl * (_kl(mu_ab) + _kl(mu_ba))
        rt.backward(loss)
        rt.step(self.optimizers["G"], [pair])
        set_requires_grad(ds, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with rt.autocast():
            loss_d = (self.gan(d_a(self.real_a), True) + self.gan(d_a(fake_a.detach()), False)
                      + self.gan(d_b(self.real_b), True) + self.gan(d_b(fake_b.detach()), False))
        rt.backward(loss_d)
        rt.step(self.optimizers["D"], ds)
        rt.end_iteration()
        return {"G_gan": gan.item(), "recon": recon.item(), "kl": kl.item(), "cycle": cycle.item(),
                "D": loss_d.item()}
