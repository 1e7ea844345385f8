"""The preview reads trainer/'s real checkpoints through preview/loader.py (skipped while trainer/ lacks them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from f2a_studio.preview.loader import trainer_missing

if trainer_missing():
    pytest.skip(f"trainer checkpoints cannot be read here: {trainer_missing()}", allow_module_level=True)

import torch

from f2a_studio.core.keypoints import aligned_keypoint_image
from f2a_studio.preview import Engine, EngineOptions, GeneratorKind, PreviewRequest
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from trainer.checkpoint import save_checkpoint
from trainer.config import preset
from trainer.nets import build_generator

FAST = EngineOptions(runtimes=("torch",), warmup=1, measure=1)


def write_checkpoint(run: Path, preset_name: str, **changes: object) -> Path:
    torch.manual_seed(0)
    cfg = preset(preset_name).override(**changes)
    net = build_generator(cfg)
    from trainer.models import MODELS

    name = MODELS[cfg.model].generator_name
    return save_checkpoint(run / "checkpoints", cfg, {name: net}, {}, {"step": 2}).weights


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((360, 420, 3), 255, np.uint8)
    truth = draw_character(image, sample_character(np.random.default_rng(2)), Pose(210, 180, 120))
    return image, np.column_stack([np.array(truth.landmarks), np.array(truth.visibility, float)])


def test_a_pix2pix_checkpoint_previews_keypoints(tmp_path: Path, face) -> None:
    weights = write_checkpoint(tmp_path / "run", "pix2pix-fast-cpu", ngf=8, crop_size=64, load_size=64,
                               net_g="unet", unet_downs=6)
    for path in (weights, weights.with_suffix(".json"), tmp_path / "run"):
        engine = Engine.load(path, FAST)
        assert engine.spec.kind is GeneratorKind.KEYPOINTS and engine.spec.size == 64
    result = engine.render(PreviewRequest(landmarks=face[1]))
    assert result.error is None and result.output.shape == (64, 64, 3)
    assert np.array_equal(result.input, aligned_keypoint_image(face[1], 64))


def test_a_cyclegan_checkpoint_previews_faces(tmp_path: Path, face) -> None:
    weights = write_checkpoint(tmp_path / "run", "cyclegan-fast-cpu", ngf=8, crop_size=64, load_size=64,
                               net_g="resnet", n_blocks=1)
    engine = Engine.load(weights, FAST)
    assert engine.spec.kind is GeneratorKind.FACE
    image, landmarks = face
    result = engine.render(PreviewRequest(landmarks=landmarks, image=image))
    assert result.error is None and result.output.shape == (64, 64, 3)


def test_the_trainers_onnx_export_beside_a_checkpoint_is_used(tmp_path: Path, face) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from trainer.onnx_export import export_onnx

    weights = write_checkpoint(tmp_path / "run", "pix2pix-fast-cpu", ngf=8, crop_size=64, load_size=64,
                               net_g="unet", unet_downs=6)
    export_onnx(weights, weights.with_suffix(".onnx"))
    engine = Engine.load(weights, EngineOptions(warmup=1, measure=1))
    assert {m.runtime for m in engine.report.measured} == {"torch", "onnxruntime"}
    by_onnx = Engine.load(weights, EngineOptions(runtimes=("onnxruntime",), warmup=1, measure=1))
    assert by_onnx.runtime.where == str(weights.with_suffix(".onnx"))  # the trainer's file, not a re-export
    by_torch = Engine.load(weights, FAST)
    request = PreviewRequest(landmarks=face[1])
    a, b = by_onnx.render(request).output.astype(int), by_torch.render(request).output.astype(int)
    assert np.abs(a - b).max() <= 2
