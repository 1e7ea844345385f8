"""Generator runtimes, by name. The engine loads every available one and keeps the fastest it measured.

Backends import their heavy packages (torch, onnxruntime) only when they load a model: the studio imports
this registry at start-up, and importing torch there took longer than opening the window.
"""

from __future__ import annotations

from f2a_studio.preview.runtimes.base import ModelSource, Runtime, RuntimeBackend, RuntimeOptions
from f2a_studio.preview.runtimes.onnx_runtime import OnnxBackend
from f2a_studio.preview.spec import InputSpec


class TorchBackend:
    name = "torch"

    def unavailable(self, source: ModelSource) -> str | None:
        return None if source.module is not None else "no torch module (an ONNX file only)"

    def load(self, source: ModelSource, spec: InputSpec, options: RuntimeOptions) -> Runtime:
        from f2a_studio.preview.runtimes.torch_runtime import TorchRuntime

        assert source.module is not None
        return TorchRuntime(source.module, spec, options)


def best_device() -> str:
    from f2a_studio.preview.runtimes.torch_runtime import best_device as best

    return best()

RUNTIMES: dict[str, RuntimeBackend] = {"torch": TorchBackend(), "onnxruntime": OnnxBackend()}


def get_runtime(name: str) -> RuntimeBackend:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise ValueError(f"unknown preview runtime {name!r}; known: {', '.join(RUNTIMES)}") from None


__all__ = ["RUNTIMES", "ModelSource", "Runtime", "RuntimeBackend", "RuntimeOptions", "best_device", "get_runtime"]
