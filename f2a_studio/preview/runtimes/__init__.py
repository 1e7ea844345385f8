"""Generator runtimes, by name. The engine loads every available one and keeps the fastest it measured."""

from __future__ import annotations

from f2a_studio.preview.runtimes.base import ModelSource, Runtime, RuntimeBackend, RuntimeOptions
from f2a_studio.preview.runtimes.onnx_runtime import OnnxBackend
from f2a_studio.preview.runtimes.torch_runtime import TorchBackend, best_device

RUNTIMES: dict[str, RuntimeBackend] = {"torch": TorchBackend(), "onnxruntime": OnnxBackend()}


def get_runtime(name: str) -> RuntimeBackend:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise ValueError(f"unknown preview runtime {name!r}; known: {', '.join(RUNTIMES)}") from None


__all__ = ["RUNTIMES", "ModelSource", "Runtime", "RuntimeBackend", "RuntimeOptions", "best_device", "get_runtime"]
