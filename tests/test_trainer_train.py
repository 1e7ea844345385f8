"""Real training steps of each model on tiny synthetic exports: the losses each model is built to lower go
down, and N steps equal k steps + resume + N − k steps exactly."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from trainer_data import paired_export, tiny, unpaired_export

from trainer.checkpoint import load_checkpoint, load_resume
from trainer.data import check_export, make_dataset
from trainer.loop import train
from trainer.models import build_model
from trainer.runtime import Runtime

torch.set_num_threads(1)


def _fixed_batch(root, cfg, paired):
    ds = make_dataset(check_export(root, paired=paired), cfg, augment=False)
    items = [ds[(0, i)] for i in range(4)]
    return {k: torch.stack([it[k] for it in items]) for k in ("A", "B")}


@torch.no_grad()
def _metric(model, batch) -> float:
    """The loss the model is built to lower, measured without noise on a fixed batch."""
    a, b = batch["A"], batch["B"]
    name = model.cfg.model
    if name == "pix2pix":
        return F.l1_loss(model.inference_generator()(a), b).item()
    if name == "unit":
        pair = model.nets["G"].eval()
        err = F.l1_loss(pair.decode(pair.encode(a, "A")[0], "A"), a).item()
        pair.train()
        return err
    g_a, g_b = model.nets["G_A"].eval(), model.nets["G_B"].eval()
    err = F.l1_loss(g_b(g_a(a)), a).item() + F.l1_loss(g_a(g_b(b)), b).item()
    g_a.train(), g_b.train()
    return err


def _lowers(tmp_path, model_name: str, steps: int, **changes) -> tuple[float, float]:
    paired = model_name == "pix2pix"
    root = (paired_export if paired else unpaired_export)(tmp_path / "data", n=4)
    cfg = tiny(model_name, **changes)
    torch.manual_seed(0)
    model = build_model(cfg, Runtime.from_config(cfg))
    batch = _fixed_batch(root, cfg, paired)
    before = _metric(model, batch)
    ds = make_dataset(check_export(root, paired=paired), cfg)
    for step in range(steps):
        items = [ds[(step, (step * 2 + k) % len(ds))] for k in range(2)]
        model.set_input({k: torch.stack([it[k] for it in items]) for k in ("A", "B")})
        losses = model.optimize_step()
        assert set(losses) == set(model.loss_names)
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    return before, _metric(model, batch)


def test_pix2pix_steps_lower_the_l1_to_the_target(tmp_path):
    before, after = _lowers(tmp_path, "pix2pix", 25, lr=1e-3)
    assert after < 0.7 * before


def test_cyclegan_steps_lower_the_cycle_loss(tmp_path):
    before, after = _lowers(tmp_path, "cyclegan", 15, lr=1e-3)
    assert after < 0.7 * before


def test_unit_steps_lower_the_reconstruction_loss(tmp_path):
    before, after = _lowers(tmp_path, "unit", 15, lr=1e-3)
    assert after < 0.7 * before


def test_ugatit_light_steps_lower_the_cycle_loss(tmp_path):
    before, after = _lowers(tmp_path, "ugatit", 10, lr=1e-3)
    assert after < 0.7 * before


def _run(root, out, steps, model="pix2pix", resume=False, **changes):
    return train(root, tiny(model, max_steps=steps, **changes), out, resume=resume, show_bar=False)


def _assert_same_state(a, b):
    ca, cb = load_checkpoint(a.checkpoint.record), load_checkpoint(b.checkpoint.record)
    assert ca.tensors.keys() == cb.tensors.keys()
    for key in ca.tensors:
        assert torch.equal(ca.tensors[key], cb.tensors[key]), key
    ra, rb = load_resume(a.checkpoint.resume), load_resume(b.checkpoint.resume)
    for name in ra["optimizers"]:
        sa, sb = ra["optimizers"][name]["state"], rb["optimizers"][name]["state"]
        assert sa.keys() == sb.keys() and sa
        for k in sa:
            for field in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(sa[k][field], sb[k][field]), (name, k, field)
    assert ra["schedulers"] == rb["schedulers"]
    assert (ra["step"], ra["epoch"], ra["epoch_step"]) == (rb["step"], rb["epoch"], rb["epoch_step"])
    assert torch.equal(ra["rng"]["torch"], rb["rng"]["torch"])


def test_four_steps_equal_two_then_resume_two_pix2pix(tmp_path):
    # 3 training pairs at batch 1: the 4 steps cross an epoch end (scheduler step, new permutation)
    # depth 6 at 64²: the U-Net has a dropout level, so the RNG streams matter too
    root = paired_export(tmp_path / "data", n=3, size=64)
    opts = {"epochs": 1, "epochs_decay": 3, "unet_downs": 6, "load_size": 68, "crop_size": 64}
    straight = _run(root, tmp_path / "straight", 4, **opts)
    _run(root, tmp_path / "resumed", 2, **opts)
    resumed = _run(root, tmp_path / "resumed", 4, resume=True, **opts)
    assert resumed.step == straight.step == 4
    _assert_same_state(straight, resumed)
    rows = (tmp_path / "resumed" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert rows == (tmp_path / "straight" / "log.csv").read_text().splitlines()[:1] + rows[1:]
    assert load_checkpoint(resumed.checkpoint.record).meta["metrics"]["val_L1"] > 0


def test_four_steps_equal_two_then_resume_two_cyclegan_with_its_image_pool(tmp_path):
    root = unpaired_export(tmp_path / "data", n=3)
    straight = _run(root, tmp_path / "straight", 4, "cyclegan", pool_size=2, epochs=1, epochs_decay=2)
    _run(root, tmp_path / "resumed", 2, "cyclegan", pool_size=2, epochs=1, epochs_decay=2)
    resumed = _run(root, tmp_path / "resumed", 4, "cyclegan", resume=True, pool_size=2, epochs=1, epochs_decay=2)
    _assert_same_state(straight, resumed)
    pools = load_resume(resumed.checkpoint.resume)["pools"][0]
    assert pools["fake_A"]["images"].shape[0] == 2


def test_sigterm_stops_after_the_step_with_a_resumable_checkpoint(tmp_path):
    import os
    import signal

    root = paired_export(tmp_path / "data", n=3)
    steps = []

    def progress(done: int, total: int, text: str) -> None:
        steps.append(done)
        if done == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    from trainer.loop import train as run_train

    result = run_train(root, tiny(max_steps=50), tmp_path / "run", progress=progress, show_bar=False)
    assert result.step == 2 and steps == [1, 2]
    assert load_checkpoint(tmp_path / "run").meta["step"] == 2
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is removed again
    again = _run(root, tmp_path / "run", 3, resume=True)
    assert again.step == 3
