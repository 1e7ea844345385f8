"""Small CNNs on face crops (the sex classifier, the landmark model): crops, a backbone, model files.

Two crops: ``aligned_crop`` puts the eye centres and the mouth on canonical points (core.align; what a
classifier of the whole face wants), ``box_crop`` takes a square around the face box (what a landmark
model needs: it cannot be aligned by the points it is asked for). Model files are a safetensors weights
file plus a JSON card, written atomically by the learned finder's helpers (weights first, so a card never
names missing weights); a pickle is refused, never loaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from f2a_studio.core.align import alignment_matrix, warp
from f2a_studio.core.errors import F2AError
from f2a_studio.core.files import write_bytes_atomic
from f2a_studio.detect.finders.learned_io import sha256_file

BOX_EXPAND = 1.5  # a box crop spans this many box sides: a detector's box may be off by a fifth of a face


class ModelFileError(F2AError):
    """A model file that cannot be used, with the file and the reason."""


# -- crops ------------------------------------------------------------------------------------------------


def aligned_crop(pixels: np.ndarray, landmarks: Sequence, size: int = 64, margin: float = 0.3) -> np.ndarray:
    """size×size×3 uint8, eyes and mouth on canonical points (raises core.align.AlignmentError)."""
    m = alignment_matrix(landmarks, size, margin)
    return warp(np.ascontiguousarray(pixels[:, :, :3]), m, size, mode="reflect").pixels


def box_matrix(box: Sequence[float], size: int, shift: tuple[float, float] = (0.0, 0.0),
               zoom: float = 1.0) -> np.ndarray:
    """Image → crop (2×3, corner convention): a square of BOX_EXPAND·side/zoom around the box centre moved by
    ``shift`` box sides."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h, 1.0) * BOX_EXPAND / zoom
    cx, cy = x + w / 2 + shift[0] * w, y + h / 2 + shift[1] * h
    k = size / side
    return np.array([[k, 0.0, size / 2 - k * cx], [0.0, k, size / 2 - k * cy]])


def box_crop(pixels: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    return warp(np.ascontiguousarray(pixels[:, :, :3]), matrix, size, mode="reflect").pixels


def to_tensor(crops: Sequence[np.ndarray]):  # -> torch.Tensor N×3×S×S in 0..1
    import torch

    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0


# -- the backbone -----------------------------------------------------------------------------------------


def backbone(widths: Sequence[int]):  # -> torch.nn.Sequential, stride 2 per width
    """Conv-BN-ReLU stages, each halving the crop; a few tens of thousands of weights at (16, 32, 48, 64)."""
    from torch import nn

    layers: list[Any] = []
    c_in = 3
    for c in widths:
        layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                   nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        c_in = c
    return nn.Sequential(*layers)


# -- files ------------------------------------------------------------------------------------------------


def model_paths(folder: Path, stem: str) -> tuple[Path, Path]:
    return Path(folder) / f"{stem}.safetensors", Path(folder) / f"{stem}.json"


def model_folders(search_path: Sequence[Path | str], stem: str) -> list[Path]:
    """Every folder of the search path holding both files of ``stem``, best first (a cheap file check)."""
    out = []
    for entry in search_path:
        weights, card = model_paths(Path(entry), stem)
        if weights.is_file() and card.is_file():
            out.append(Path(entry))
    return out


def save_model(folder: Path, stem: str, state: dict[str, Any], card: dict[str, Any]) -> Path:
    """Weights then card into ``folder``, each atomically; returns the weights path."""
    from safetensors.torch import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights, card_path = model_paths(folder, stem)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    write_bytes_atomic(weights, save(tensors))
    full = {**card, "weights_sha256": sha256_file(weights)}
    write_bytes_atomic(card_path, (json.dumps(full, indent=1) + "\n").encode("utf-8"))
    return weights


def load_model(folder: Path, stem: str, architecture: str | tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, card) of ``stem`` in ``folder`` whose card names ``architecture`` (or one of several); a
    ModelFileError saying which file and why otherwise."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    names = (architecture,) if isinstance(architecture, str) else architecture
    weights, card_path = model_paths(folder, stem)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{card_path}: not a readable model card ({exc})") from exc
    if not isinstance(card, dict) or card.get("net", {}).get("architecture") not in names:
        raise ModelFileError(f"{card_path}: not a {' or '.join(names)} model card")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        # said after the fact: a safetensors header length may itself start with 0x80
        head = weights.read_bytes()[:2] if weights.is_file() else b""
        if head == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
            raise ModelFileError(f"{weights}: a pickled torch checkpoint; only safetensors are loaded "
                                 "(a pickle can run code)") from exc
        raise ModelFileError(f"{weights}: not a valid safetensors file ({exc})") from exc
    return state, card


def file_sha256(path: Path) -> str:
    return sha256_file(path)


# -- training ---------------------------------------------------------------------------------------------


def held_back_key(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` (a face's cut hash and id): the same face stays held back
    however often one retrains."""
    import hashlib

    return int(hashlib.sha256(("crop-split:" + text).encode()).hexdigest()[:12], 16) / 16**12


def photometric(crops: np.ndarray, rng: np.random.Generator, grey_prob: float = 0.15) -> np.ndarray:
    """Brightness/contrast jitter and some grey crops (manga pages), per crop; uint8 in, uint8 out."""
    out = crops.astype(np.float32)
    n = len(out)
    gain = rng.uniform(0.65, 1.25, (n, 1, 1, 1))
    bias = rng.uniform(-25, 25, (n, 1, 1, 1))
    out = out * gain + bias
    grey = rng.random(n) < grey_prob
    if grey.any():
        out[grey] = out[grey].mean(axis=3, keepdims=True)
    return np.clip(out, 0, 255).astype(np.uint8)
