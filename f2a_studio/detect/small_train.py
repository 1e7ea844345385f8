"""The training loop of the small CNNs (the sex classifier, the landmark model), with exact resume.

One loop: AdamW, a warm-up then cosine (or step) learning rate, gradient clipping, progress and cancel, and
an optional resume file written atomically every ``save_every`` steps and when the run is interrupted
(Ctrl-C, SIGTERM through :func:`stop_on_sigterm`, or ``should_stop``). The file holds the weights (buffers
too: BatchNorm statistics), the optimizer, the scheduler, torch's RNG state, the step and (with ``ema``) the
weight average, saved with ``torch.save`` and read back only with ``torch.load(weights_only=True)`` (no
pickled code runs).

``ema`` > 0 keeps an exponential moving average of the weights and buffers (decay ``ema``, warmed up as
``min(ema, (1 + t) / (10 + t))`` so the first steps' random start fades at once) and leaves *it* in the net
when the run finishes: a fine-tuning on a few hundred faces wanders from batch to batch, and the average
of its last few hundred steps is a steadier model than the last step's.

"Exact" rests on one contract with the caller: ``batches(step)`` depends on the step alone (a generator
seeded with ``(seed, step)``), never on a generator that runs through the whole training. Then a run of
N steps and a run stopped at k and resumed for N − k give the same weights, bit for bit (same threads).

The learned finder (detect/finders/learned_train.py) has its own loop of the same shape (its own resume
file and run key); it can move onto this one by passing its ``make_batch`` as ``batches`` and a loss
wrapping ``detection_loss``, and mapping its ``TrainResult`` onto this module's.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import F2AError

Progress = Callable[[int, int, str], None]
RESUME_FORMAT = 1


class ResumeMismatch(F2AError):
    """A resume file written by another run (other data, network or settings)."""


class ResumeFileError(F2AError):
    """A resume file that cannot be read."""


@dataclass(frozen=True)
class Schedule:
    """The learning rate over ``steps`` steps: a linear warm-up of ``min(warmup, steps // 10)`` steps, then
    ``cosine`` decay to 0, or ``step``: times ``gamma`` at each of ``milestones`` (fractions of the run)."""

    steps: int
    lr: float
    kind: str = "cosine"
    warmup: int = 50
    milestones: tuple[float, ...] = (0.6, 0.85)
    gamma: float = 0.1
    weight_decay: float = 1e-4
    clip: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in ("cosine", "step"):
            raise ValueError(f"schedule kind must be 'cosine' or 'step', not {self.kind!r}")
        if self.steps < 0 or not self.lr > 0:
            raise ValueError(f"a schedule needs steps >= 0 and lr > 0 (got {self.steps}, {self.lr})")

    def factor(self, step: int) -> float:
        """Multiplier of ``lr`` at ``step`` (0-based)."""
        warm = min(1.0, (step + 1) / max(1, min(self.warmup, self.steps // 10)))
        if self.kind == "cosine":
            return warm * 0.5 * (1 + math.cos(math.pi * step / max(1, self.steps)))
        passed = sum(1 for m in self.milestones if step >= m * self.steps)
        return warm * self.gamma**passed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    steps_done: int  # steps finished in total (those before a resume included)
    resumed_from: int  # 0 for a fresh start
    seconds: float  # this call only
    final_loss: float
    interrupted: bool  # stopped before the end (the resume file, when given, holds every finished step)


def resume_path(folder: Path, stem: str) -> Path:
    """Where a model's resume file lives: beside the model it will become."""
    return Path(folder) / f"{stem}.resume.pt"


class WeightAverage:
    """An exponential moving average of a net's state (floating weights and buffers averaged, counters
    copied), updated after each optimizer step."""

    def __init__(self, net, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"a weight average's decay is in (0, 1), not {decay}")
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in net.state_dict().items()}

    def update(self, net, step: int) -> None:
        """Fold in ``net``'s state after ``step`` (1-based) optimizer steps."""
        import torch

        d = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in net.state_dict().items():
                if v.is_floating_point():
                    self.state[k].mul_(d).add_(v.detach(), alpha=1 - d)
                else:
                    self.state[k].copy_(v)


