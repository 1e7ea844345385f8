"""The training loop: check the data, build the model, resume if asked, step, log, sample, checkpoint.

Resume is exact: the sampler restarts at the item after the last one trained, augmentation draws depend
only on (seed, epoch, index), and weights, optimizer moments, schedulers, scaler, pools and every rank's
RNG state come back from the checkpoint. Training N steps equals training k, stopping and resuming N − k.
"""

from __future__ import annotations

import hashlib
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from trainer import dist
from trainer.checkpoint import (
    CheckpointError,
    CheckpointFiles,
    architecture_differences,
    load_checkpoint,
    load_resume,
    load_weights,
    rng_state,
    save_checkpoint,
    set_rng_state,
    weights_of,
)
from trainer.config import TrainConfig
from trainer.data import ExportLayout, ResumableSampler, check_export, make_dataset
from trainer.logs import MetricsLog, RunLog, save_grid
from trainer.models import PAIRED, build_model
from trainer.models.base import GANModel
from trainer.quality import Evaluation, evaluate
from trainer.runtime import Runtime, pick_device

Progress = Callable[[int, int, str], None]  # (done, total, text): the jobs protocol's progress callback


@dataclass(frozen=True)
class TrainResult:
    run: Path
    step: int
    checkpoint: CheckpointFiles
    losses: dict[str, float]
    val_l1: float | None
    sample_grid: Path | None
    weights_sha256: str  # of this process's weights: equal on every rank when the replicas are in sync
    quality: dict[str, Any] = field(default_factory=dict)  # the last checkpoint's validation figures


def _batch(dataset, indices: list[int]) -> dict[str, torch.Tensor]:
    items = [dataset[(0, i)] for i in indices]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def validation(model: GANModel, dataset, landmarks: tuple = (None, None, "", None)) -> Evaluation:
    """Validation L1 and, for keypoints → face with the export's landmarks.json and a landmark detector,
    the landmark figure (trainer/quality.py), on the inference form of G, no augmentation."""
    faces, detect, detector, note = landmarks
    return evaluate(model.inference_generator(), dataset, direction=model.cfg.direction,
                    place=model.rt.to_device, autocast=model.rt.autocast, faces=faces, landmarker=detect,
                    detector=detector, note=note)


def validation_l1(model: GANModel, dataset) -> float:
    """Mean |G(A) − B| over the validation pairs, in [-1, 1] units."""
    return validation(model, dataset).val_l1


def _pools_by_rank(model: GANModel, info: dist.DistInfo) -> list[dict[str, Any]]:
    """Each rank's image pools (they hold that rank's own fakes)."""
    out: list[dict[str, Any]] = [{} for _ in range(info.world)]
    for name, pool in model.pools.items():
        state = pool.state_dict()
        images = dist.gather(state["images"].to(model.rt.device), info)
        generators = dist.gather(state["generator"], info)
        for rank in range(info.world):
            out[rank][name] = {"images": images[rank].cpu(), "generator": generators[rank]}
    return out


def _resume_state(model: GANModel, step: int, epoch: int, epoch_step: int, world: int,
                  ranks_rng: list[torch.Tensor], pools: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "step": step, "epoch": epoch, "epoch_step": epoch_step, "world": world,
        "optimizers": {k: v.state_dict() for k, v in model.optimizers.items()},
        "schedulers": {k: v.state_dict() for k, v in model.schedulers.items()},
        "scaler": model.rt.scaler.state_dict() if model.rt.scaler else {},
        "pools": pools,  # one dict of pools per rank
        "rng": rng_state(),
        "rank_torch_rng": ranks_rng,
    }


def _restore(model: GANModel, state: dict[str, Any], info: dist.DistInfo, path: Path) -> tuple[int, int, int]:
    if int(state.get("world", 1)) != info.world:
        raise CheckpointError(f"{path} was saved by {state['world']} process(es); resume it with the same number "
                              f"(--nproc-per-node), this run has {info.world}")
    for name, opt in model.optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    for name, sched in model.schedulers.items():
        sched.load_state_dict(state["schedulers"][name])
    if model.rt.scaler and state["scaler"]:
        model.rt.scaler.load_state_dict(state["scaler"])
    for name, pool in model.pools.items():
        pool.load_state_dict(state["pools"][info.rank][name], model.rt.device)
    set_rng_state(state["rng"])
    torch.set_rng_state(state["rank_torch_rng"][info.rank])
    return int(state["step"]), int(state["epoch"]), int(state["epoch_step"])


