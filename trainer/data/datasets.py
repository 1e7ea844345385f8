"""Paired (pix2pix A|B, concat4) and unpaired (cyclegan trainA/trainB) datasets, as tensors in [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from trainer.config import TrainConfig
from trainer.data.augment import AugmentParams, apply, draw_params
from trainer.data.layout import DataError, ExportLayout


def _open(path, mode: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except OSError as exc:
        raise DataError(f"{path} cannot be decoded: {exc}") from exc


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class _Base(Dataset):
    def __init__(self, layout: ExportLayout, cfg: TrainConfig, *, augment: bool = True) -> None:
        self.layout, self.cfg, self.augment = layout, cfg, augment

    def params(self, epoch: int, index: int) -> AugmentParams | None:
        if not self.augment:
            return None
        c = self.cfg
        return draw_params(c.seed, epoch, index, c.load_size, c.crop_size, c.flip)

    def prepare(self, image: Image.Image, params: AugmentParams | None) -> torch.Tensor:
        return to_tensor(apply(image, params, self.cfg.load_size, self.cfg.crop_size))

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        return self.item(epoch, index)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class PairedDataset(_Base):
    """pix2pix: A the left half (keypoint drawing), B the right (face). concat4: A the keypoint channel
    (one channel), B the RGB face."""

    def __len__(self) -> int:
        return len(self.layout.a)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        path = self.layout.a[index]
        params = self.params(epoch, index)
        if self.layout.format == "concat4":
            rgba = _open(path, "RGBA")
            r, g, b, k = rgba.split()
            a_img, b_img = k, Image.merge("RGB", (r, g, b))
        else:
            ab = _open(path, "RGB")
            half = ab.width // 2
            a_img, b_img = ab.crop((0, 0, half, ab.height)), ab.crop((half, 0, ab.width, ab.height))
        return {"A": self.prepare(a_img, params), "B": self.prepare(b_img, params), "index": torch.tensor(index)}


class UnpairedDataset(_Base):
    """Domain A item `index`, with a B image drawn from the same seeded generator (unaligned, as the
    reference's unaligned dataset does with the unseeded global `random`)."""

    def __len__(self) -> int:
        return max(len(self.layout.a), len(self.layout.b))

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        a_path = self.layout.a[index % len(self.layout.a)]
        if self.augment:
            pick = np.random.default_rng([self.cfg.seed, epoch, index, 1]).integers(len(self.layout.b))
        else:
            pick = index % len(self.layout.b)
        b_path = self.layout.b[int(pick)]
        a = self.prepare(_open(a_path, "RGB"), self.params(epoch, index))
        b = self.prepare(_open(b_path, "RGB"), self.params(epoch, index + 7919 * (1 + int(pick))))
        return {"A": a, "B": b, "index": torch.tensor(index)}


def make_dataset(layout: ExportLayout, cfg: TrainConfig, *, augment: bool = True) -> _Base:
    return (PairedDataset if layout.paired else UnpairedDataset)(layout, cfg, augment=augment)