def _save_resume(path: Path, net, opt, sched, step: int, run: str, average: WeightAverage | None = None) -> None:
    import torch

    state = {"format": RESUME_FORMAT, "run": run, "step": step, "model": net.state_dict(),
             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "torch_rng": torch.get_rng_state()}
    if average is not None:
        state["ema"] = average.state
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_resume(path: Path) -> dict[str, Any]:
    """The resume file's contents (tensors, numbers, strings only); ResumeFileError when unreadable."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise ResumeFileError(f"{path}: not a readable resume file ({str(exc).splitlines()[0]}); delete it to "
                              "start over") from exc
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        raise ResumeFileError(f"{path}: not a resume file of this version; delete it to start over")
    return state


def train_steps(net, batches: Callable[[int], Any], loss_fn: Callable[[Any, Any], Any], schedule: Schedule, *,
                resume: Path | None = None, run: str = "", save_every: int = 50, progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None, ema: float = 0.0) -> TrainResult:
    """Train ``net`` in place: step ``s`` computes ``loss_fn(net, batches(s))`` and takes one AdamW step.

    With ``resume`` set, a file there from the same ``run`` (a key of the data and settings chosen by the
    caller) is continued from, and kept up to date; one from another run raises ResumeMismatch. The file is
    removed when the run finishes. ``should_stop`` (checked before each step) ends the run early after
    saving; so does Ctrl-C, which is raised again once the file is saved. ``ema`` > 0: the net ends with the
    weight average's state (module docstring); a stopped run's net keeps its live weights (the resume file
    keeps both)."""
    import torch

    opt = torch.optim.AdamW(net.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule.factor(s))
    run = f"{run}|{json.dumps(schedule.to_json(), sort_keys=True)}"  # other settings: another run
    if ema:
        run += f"|ema {ema}"
    average = WeightAverage(net, ema) if ema else None
    start = 0
    if resume is not None and resume.is_file():
        state = read_resume(resume)
        if state.get("run") != run:
            raise ResumeMismatch(f"{resume}: this resume file is from another training run (other data or "
                                 "settings); delete it to start over")
        try:
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            if average is not None:
                for k, v in state["ema"].items():
                    average.state[k].copy_(v)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ResumeFileError(f"{resume}: does not fit this network ({str(exc).splitlines()[0]}); delete "
                                  "it to start over") from exc
        torch.set_rng_state(state["torch_rng"])
        start = int(state["step"])
    net.train()
    t0 = time.monotonic()
    loss_v = float("nan")
    done = start
    try:
        for step in range(start, schedule.steps):
            if should_stop is not None and should_stop():
                if resume is not None:
                    _save_resume(resume, net, opt, sched, done, run, average)
                net.eval()
                return TrainResult(done, start, time.monotonic() - t0, loss_v, True)
            loss = loss_fn(net, batches(step))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if schedule.clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), schedule.clip)
            opt.step()
            sched.step()
            done = step + 1
            if average is not None:
                average.update(net, done)
            loss_v = float(loss.detach())
            if progress is not None:
                progress(done, schedule.steps, f"loss {loss_v:.3f}")
            if resume is not None and save_every > 0 and done % save_every == 0 and done < schedule.steps:
                _save_resume(resume, net, opt, sched, done, run, average)
    except KeyboardInterrupt:
        if resume is not None:  # the step in flight is lost, every finished one is kept
            _save_resume(resume, net, opt, sched, done, run, average)
        net.eval()
        raise
    if average is not None:
        net.load_state_dict(average.state)
    net.eval()
    if resume is not None:
        resume.unlink(missing_ok=True)  # finished: nothing to resume
    return TrainResult(done, start, time.monotonic() - t0, loss_v, False)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[Callable[[], bool]]:
    """A ``should_stop`` that turns true on SIGTERM while the block runs (so a killed training saves its
    resume file and ends between steps); outside the main thread it only ever answers False."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGTERM, previous)


def either(*stops: Callable[[], bool] | None) -> Callable[[], bool]:
    """One ``should_stop`` that is true when any of ``stops`` is."""
    live = [s for s in stops if s is not None]
    return lambda: any(s() for s in live)


class TrainingStopped(F2AError):
    """A training asked to stop (SIGTERM, cancel) before its last step; its resume file keeps the steps."""


def resume_note(path: Path) -> str | None:
    """"resuming … at step k" when an interrupted run left a resume file at ``path`` (None otherwise)."""
    if not Path(path).is_file():
        return None
    try:
        step = int(read_resume(Path(path))["step"])
    except (ResumeFileError, KeyError, TypeError, ValueError):
        return f"found an unreadable resume file {path}: it will be replaced"
    return f"resuming the interrupted training from {path} at step {step}"


def train_resumable(net, train: Callable[[Path], TrainResult], resume: Path, notes: list[str],
                    command: str) -> TrainResult:
    """``train(resume)`` for a project's model: a resume file of another run (the labels changed since) or
    an unreadable one is set aside with a note and the run starts afresh from ``net``'s weights; a run that
    was asked to stop raises TrainingStopped, naming the command that continues it."""
    import copy

    start_state = copy.deepcopy(net.state_dict())
    try:
        result = train(resume)
    except (ResumeMismatch, ResumeFileError) as exc:
        notes.append(f"{exc.args[0].split(';')[0]}: started over")
        net.load_state_dict(start_state)
        resume.unlink(missing_ok=True)
        result = train(resume)
    if result.resumed_from:
        notes.append(f"resumed an interrupted training at step {result.resumed_from}")
    if result.interrupted:
        raise TrainingStopped(f"training stopped after step {result.steps_done}; {resume} keeps it: run "
                              f"{command} again to continue")
    return result
