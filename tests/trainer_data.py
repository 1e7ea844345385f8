"""Tiny synthetic exports for the trainer tests, written in the export layouts with a real manifest.

Pairs: A a blob drawing on black, B the same blob as a coloured disc on a light background, so B is a
learnable function of A. Unpaired: A discs on dark, B squares on light.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from trainer.config import TrainConfig


def _entry(root: Path, path: Path, split: str) -> dict:
    data = path.read_bytes()
    return {"path": str(path.relative_to(root)), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "split": split, "faces": []}


def write_manifest(root: Path, fmt: str, entries: list[dict], version: int = 1) -> None:
    manifest = {"f2a_export": version, "format": fmt, "generator": "tests", "files": entries, "options": {},
                "seed": 0}
    (root / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=2))


def _disc(size: int, rng: np.random.Generator, fg: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, tuple]:
    yy, xx = np.mgrid[:size, :size]
    cx, cy, r = rng.uniform(size * 0.3, size * 0.7), rng.uniform(size * 0.3, size * 0.7), rng.uniform(4, size / 4)
    mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    img[mask] = fg
    return img, (cx, cy, r)


def paired_export(root: Path, n: int = 6, size: int = 32, seed: int = 0, val: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n + val):
        split = "train" if i < n else "val"
        a, geom = _disc(size, rng, np.array([255, 255, 255]), np.array([0, 0, 0]))
        b = np.full((size, size, 3), 230, np.uint8)
        yy, xx = np.mgrid[:size, :size]
        cx, cy, r = geom
        b[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = (200, 40, 60)
        path = root / split / f"pair{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.hstack([a, b])).save(path)
        entries.append(_entry(root, path, split))
    write_manifest(root, "pix2pix", entries)
    return root


def unpaired_export(root: Path, n: int = 6, size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n):
        a, _ = _disc(size, rng, np.array([240, 200, 60]), np.array([20, 20, 40]))
        b = np.full((size, size, 3), 220, np.uint8)
        x, y, w = (int(v) for v in rng.integers(4, size // 2, size=3))
        b[y:y + w, x:x + w] = (40, 90, 200)
        for domain, img in (("trainA", a), ("trainB", b)):
            path = root / domain / f"{domain}{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path)
            entries.append(_entry(root, path, "train"))
    write_manifest(root, "cyclegan", entries)
    return root


def tiny(model: str = "pix2pix", **changes) -> TrainConfig:
    """Real architectures at toy width and 32², CPU, deterministic."""
    base = {"model": model, "ngf": 8, "ndf": 8, "load_size": 36, "crop_size": 32, "device": "cpu", "threads": 1,
            "log_every": 1, "sample_every": 1000, "checkpoint_every": 1000, "n_samples": 2, "epochs": 50,
            "epochs_decay": 50, "amp": "off"}
    if model == "pix2pix":
        base.update(net_g="unet", unet_downs=5)
    elif model == "cyclegan":
        base.update(net_g="resnet", n_blocks=2, norm="instance", gan_mode="lsgan", dropout=False, pool_size=4)
    elif model == "unit":
        base.update(net_g="unit", n_blocks=1, norm="instance", gan_mode="lsgan", dropout=False)
    elif model == "ugatit":
        base.update(net_g="ugatit", n_blocks=2, norm="instance", gan_mode="lsgan", dropout=False, n_layers_d=4)
    base.update(changes)
    return TrainConfig(**base)
