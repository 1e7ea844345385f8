"""One loaded generator, ready for frames: picks the fastest runtime at load and renders a request.

`Engine.render` is synchronous and thread-agnostic; the studio calls it from a LatestWinsWorker. Loading
warms every candidate runtime up (the first calls allocate, pick kernels, fill caches) and times it at the
fixed input shape; the fastest median wins and the others are unloaded.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from f2a_studio.core.align import AlignmentError
from f2a_studio.preview.errors import PreviewError
from f2a_studio.preview.frames import aligned_face, from_batch, keypoint_drawing, square_photo, to_batch
from f2a_studio.preview.runtimes import RUNTIMES, ModelSource, Runtime, RuntimeOptions, get_runtime
from f2a_studio.preview.spec import GeneratorKind, InputSpec, RuntimeInfo

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class EngineOptions(RuntimeOptions):
    runtimes: tuple[str, ...] | None = None  # None: every registered runtime that is available here
    warmup: int = 3
    measure: int = 7


@dataclass(frozen=True, eq=False)
class PreviewRequest:
    """A frame to render. Keypoint models need `landmarks`; face models a cut `image` with landmarks, or a photo."""

    landmarks: tuple | np.ndarray | None = None  # 68 [x, y, v] in image coordinates
    image: np.ndarray | None = None  # the cut (H×W×3 uint8) the landmarks are on, or a dropped photo
    tag: object = None  # handed back in the result (the studio puts the face id here)


@dataclass(frozen=True)
class Latency:
    draw_ms: float
    infer_ms: float
    convert_ms: float
    waited_ms: float = 0.0  # in the mailbox before the worker took it

    @property
    def total_ms(self) -> float:
        return self.draw_ms + self.infer_ms + self.convert_ms


@dataclass(frozen=True, eq=False)
class PreviewResult:
    request_id: int
    runtime: RuntimeInfo
    latency: Latency
    input: np.ndarray | None = None  # A: what the generator saw, size×size×3 uint8
    output: np.ndarray | None = None  # B: what it made
    error: str | None = None
    tag: object = None


@dataclass(frozen=True)
class LoadReport:
    chosen: RuntimeInfo
    measured: tuple[RuntimeInfo, ...]  # every runtime that loaded, with its median at load
    skipped: tuple[str, ...] = field(default=())  # "name: why" for those that did not


def _time_runtime(runtime: Runtime, spec: InputSpec, warmup: int, measure: int) -> float:
    batch = np.zeros(spec.shape, np.float32)
    for _ in range(max(1, warmup)):
        runtime.run(batch)
    times = []
    for _ in range(max(1, measure)):
        t = time.perf_counter()
        runtime.run(batch)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


class Engine:
    def __init__(self, runtime: Runtime, spec: InputSpec, name: str, report: LoadReport) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = name
        self.report = report

    @property
    def info(self) -> RuntimeInfo:
        return self.report.chosen

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | str, options: EngineOptions | None = None) -> Engine:
        """A checkpoint or ONNX file → a warmed-up engine (see preview/loader.py for what is accepted)."""
        from f2a_studio.preview.loader import load_generator

        loaded = load_generator(Path(path))
        return cls.from_source(loaded.source, loaded.spec, options)

    @classmethod
    def from_module(cls, module: nn.Module, spec: InputSpec, options: EngineOptions | None = None,
                    name: str = "generator") -> Engine:
        return cls.from_source(ModelSource(module=module, name=name), spec, options)

    @classmethod
    def from_source(cls, source: ModelSource, spec: InputSpec, options: EngineOptions | None = None) -> Engine:
        options = options or EngineOptions()
        names = options.runtimes or tuple(RUNTIMES)
        timed: list[tuple[float, Runtime]] = []
        skipped: list[str] = []
        for name in names:
            backend = get_runtime(name)
            why = backend.unavailable(source)
            if why is None:
                try:
                    runtime = backend.load(source, spec, options)
                    ms = _time_runtime(runtime, spec, options.warmup, options.measure)
                except Exception as exc:  # a shape mismatch, an op it lacks, an exporter bug: try the others
                    why = str(exc) if isinstance(exc, PreviewError) else f"{type(exc).__name__}: {exc}"
                else:
                    timed.append((ms, runtime))
                    continue
            skipped.append(f"{name}: {why}")
        if not timed:
            raise PreviewError(f"{source.name}: no runtime can run this generator ({'; '.join(skipped)})")
        timed.sort(key=lambda pair: pair[0])
        for _, loser in timed[1:]:
            loser.unload()
        measured = tuple(replace(rt.info, measured_ms=round(ms, 2)) for ms, rt in timed)
        report = LoadReport(measured[0], measured, tuple(skipped))
        return cls(timed[0][1], spec, source.name, report)

    def unload(self) -> None:
        self.runtime.unload()

    # ------------------------------------------------------------ frames

    def input_image(self, request: PreviewRequest) -> np.ndarray:
        """What the generator is fed for `request` (raises PreviewError when the request does not fit the model)."""
        spec = self.spec
        if spec.kind is GeneratorKind.KEYPOINTS:
            if request.landmarks is None:
                raise PreviewError(f"{self.name} draws from keypoints: select a face that has landmarks")
            return keypoint_drawing(request.landmarks, spec)
        if request.image is None:
            raise PreviewError(f"{self.name} translates faces: select a face on a cut, or drop a photo")
        if request.landmarks is None:
            return square_photo(request.image, spec.size)
        return aligned_face(request.image, request.landmarks, spec.size, spec.margin)

    def render(self, request: PreviewRequest, request_id: int = 0, waited_ms: float = 0.0) -> PreviewResult:
        """Draw, infer, convert; failures to draw (unlabelled eyes...) come back as `error`, never raised."""
        t0 = time.perf_counter()
        try:
            image = self.input_image(request)
        except (PreviewError, AlignmentError, ValueError) as exc:
            latency = Latency((time.perf_counter() - t0) * 1000, 0.0, 0.0, waited_ms)
            return PreviewResult(request_id, self.info, latency, error=str(exc), tag=request.tag)
        batch = to_batch(image, self.spec)
        t1 = time.perf_counter()
        out = self.runtime.run(batch)
        t2 = time.perf_counter()
        picture = from_batch(out, self.spec)
        t3 = time.perf_counter()
        latency = Latency((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, waited_ms)
        shown = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        return PreviewResult(request_id, self.info, latency, shown, picture, tag=request.tag)
