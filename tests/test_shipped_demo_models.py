"""The shipped demo generator loads from the package's models folder and draws a face of its size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import f2a_studio
from f2a_studio.preview.loader import is_generator_file, spec_from_config
from f2a_studio.preview.spec import GeneratorKind

MODELS = Path(f2a_studio.__file__).parent / "resources" / "models"


def test_shipped_keypoint_demo_loads_and_draws_a_128_face() -> None:
    from trainer.inference import load_generator

    path = MODELS / "pix2pix-keypoints-demo.safetensors"
    assert is_generator_file(path)
    gen = load_generator(path)
    spec = spec_from_config(gen.config)
    assert spec.kind is GeneratorKind.KEYPOINTS and spec.size == 128
    drawing = np.zeros((128, 128, 3), np.uint8)
    drawing[40:44, 30:98] = 255  # a stroke: any keypoint drawing
    out = gen(drawing)
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    assert out.std() > 5  # a drawn face, not a flat fill
