"""The ONNX Runtime backend (optional): an exported generator renders what torch renders, and the engine
keeps whichever runtime it measured faster. Skipped when onnxruntime (or onnx, to export) is not installed."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="onnxruntime is an optional dependency of the preview")
pytest.importorskip("onnx", reason="exporting a test generator to ONNX needs the onnx package")

from preview_nets import UnetGenerator

from f2a_studio.preview import Engine, EngineOptions, InputSpec, PreviewError, PreviewRequest
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose

FAST = {"warmup": 1, "measure": 2}


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    image = np.full((360, 420, 3), 255, np.uint8)
    truth = draw_character(image, sample_character(np.random.default_rng(5)), Pose(210, 180, 120))
    return np.column_stack([np.array(truth.landmarks), np.array(truth.visibility, float)])


@pytest.fixture(scope="module")
def unet() -> torch.nn.Module:
    torch.manual_seed(0)
    return UnetGenerator(3, 3, num_downs=6, ngf=8).eval()


def export(net: torch.nn.Module, path: Path, size: int) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, size, size),), str(path), input_names=["input"],
                          output_names=["output"], opset_version=17, dynamo=False)
    return path


def test_onnx_runtime_renders_what_torch_renders(unet, landmarks) -> None:
    spec = InputSpec(size=64)
    request = PreviewRequest(landmarks=landmarks)
    by_torch = Engine.from_module(unet, spec, EngineOptions(runtimes=("torch",), **FAST)).render(request)
    engine = Engine.from_module(unet, spec, EngineOptions(runtimes=("onnxruntime",), **FAST))
    by_onnx = engine.render(request)
    assert by_onnx.runtime.runtime == "onnxruntime" and by_onnx.runtime.precision == "fp32"
    assert by_onnx.output.shape == (64, 64, 3)
    assert np.array_equal(by_onnx.input, by_torch.input)
    assert np.abs(by_onnx.output.astype(int) - by_torch.output.astype(int)).max() <= 2


def test_an_onnx_file_loads_on_its_own(tmp_path: Path, unet, landmarks) -> None:
    path = export(unet, tmp_path / "g.onnx", 128)
    engine = Engine.load(path, EngineOptions(**FAST))
    assert engine.spec.size == 128 and engine.spec.in_channels == 3
    assert engine.info.runtime == "onnxruntime"
    assert any(s.startswith("torch:") for s in engine.report.skipped)  # no module to run in torch
    assert engine.render(PreviewRequest(landmarks=landmarks)).output.shape == (128, 128, 3)


def test_engine_keeps_the_runtime_it_measured_faster(unet) -> None:
    engine = Engine.from_module(unet, InputSpec(size=64), EngineOptions(**FAST))
    measured = engine.report.measured
    assert {m.runtime for m in measured} == {"torch", "onnxruntime"}
    assert engine.info == min(measured, key=lambda m: m.measured_ms)


def test_an_onnx_model_of_the_wrong_shape_is_refused(tmp_path: Path, unet) -> None:
    path = export(unet, tmp_path / "g.onnx", 128)
    from f2a_studio.preview.runtimes import ModelSource

    with pytest.raises(PreviewError, match=r"takes \[1, 3, 128, 128\]"):
        Engine.from_source(ModelSource(onnx=path), InputSpec(size=64), EngineOptions(**FAST))
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    with pytest.raises(PreviewError, match=r"junk\.onnx"):
        Engine.load(tmp_path / "junk.onnx", EngineOptions(**FAST))
