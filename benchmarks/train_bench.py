"""Train-step time and peak memory of the trainer on CPU, batch 1: pix2pix (unet_256 + 70×70 PatchGAN) and
CycleGAN (resnet_9blocks) at 256², each with the trainer's defaults and with plain fp32 eager (no
channels_last, per-tensor Adam: how the reference runs) at the same architecture, plus bf16 autocast and the
fast CPU preset at 128². Variants are timed in turns (A B C A B C …) so machine load hits them alike; the
figures are medians, and the ratios compare variants of the same run.

    python -m benchmarks train            # TRAIN_BENCH_REPEATS=7 TRAIN_BENCH_THREADS=2 TRAIN_BENCH_COMPILE=1
                                          # TRAIN_BENCH_SIZE=256 TRAIN_BENCH_CYCLE_SIZE=256 TRAIN_BENCH_WARMUP=2
                                          # TRAIN_BENCH_QUALITY_STEPS=150 TRAIN_BENCH_QUALITY_SCENES=40
                                          # TRAIN_BENCH_OUT=benchmarks/results/train_bench.json

Peak memory is measured per case in a fresh process (`--memory MODEL VARIANT`), so one case's allocations
(glibc and oneDNN keep freed memory for reuse) never hide or inflate another's: the child builds the case,
takes one warm-up step (Adam's moments now exist), resets the resident-set high-water mark (Linux:
/proc/self/clear_refs) and reports VmHWM over two more steps above its resident set before them, plus its
whole-life VmHWM. The children run before the timed cases are built, from a small parent. (getrusage's
ru_maxrss is no use here: Linux carries it over fork + exec, so every child reported the parent's peak.)

Quality of bf16 autocast vs fp32 (`quality`): the same seed, data and N steps of the fast CPU preset on a
synthetic face export (tools/make_demo_data.py), once with amp off and once with bf16; both checkpoints
are then evaluated alike in fp32 (`python -m trainer eval`: validation L1 and the landmark figure), so
"bf16 on CPU only if measured faster" is decided on quality too, not on speed alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import machine
from trainer.config import TrainConfig, preset
from trainer.models import build_model
from trainer.nets import count_parameters
from trainer.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
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

    def step(self, timed: bool) -> float:
        start = time.perf_counter()
        self.model.set_input(self.batch)
        self.model.optimize_step()
        elapsed = time.perf_counter() - start
        print(f"{self.name}: {elapsed:.3f} s", file=sys.stderr, flush=True)  # progress on a slow, shared box
        if timed:
            self.times.append(elapsed)
        return elapsed

    def report(self) -> dict[str, Any]:
        return {
            "median_step_s": round(statistics.median(self.times), 4),
            "min_step_s": round(min(self.times), 4),
            "steps_s": [round(t, 4) for t in self.times],
            "channels_last": self.model.rt.channels_last, "amp": str(self.model.rt.amp_dtype),
            "optimizer": self.model.rt.optimizer_impl, "compile": self.model.rt.compile,
        }


def _params(case: Case) -> dict[str, int]:
    return {name: count_parameters(net) for name, net in case.model.nets.items()}


def _variants(with_compile: bool) -> dict[str, dict[str, tuple[TrainConfig, int]]]:
    """model → variant → (config, image side): every case of the bench, rebuildable in a child process."""
    sizes = {"pix2pix_unet256": int(os.environ.get("TRAIN_BENCH_SIZE", "256")),
             "cyclegan_resnet9": int(os.environ.get("TRAIN_BENCH_CYCLE_SIZE", "256"))}
    out: dict[str, dict[str, tuple[TrainConfig, int]]] = {}
    for model, base in (("pix2pix_unet256", TrainConfig(device="cpu")),
                        ("cyclegan_resnet9", preset("cyclegan", device="cpu"))):
        variants = {"plain_fp32_eager": base.override(**PLAIN), "defaults": base,
                    "defaults_bf16": base.override(amp="bf16")}
        if with_compile:
            variants["defaults_compile"] = base.override(compile=True)
        size = sizes[model]
        out[model] = {name: (cfg.override(crop_size=size, load_size=size), size) for name, cfg in variants.items()}
    fast = preset("pix2pix-fast-cpu", device="cpu")
    out["pix2pix_fast_cpu_128"] = {"plain_fp32_eager": (fast.override(**PLAIN), 128), "defaults": (fast, 128)}
    return out


def memory_child(model: str, variant: str) -> dict[str, Any]:
    """Run in a fresh process: one case's step peak (see the module docstring)."""
    torch.set_num_threads(int(os.environ.get("TRAIN_BENCH_THREADS", "2")))
    cfg, size = _variants(os.environ.get("TRAIN_BENCH_COMPILE") == "1")[model][variant]
    built = _rss_kib("VmRSS")
    case = Case(f"{model}/{variant}", cfg, size)
    after_build = _rss_kib("VmRSS")
    case.step(timed=False)
    if cfg.compile:
        case.step(timed=False)
    before = _rss_kib("VmRSS")
    warm_peak = _rss_kib("VmHWM")  # this process image's peak so far (exec gave it a fresh one)
    can_reset = _reset_peak()
    for _ in range(2):
        case.step(timed=False)
    peak = _rss_kib("VmHWM")
    # not getrusage(RUSAGE_SELF/CHILDREN).ru_maxrss: Linux carries it over fork + exec from the parent, so
    # a child of a big process reports the parent's size (measured: every case the same 4.7 GB)
    whole_life = max(v for v in (warm_peak, peak) if v is not None) if (warm_peak or peak) else None

    def mib(kib: int | None) -> float | None:
        return None if kib is None else round(kib / 1024, 1)

    step_peak = (peak - before) if (can_reset and peak is not None and before is not None) else None
    return {"model_mib": mib(after_build - built) if built and after_build else None,
            "resident_before_step_mib": mib(before), "step_peak_above_resident_mib": mib(step_peak),
            "process_peak_mib": mib(whole_life), "hwm_reset": can_reset}


