"""A trained generator from a checkpoint, for `translate` and ONNX export: safetensors only, no pickle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from trainer.checkpoint import load_checkpoint, load_weights
from trainer.config import TrainConfig
from trainer.data.datasets import to_tensor
from trainer.logs import to_uint8
from trainer.models import MODELS
from trainer.models.base import prepare_generator
from trainer.nets import build_generator


@dataclass(frozen=True)
class Generator:
    net: nn.Module
    config: TrainConfig
    name: str
    step: int

    @property
    def size(self) -> int:
        return self.config.crop_size

    @property
    def input_nc(self) -> int:
        return self.config.input_nc

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> np.ndarray:
        """An RGB (or grey) uint8 image of any size → the translated RGB uint8 image at the trained size."""
        mode = "L" if self.input_nc == 1 else "RGB"
        pil = Image.fromarray(image).convert(mode).resize((self.size, self.size), Image.Resampling.BICUBIC)
        x = to_tensor(np.asarray(pil)).unsqueeze(0)
        return to_uint8(self.net(x)[0])


def load_generator(path: Path | str) -> Generator:
    ckpt = load_checkpoint(path)
    cfg = ckpt.config
    name = MODELS[cfg.model].generator_name
    net = build_generator(cfg)  # input_nc → output_nc; `direction` only picks which side of the data is input
    load_weights(ckpt, {name: net})
    return Generator(prepare_generator(net), cfg, name, int(ckpt.meta.get("step", 0)))


def read_input(path: Path, *, a_half: bool = False) -> np.ndarray:
    """An image file as RGB uint8; `a_half`: an A|B pair from a pix2pix export gives its left half (A)."""
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB"))
    if a_half and pixels.shape[1] == 2 * pixels.shape[0]:
        pixels = pixels[:, : pixels.shape[1] // 2]
    return pixels
