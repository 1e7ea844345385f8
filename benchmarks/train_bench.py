"""Train-step time and peak memory of the trainer on CPU, batch 1: pix2pix (unet_256 + 70×70 PatchGAN) and
CycleGAN (resnet_9blocks) at 256², each with the trainer's defaults and with plain fp32 eager (no
channels_last, per-tensor Adam: how the reference runs) at the same architecture, plus bf16 autocast and the
fast CPU preset at 128². Variants are timed in turns (A B C A B C …) so machine load hits them alike; the
figures are medians, and the ratios compare variants of the same run.

    python -m benchmarks train            # TRAIN_BENCH_REPEATS=7 TRAIN_BENCH_THREADS=2 TRAIN_BENCH_COMPILE=1
                                          # TRAIN_BENCH_SIZE=256 TRAIN_BENCH_CYCLE_SIZE=256 TRAIN_BENCH_WARMUP=2

Peak memory: the resident-set high-water mark during one step above the resident set before it (Linux:
/proc/self/clear_refs resets VmHWM), so it counts what torch allocates outside Python's heap.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import machine
from trainer.config import TrainConfig, preset
from trainer.models import build_model
from trainer.nets import count_parameters
from trainer.runtime import Runtime

PLAIN = {"channels_last": False, "optimizer_impl": "plain", "amp": "off", "compile": False}


def _rss_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Case:
    def __init__(self, name: str, cfg: TrainConfig, size: int) -> None:
        self.name, self.cfg, self.size = name, cfg, size
        torch.manual_seed(0)
        self.model = build_model(cfg, Runtime.from_config(cfg))
        gen = torch.Generator().manual_seed(1)
        self.batch = {"A": torch.rand(1, cfg.input_nc, size, size, generator=gen) * 2 - 1,
                      "B": torch.rand(1, cfg.output_nc, size, size, generator=gen) * 2 - 1}
        self.times: list[float] = []
        self.peaks: list[float] = []

    def step(self, timed: bool) -> None:
        before = _rss_kib("VmRSS")
        can_peak = _reset_peak()
        start = time.perf_counter()
        self.model.set_input(self.batch)
        self.model.optimize_step()
        elapsed = time.perf_counter() - start
        print(f"{self.name}: {elapsed:.3f} s", file=sys.stderr, flush=True)  # progress on a slow, shared box
        if timed:
            self.times.append(elapsed)
            peak = _rss_kib("VmHWM")
            if can_peak and peak is not None and before is not None:
                self.peaks.append((peak - before) / 1024)

    def report(self) -> dict[str, Any]:
        return {
            "median_step_s": round(statistics.median(self.times), 4),
            "min_step_s": round(min(self.times), 4),
            "steps_s": [round(t, 4) for t in self.times],
            "peak_step_rss_mib": round(statistics.median(self.peaks), 1) if self.peaks else None,
            "channels_last": self.model.rt.channels_last, "amp": str(self.model.rt.amp_dtype),
            "optimizer": self.model.rt.optimizer_impl, "compile": self.model.rt.compile,
        }


def _params(case: Case) -> dict[str, int]:
    return {name: count_parameters(net) for name, net in case.model.nets.items()}


def run() -> dict[str, Any]:
    threads = int(os.environ.get("TRAIN_BENCH_THREADS", "2"))
    repeats = int(os.environ.get("TRAIN_BENCH_REPEATS", "5"))
    with_compile = os.environ.get("TRAIN_BENCH_COMPILE") == "1"
    warmup = int(os.environ.get("TRAIN_BENCH_WARMUP", "2"))
    sizes = {"pix2pix_unet256": int(os.environ.get("TRAIN_BENCH_SIZE", "256")),
             "cyclegan_resnet9": int(os.environ.get("TRAIN_BENCH_CYCLE_SIZE", "256"))}
    torch.set_num_threads(threads)
    groups: dict[str, dict[str, Case]] = {}
    for model, base in (("pix2pix_unet256", TrainConfig(device="cpu")),
                        ("cyclegan_resnet9", preset("cyclegan", device="cpu"))):
        variants = {"plain_fp32_eager": base.override(**PLAIN), "defaults": base,
                    "defaults_bf16": base.override(amp="bf16")}
        if with_compile:
            variants["defaults_compile"] = base.override(compile=True)
        size = sizes[model]
        variants = {name: cfg.override(crop_size=size, load_size=size) for name, cfg in variants.items()}
        groups[model] = {name: Case(f"{model}/{name}", cfg, size) for name, cfg in variants.items()}
    fast = preset("pix2pix-fast-cpu", device="cpu")
    groups["pix2pix_fast_cpu_128"] = {"plain_fp32_eager": Case("fast/plain", fast.override(**PLAIN), 128),
                                      "defaults": Case("fast/defaults", fast, 128)}
    for cases in groups.values():
        for case in cases.values():
            for _ in range(warmup + (1 if case.cfg.compile else 0)):  # warm-up (oneDNN primitives, compile)
                case.step(timed=False)
    for _ in range(repeats):
        for cases in groups.values():
            for case in cases.values():
                case.step(timed=True)
    out: dict[str, Any] = {"machine": {**machine(), "torch": torch.__version__, "threads": threads,
                                       "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None},
                           "repeats": repeats, "warmup": warmup}
    for model, cases in groups.items():
        first = next(iter(cases.values()))
        entry: dict[str, Any] = {"params": _params(first), "size": first.size}
        entry.update({name: case.report() for name, case in cases.items()})
        base_s = entry["plain_fp32_eager"]["median_step_s"]
        entry["ratio_vs_plain"] = {name: round(entry[name]["median_step_s"] / base_s, 3)
                                   for name in cases if name != "plain_fp32_eager"}
        out[model] = entry
    # the reference code's pix2pix unet_256 step on a 2-core machine of this kind: 0.84–1.04 s (issue 13)
    if sizes["pix2pix_unet256"] == 256:  # only comparable at the reference's size, and on an idle machine
        p2p = out["pix2pix_unet256"]["defaults"]["median_step_s"]
        out["pix2pix_vs_reference_0.84_1.04s"] = [round(p2p / 0.84, 3), round(p2p / 1.04, 3)]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
