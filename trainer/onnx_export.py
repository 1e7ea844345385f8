"""A checkpoint's generator as ONNX (fixed 1×C×S×S input, opset 17), checked against torch after writing.

Uses the TorchScript-based exporter (`dynamo=False`): it needs only the `onnx` package, while the dynamo
exporter of torch 2.13 also wants onnxscript.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from trainer.atomic import write_with
from trainer.inference import load_generator

OPSET = 17


def export_onnx(checkpoint: Path | str, out: Path | str) -> Path:
    gen = load_generator(checkpoint)
    x = torch.zeros(1, gen.input_nc, gen.size, gen.size)

    def write(temp: Path) -> None:
        with warnings.catch_warnings():  # the TorchScript exporter announces its own deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)  # its notes on training-mode norms and shape inference
            torch.onnx.export(gen.net, (x,), str(temp), input_names=["input"], output_names=["output"],
                              opset_version=OPSET, dynamo=False)

    try:
        write_with(Path(out), write)
    except (ImportError, ModuleNotFoundError) as exc:
        raise RuntimeError(f"ONNX export needs the 'onnx' package: pip install onnx ({exc})") from exc
    return Path(out)


def max_difference(checkpoint: Path | str, onnx_path: Path | str, inputs: np.ndarray) -> float:
    """Largest |torch − onnxruntime| over `inputs` (N×C×S×S float32 in [-1, 1])."""
    import onnxruntime

    gen = load_generator(checkpoint)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        batch = x[None].astype(np.float32)
        with torch.inference_mode():
            expected = gen.net(torch.from_numpy(batch)).numpy()
        got = session.run(["output"], {"input": batch})[0]
        worst = max(worst, float(np.abs(expected - got).max()))
    return worst
