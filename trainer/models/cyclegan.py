"""CycleGAN (Zhu et al. 2017) on unpaired domains: G_A: A→B, G_B: B→A, D_A judges B-side fakes, D_B A-side
fakes; cycle losses λ·|G_B(G_A(a)) − a| both ways, identity λ·λ_idt·|G_A(b) − b|; D sees pooled fakes."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from trainer.models.base import GANModel, set_requires_grad
from trainer.nets import build_discriminator, build_generator
from trainer.pool import ImagePool


class CycleGANModel(GANModel):
    loss_names = ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B")
    generator_name = "G_A"

    def build(self) -> None:
        c = self.cfg
        self.nets["G_A"] = build_generator(c, c.input_nc, c.output_nc)
        self.nets["G_B"] = build_generator(c, c.output_nc, c.input_nc)
        self.nets["D_A"] = build_discriminator(c, c.output_nc)
        self.nets["D_B"] = build_discriminator(c, c.input_nc)
        self.pools = {"fake_A": ImagePool(c.pool_size, c.seed + 1), "fake_B": ImagePool(c.pool_size, c.seed + 2)}

    def make_optimizers(self) -> None:
        self.optimizers["G"] = self.adam("G_A", "G_B")
        self.optimizers["D"] = self.adam("D_A", "D_B")

    def set_input(self, batch: dict[str, torch.Tensor]) -> None:
        a, b = (batch["A"], batch["B"]) if self.cfg.direction == "AtoB" else (batch["B"], batch["A"])
        self.real_a = self.rt.to_device(a)
        self.real_b = self.rt.to_device(b)

    def optimize_step(self) -> dict[str, float]:
        c, rt = self.cfg, self.rt
        g_a, g_b, d_a, d_b = (self.net(n) for n in ("G_A", "G_B", "D_A", "D_B"))
        ds = [self.nets["D_A"], self.nets["D_B"]]
        set_requires_grad(ds, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with rt.autocast():
            fake_b = g_a(self.real_a)
            rec_a = g_b(fake_b)
            fake_a = g_b(self.real_b)
            rec_b = g_a(fake_a)
            loss_g_a = self.gan(d_a(fake_b), True, for_discriminator=False)
            loss_g_b = self.gan(d_b(fake_a), True, for_discriminator=False)
            cyc_a = F.l1_loss(rec_a.float(), self.real_a.float())
            cyc_b = F.l1_loss(rec_b.float(), self.real_b.float())
            idt_a = idt_b = torch.zeros((), device=rt.device)
            if c.lambda_identity > 0:
                idt_a = F.l1_loss(g_a(self.real_b).float(), self.real_b.float())
                idt_b = F.l1_loss(g_b(self.real_a).float(), self.real_a.float())
            loss_g = (loss_g_a + loss_g_b + c.lambda_cycle * (cyc_a + cyc_b)
                      + c.lambda_cycle * c.lambda_identity * (idt_a + idt_b))
        rt.backward(loss_g)
        rt.step(self.optimizers["G"], [self.nets["G_A"], self.nets["G_B"]])
        set_requires_grad(ds, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        pooled_b = self.pools["fake_B"].query(fake_b.float())
        pooled_a = self.pools["fake_A"].query(fake_a.float())
        with rt.autocast():
            loss_d_a = 0.5 * (self.gan(d_a(self.real_b), True) + self.gan(d_a(rt.to_device(pooled_b)), False))
            loss_d_b = 0.5 * (self.gan(d_b(self.real_a), True) + self.gan(d_b(rt.to_device(pooled_a)), False))
        rt.backward(loss_d_a + loss_d_b)
        rt.step(self.optimizers["D"], ds)
        rt.end_iteration()
        return {"G_A": loss_g_a.item(), "G_B": loss_g_b.item(), "cycle_A": cyc_a.item(), "cycle_B": cyc_b.item(),
                "idt_A": idt_a.item(), "idt_B": idt_b.item(), "D_A": loss_d_a.item(), "D_B": loss_d_b.item()}

    def visuals(self) -> list[torch.Tensor]:
        fake_b = self.translate(self.real_a)
        return [self.real_a, fake_b, self.real_b]
