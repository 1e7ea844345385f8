"""Shared fixtures. Keep them generic: each test module builds the data it needs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.store import ProjectStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProjectStore]:
    """A fresh, empty, writable project."""
    with ProjectStore.create(tmp_path / "project") as s:
        yield s


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(path, pixels)
    return path


def noise_image(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    return rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)


def strip_with_panels(
    panel_heights: list[int], width: int = 300, gutter: int = 60, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A white strip with textured panels separated by white gutters; returns (pixels, [(top, bottom)])."""
    rng = np.random.default_rng(seed)
    height = gutter + sum(h + gutter for h in panel_heights)
    pixels = np.full((height, width, 3), 255, np.uint8)
    spans = []
    y = gutter
    for h in panel_heights:
        pixels[y : y + h] = noise_image(rng, h, width)
        spans.append((y, y + h))
        y += h + gutter
    return pixels, spans


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module's tests (`pytestmark = pytest.mark.usefixtures("one_torch_thread")`):
    the machine's cores are shared, and small convolutions gain nothing from more."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