def measure_memory(model: str, variant: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.train_bench", "--memory", model, variant],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def quality(steps: int, scenes: int, threads: int) -> dict[str, Any]:
    """bf16 autocast vs fp32: the same N steps of the fast preset on the same synthetic face export, both
    checkpoints evaluated alike in fp32 (validation L1 and the landmark figure)."""
    from trainer.evaluate import evaluate_checkpoint
    from trainer.loop import train

    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp:
        export = Path(tmp) / "export"
        made = subprocess.run([sys.executable, str(ROOT / "tools" / "make_demo_data.py"), str(Path(tmp) / "project"),
                               str(export), "--scenes", str(scenes), "--size", "128"],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        if made.returncode != 0:
            raise RuntimeError(f"make_demo_data failed: {made.stderr.strip()}")
        out: dict[str, Any] = {"steps": steps, "preset": "pix2pix-fast-cpu", "data": made.stdout.strip()[-200:]}
        for name, amp in (("fp32", "off"), ("bf16", "bf16")):
            cfg = preset("pix2pix-fast-cpu", device="cpu", amp=amp, threads=threads, max_steps=steps,
                         sample_every=10 ** 6, checkpoint_every=10 ** 6, log_every=1)
            start = time.perf_counter()
            result = train(export, cfg, Path(tmp) / f"run-{name}", show_bar=False)
            seconds = time.perf_counter() - start
            print(f"quality/{name}: {steps} steps in {seconds:.1f} s", file=sys.stderr, flush=True)
            figures = evaluate_checkpoint(result.checkpoint.record, export)
            out[name] = {"train_seconds": round(seconds, 1), "sec_per_step": round(seconds / steps, 4),
                         "final_losses": {k: round(v, 4) for k, v in result.losses.items()},
                         **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()
                            if k.startswith("val_") or k == "pairs"}}
        out["bf16_minus_fp32_val_L1"] = round(out["bf16"]["val_L1"] - out["fp32"]["val_L1"], 4)
        return out


def run() -> dict[str, Any]:
    threads = int(os.environ.get("TRAIN_BENCH_THREADS", "2"))
    repeats = int(os.environ.get("TRAIN_BENCH_REPEATS", "5"))
    with_compile = os.environ.get("TRAIN_BENCH_COMPILE") == "1"
    warmup = int(os.environ.get("TRAIN_BENCH_WARMUP", "2"))
    torch.set_num_threads(threads)
    specs = _variants(with_compile)
    memory = {model: {name: measure_memory(model, name) for name in variants} for model, variants in specs.items()}
    groups = {model: {name: Case(f"{model}/{name}", cfg, size) for name, (cfg, size) in variants.items()}
              for model, variants in specs.items()}
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
    groups.clear()  # free the timed cases before the quality runs
    for model, variants in specs.items():
        for name in variants:
            out[model][name]["memory"] = memory[model][name]
    # the reference code's pix2pix unet_256 step on a 2-core machine of this kind: 0.84–1.04 s (issue 13)
    if specs["pix2pix_unet256"]["defaults"][1] == 256:  # only comparable at the reference's size, idle machine
        p2p = out["pix2pix_unet256"]["defaults"]["median_step_s"]
        out["pix2pix_vs_reference_0.84_1.04s"] = [round(p2p / 0.84, 3), round(p2p / 1.04, 3)]
    steps = int(os.environ.get("TRAIN_BENCH_QUALITY_STEPS", "150"))
    if steps > 0:
        out["quality_bf16_vs_fp32"] = quality(steps, int(os.environ.get("TRAIN_BENCH_QUALITY_SCENES", "40")),
                                              threads)
    out["load_avg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--memory"] and len(argv) == 3:
        print(json.dumps(memory_child(argv[1], argv[2])))
        return 0
    result = run()
    text = json.dumps(result, indent=2)
    target = os.environ.get("TRAIN_BENCH_OUT")
    if target:
        from trainer.atomic import write_bytes

        Path(target).parent.mkdir(parents=True, exist_ok=True)
        write_bytes(Path(target), (text + "\n").encode())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