def _bar(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True, desc="train")


def train(data: Path | str, cfg: TrainConfig, out: Path | str, *, resume: bool = False,
          progress: Progress | None = None, show_bar: bool = True) -> TrainResult:
    out = Path(out)
    info = dist.from_environment()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    dist.check_norms(cfg, info, device.type)
    layout: ExportLayout = check_export(data, paired=cfg.model in PAIRED)
    if layout.format == "concat4" and cfg.input_nc != 1:
        cfg = cfg.override(input_nc=1)  # concat4's A is its one keypoint channel
    dist.init(info, device.type)
    try:
        return _train(layout, cfg, out, info, device, resume, progress, show_bar)
    finally:
        dist.shutdown()


def _train(layout: ExportLayout, cfg: TrainConfig, out: Path, info: dist.DistInfo, device: torch.device,
           resume: bool, progress: Progress | None, show_bar: bool) -> TrainResult:
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank (and broadcast to be sure)
    runtime = Runtime.from_config(cfg, rank=info.rank, world=info.world, device=device)
    model = build_model(cfg, runtime)
    if info.enabled:
        dist.convert_sync_bn(model.nets, cfg, info)
        for net in model.nets.values():
            dist.broadcast_module(net)
    torch.manual_seed(cfg.seed + 1000 * info.rank)  # each rank its own dropout/noise stream
    step = epoch = epoch_step = 0
    ckpt_dir = out / "checkpoints"
    if resume:
        ckpt = load_checkpoint(out)
        diffs = architecture_differences(ckpt.config, cfg)
        if diffs:
            raise CheckpointError(f"cannot resume {ckpt.weights_path} with another architecture: " + "; ".join(diffs))
        if ckpt.meta.get("data_manifest_sha256") != layout.manifest_sha256:
            raise CheckpointError(f"{ckpt.weights_path} was trained on another dataset (its manifest sha256 "
                                  f"{str(ckpt.meta.get('data_manifest_sha256'))[:12]}…, {layout.folder} has "
                                  f"{layout.manifest_sha256[:12]}…); resume on the same export")
        load_weights(ckpt, model.nets, cfg)
        step, epoch, epoch_step = _restore(model, load_resume(ckpt.resume_path, ckpt.record["resume_sha256"]),
                                           info, ckpt.resume_path)
    elif info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        if (ckpt_dir / "latest.json").exists():
            raise CheckpointError(f"{out} already holds a run; pass --resume to continue it or pick a new --out")
    if info.is_main:
        cfg.save(out / "config.json")

    dataset = make_dataset(layout, cfg)
    sampler = ResumableSampler(len(dataset), cfg.seed, rank=info.rank, world=info.world)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                        pin_memory=device.type == "cuda", drop_last=False,
                        # its own generator: each iter() draws a worker base seed, which must not come from
                        # the global stream (a resumed run starts one more iterator than an uninterrupted one)
                        generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = math.ceil(sampler.per_rank / cfg.batch_size)
    total = cfg.total_epochs * steps_per_epoch
    stop_at = min(total, cfg.max_steps) if cfg.max_steps else total
    val_layout = _val_layout(layout, cfg)
    val_set = make_dataset(val_layout, cfg, augment=False) if val_layout else None
    landmarks = _landmark_inputs(val_layout, cfg)
    shown = make_dataset(val_layout or layout, cfg, augment=False)
    sample_batch = _batch(shown, list(range(min(cfg.n_samples, len(shown)))))
    log = RunLog(out, model.loss_names, enabled=info.is_main, resume_step=step)
    metrics_log = MetricsLog(out, enabled=info.is_main, resume_step=step)
    bar = _bar(show_bar and info.is_main, stop_at, step)
    losses: dict[str, float] = {}
    grid_path: Path | None = None
    val_l1: float | None = None
    quality: dict[str, Any] = {}
    model.train()

    def checkpoint() -> CheckpointFiles:
        nonlocal val_l1, quality
        ranks_rng = dist.gather(torch.get_rng_state(), info)
        pools = _pools_by_rank(model, info)
        quality = {"val_L1": None}
        if val_set is not None:  # every rank: inference batch norm may be synchronised across them
            evaluation = validation(model, val_set, landmarks)
            val_l1, quality = evaluation.val_l1, evaluation.to_metrics()
        files = CheckpointFiles.at(ckpt_dir, step)
        if info.is_main:
            meta = {"step": step, "epoch": epoch, "data": str(layout.folder), "data_format": layout.format,
                    "data_manifest_sha256": layout.manifest_sha256, "metrics": {**losses, **quality},
                    "world": info.world, "torch": torch.__version__}
            files = save_checkpoint(ckpt_dir, cfg, model.nets, _resume_state(
                model, step, epoch, epoch_step, info.world, ranks_rng, pools), meta)
            if val_set is not None:
                metrics_log.row(step, quality)
                for name, value in quality.items():
                    if isinstance(value, float):
                        log.scalar(f"val/{name.removeprefix('val_')}", value, step)
        dist.barrier(info)
        return files

    def sample() -> Path | None:
        if not info.is_main:
            return None
        model.set_input(sample_batch)
        return save_grid(out / "samples" / f"step-{step:08d}.png", model.visuals())

    tick = time.perf_counter()
    files: CheckpointFiles | None = None
    stop = _StopOnSignal()
    while step < stop_at and not stop.requested:
        sampler.set_epoch(epoch, epoch_step * cfg.batch_size)
        for batch in loader:
            model.set_input(batch)
            losses = model.optimize_step()
            step += 1
            epoch_step += 1
            now = time.perf_counter()
            seconds, tick = now - tick, now
            if step % cfg.log_every == 0 or step == stop_at:
                log.row(step, epoch, model.lr, seconds, losses)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
            if progress is not None and info.is_main:
                progress(step, stop_at, " ".join(f"{k} {v:.3g}" for k, v in losses.items()))
            if step % cfg.sample_every == 0:
                grid_path = sample()
                model.train()
            if step >= stop_at or stop.requested:  # Ctrl-C / SIGTERM: finish the step, checkpoint, exit
                break
            if step % cfg.checkpoint_every == 0:
                files = checkpoint()
        if epoch_step >= steps_per_epoch:
            epoch, epoch_step = epoch + 1, 0
            model.step_schedulers()
    stop.restore()
    if bar is not None:
        bar.close()
    if files is None or files.weights.name != f"step-{step:08d}.safetensors":
        files = checkpoint()
    if info.is_main and (grid_path is None or grid_path.name != f"step-{step:08d}.png"):
        grid_path = sample()
    log.close()
    return TrainResult(out, step, files, losses, val_l1, grid_path, weights_digest(model), quality)


def weights_digest(model: GANModel) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(weights_of(model.nets).items()):
        digest.update(name.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


class _StopOnSignal:
    """SIGINT/SIGTERM ask the loop to stop after the current step and write a resumable checkpoint (the
    reference loses everything since its last epoch save). Only the main thread can install handlers."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._ask)

    def _ask(self, signum: int, frame: object) -> None:
        if self.requested:  # a second signal: stop now
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _landmark_inputs(val_layout: ExportLayout | None, cfg: TrainConfig) -> tuple:
    """The landmark figure's keypoints and detector, or the reason there is none (trainer/landmarker.py)."""
    if val_layout is None:
        return None, None, "", None
    from trainer.landmarker import prepare

    return prepare(val_layout, cfg.direction)


def _val_layout(layout: ExportLayout, cfg: TrainConfig) -> ExportLayout | None:
    from trainer.data.layout import DataError

    if not layout.paired:
        return None
    try:
        return check_export(layout.folder, paired=True, split="val")
    except DataError:
        return None  # no validation split: no val L1
