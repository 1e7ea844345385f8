"""The generator as a torch module: CUDA > MPS > CPU, fp16 on a GPU, channels_last, inference_mode."""

from __future__ import annotations

import copy

import numpy as np
import torch

from f2a_studio.preview.runtimes.base import RuntimeOptions, cpu_threads
from f2a_studio.preview.spec import InputSpec, RuntimeInfo


def best_device() -> str:
    if torch.cuda.is_available():
        return "cuda:0" if torch.cuda.device_count() else "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class TorchRuntime:
    def __init__(self, module: torch.nn.Module, spec: InputSpec, options: RuntimeOptions) -> None:
        device = torch.device(options.device or best_device())
        on_gpu = device.type in ("cuda", "mps")
        precision = options.precision or ("fp16" if on_gpu else "fp32")
        if precision not in ("fp32", "fp16"):
            raise ValueError(f"precision must be fp32 or fp16, got {precision!r}")
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        if device.type == "cpu" and options.threads:
            # process-wide (torch has no per-module setting), so only when asked: the engine's default is to
            # measure torch at its own thread count against ONNX Runtime with one core left for the window
            torch.set_num_threads(cpu_threads(options))
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # the input shape never changes: pick the fastest kernels once
        # A copy: the caller's module (maybe a trainer's, still training) keeps its device, dtype and mode.
        net = copy.deepcopy(module).eval().requires_grad_(False)
        self.module = net.to(device=device, dtype=self.dtype, memory_format=torch.channels_last)
        self.device = device
        self.spec = spec
        self.info = RuntimeInfo("torch", str(device), precision)

    def run(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, self.dtype, non_blocking=True)
            y = self.module(x.contiguous(memory_format=torch.channels_last))
            return y.to(torch.float32).cpu().numpy()

    def unload(self) -> None:
        self.module = None  # type: ignore[assignment]
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


