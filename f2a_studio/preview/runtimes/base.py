"""The runtime protocol: one loaded generator that maps a float32 NCHW batch to a float32 NCHW batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from f2a_studio.preview.spec import InputSpec, RuntimeInfo

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True, eq=False)
class ModelSource:
    """What a runtime can be built from: a torch generator, an ONNX export, or both (the same weights)."""

    module: nn.Module | None = None
    onnx: Path | None = None
    name: str = "generator"


@dataclass(frozen=True)
class RuntimeOptions:
    device: str | None = None  # torch device; None picks CUDA > MPS > CPU
    precision: str | None = None  # "fp32" | "fp16"; None: fp16 on a GPU, fp32 on the CPU
    threads: int | None = None  # CPU threads; None: ONNX Runtime leaves one core for the window, torch keeps its own


class Runtime(Protocol):
    info: RuntimeInfo

    def run(self, batch: np.ndarray) -> np.ndarray: ...

    def unload(self) -> None: ...


class RuntimeBackend(Protocol):
    name: str

    def unavailable(self, source: ModelSource) -> str | None:
        """Why this backend cannot run `source` here (a missing package, no module), or None. Cheap: no loading."""
        ...

    def load(self, source: ModelSource, spec: InputSpec, options: RuntimeOptions) -> Runtime: ...


def cpu_threads(options: RuntimeOptions) -> int:
    import os

    if options.threads:
        return max(1, options.threads)
    # One core stays with the window: on a 2-core laptop two preview threads fighting the GUI (and any
    # other process) for the cores were 3× slower than one (benchmarks/preview_bench.py).
    return max(1, (os.cpu_count() or 1) - 1)
