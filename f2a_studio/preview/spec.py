"""What a generator expects and what ran it: plain frozen dataclasses shared by engine, worker and the studio."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from f2a_studio.core.align import DEFAULT_MARGIN, check_margin, check_size


class GeneratorKind(str, Enum):
    KEYPOINTS = "keypoints"  # keypoint drawing → anime face (pix2pix A→B)
    FACE = "face"  # aligned face → anime face (CycleGAN, UNIT, U-GAT-IT)


@dataclass(frozen=True)
class InputSpec:
    """The fixed input a generator was trained on. Values are scaled to `value_range` (pix2pix: [-1, 1])."""

    kind: GeneratorKind = GeneratorKind.KEYPOINTS
    size: int = 128
    in_channels: int = 3
    out_channels: int = 3
    margin: float = DEFAULT_MARGIN
    value_range: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        check_size(self.size)
        check_margin(self.margin)
        if self.in_channels not in (1, 3) or self.out_channels not in (1, 3):
            raise ValueError(f"generators take and give 1 or 3 channels, got {self.in_channels}→{self.out_channels}")
        lo, hi = self.value_range
        if not lo < hi:
            raise ValueError(f"value_range must rise, got {self.value_range}")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (1, self.in_channels, self.size, self.size)


@dataclass(frozen=True)
class RuntimeInfo:
    """What actually runs the generator: shown in the dock and recorded by the benchmark."""

    runtime: str  # registry name: "torch", "onnxruntime"
    device: str  # "cpu", "cuda:0", "mps", "CPUExecutionProvider"
    precision: str  # "fp32", "fp16"
    measured_ms: float | None = None  # median warm latency at load, when measured

    @property
    def label(self) -> str:
        ms = "" if self.measured_ms is None else f", {self.measured_ms:.1f} ms at load"
        return f"{self.runtime} · {self.device} · {self.precision}{ms}"
