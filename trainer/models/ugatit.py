"""U-GAT-IT light. Per direction: adversarial loss on the patch output and on the discriminator's CAM logits,
cycle (λ 10) and identity (λ 10) L1, and the generator's CAM loss (weight 1000): its attention classifier must
say "other domain" for inputs it translates and "own domain" for identity inputs. Weights in cfg.extra."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from trainer.models.base import GANModel, set_requires_grad
from trainer.nets import build_discriminator, build_generator
from trainer.nets.ugatit import ILN


def _bce(logit: torch.Tensor, target: float) -> torch.Tensor:
    logit = logit.float()
    return F.binary_cross_entropy_with_logits(logit, torch.full_like(logit, target))


class UGATITModel(GANModel):
    loss_names = ("G_adv", "cycle", "identity", "cam", "D")
    generator_name = "G_A"

    def build(self) -> None:
        c = self.cfg
        self.nets["G_A"] = build_generator(c, c.input_nc, c.output_nc)
        self.nets["G_B"] = build_generator(c, c.output_nc, c.input_nc)
        self.nets["D_A"] = build_discriminator(c, c.input_nc, "ugatit_cam")
        self.nets["D_B"] = build_discriminator(c, c.output_nc, "ugatit_cam")

    def make_optimizers(self) -> None:
        self.optimizers["G"] = self.adam("G_A", "G_B")
        self.optimizers["D"] = self.adam("D_A", "D_B")

    def set_input(self, batch: dict[str, torch.Tensor]) -> None:
        a, b = (batch["A"], batch["B"]) if self.cfg.direction == "AtoB" else (batch["B"], batch["A"])
        self.real_a = self.rt.to_device(a)
        self.real_b = self.rt.to_device(b)

    def _adv(self, judged: tuple[torch.Tensor, torch.Tensor], real: bool, for_d: bool) -> torch.Tensor:
        patch, cam = judged
        return self.gan(patch, real, for_discriminator=for_d) + self.gan(cam, real, for_discriminator=for_d)

    def optimize_step(self) -> dict[str, float]:
        c, rt = self.cfg, self.rt
        g_a, g_b = self.nets["G_A"], self.nets["G_B"]
        d_a, d_b = self.nets["D_A"], self.nets["D_B"]
        w_cyc, w_idt, w_cam = c.weight("cycle", 10.0), c.weight("identity", 10.0), c.weight("cam", 1000.0)
        set_requires_grad([d_a, d_b], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with rt.autocast(), torch.no_grad():
            fake_b = g_a(self.real_a)
            fake_a = g_b(self.real_b)
        with rt.autocast():
            loss_d = (self._adv(d_a.judge(self.real_a), True, True) + self._adv(d_a.judge(fake_a), False, True)
                      + self._adv(d_b.judge(self.real_b), True, True) + self._adv(d_b.judge(fake_b), False, True))
        rt.backward(loss_d)
        rt.step(self.optimizers["D"], [d_a, d_b])
        set_requires_grad([d_a, d_b], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with rt.autocast():
            fake_b, cam_ab, _ = g_a.translate(self.real_a)
            fake_a, cam_ba, _ = g_b.translate(self.real_b)
            rec_a = g_b(fake_b)
            rec_b = g_a(fake_a)
            idt_a, cam_aa, _ = g_b.translate(self.real_a)
            idt_b, cam_bb, _ = g_a.translate(self.real_b)
            adv = self._adv(d_b.judge(fake_b), True, False) + self._adv(d_a.judge(fake_a), True, False)
            cycle = F.l1_loss(rec_a.float(), self.real_a.float()) + F.l1_loss(rec_b.float(), self.real_b.float())
            identity = F.l1_loss(idt_a.float(), self.real_a.float()) + F.l1_loss(idt_b.float(), self.real_b.float())
            cam = _bce(cam_ab, 1.0) + _bce(cam_ba, 1.0) + _bce(cam_aa, 0.0) + _bce(cam_bb, 0.0)
            loss_g = adv + w_cyc * cycle + w_idt * identity + w_cam * cam
        rt.backward(loss_g)
        rt.step(self.optimizers["G"], [g_a, g_b])
        rt.end_iteration()
        with torch.no_grad():  # the reference's RhoClipper: keep ρ in [0, 1] so its gradient never dies at the clamp
            for net in (g_a, g_b):
                for module in net.modules():
                    if isinstance(module, ILN):
                        module.rho.clamp_(0.0, 1.0)
        return {"G_adv": adv.item(), "cycle": cycle.item(), "identity": identity.item(), "cam": cam.item(),
                "D": loss_d.item()}
