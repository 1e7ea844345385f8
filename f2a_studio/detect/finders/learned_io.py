"""The learned finder's files: ``finder-learned.safetensors`` (weights) + ``finder-learned.json`` (card).

Weights are safetensors only: nothing is unpickled, so a checkpoint cannot run code. The JSON card holds
the network config (checked before any weight is read), the inference settings, how the model was
trained and its metrics. Both files are written to temporary names and renamed, weights first, so a
reader never sees a card without its weights or half a file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import F2AError
from f2a_studio.core.files import read_prefix, write_bytes_atomic

WEIGHTS_NAME = "finder-learned.safetensors"
CARD_NAME = "finder-learned.json"


class FinderModelError(F2AError):
    """A learned-finder file that cannot be used, with the file and the reason."""


@dataclass(frozen=True)
class InferenceConfig:
    max_short: int = 512  # images are scaled so their short side is at most this (faces stay in range)
    tile: int = 512  # square tiles of at most this side, scaled pixels
    overlap: int = 160  # tile overlap, scaled pixels: more than the largest face's half side
    threshold: float = 0.08  # lowest peak kept as a proposal (calibration and the slider come later)
    top_k: int = 100
    mirror: bool = False  # also read each tile mirrored, heatmaps and sizes averaged (one batch of two: ~1.5x)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> InferenceConfig:
        d = data or {}
        return cls(**{k: type(getattr(cls, k))(v) for k, v in d.items() if k in cls.__dataclass_fields__})


def model_paths(folder: Path) -> tuple[Path, Path]:
    return folder / WEIGHTS_NAME, folder / CARD_NAME


def find_model(search_path: Sequence[Path | str]) -> Path | None:
    """The first folder of ``search_path`` that holds both files (a cheap file check)."""
    for entry in search_path:
        folder = Path(entry)
        weights, card = model_paths(folder)
        if weights.is_file() and card.is_file():
            return folder
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(folder: Path) -> dict[str, Any]:
    _, card = model_paths(folder)
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FinderModelError(f"{card}: not a readable learned-finder card ({exc})") from exc
    if not isinstance(data, dict) or "net" not in data:
        raise FinderModelError(f"{card}: no 'net' section; not a learned-finder card")
    return data


def load_state(folder: Path) -> dict[str, Any]:
    """Tensors of ``finder-learned.safetensors`` (safetensors only: a pickle is refused, never loaded)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, _ = model_paths(folder)
    try:
        return load_file(str(weights))  # safetensors never unpickles: trying it first is safe
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        # the first bytes explain the failure only after it: a safetensors file starts with its header length,
        # a multiple of 8 whose first byte is 0x80 for one file in 32 (a header of 128, 384 … bytes)
        head = read_prefix(weights, 2) if weights.is_file() else b""  # not the whole file
        if head == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
            raise FinderModelError(
                f"{weights}: this is a pickled torch checkpoint; the learned finder only loads safetensors "
                "(a pickle can run code). Re-save the weights with safetensors."
            ) from exc
        raise FinderModelError(f"{weights}: not a valid safetensors file ({exc})") from exc


def save_model(folder: Path, state: dict[str, Any], card: dict[str, Any], inference: InferenceConfig) -> Path:
    """Write weights then card into ``folder`` (atomically, each); returns the weights path."""
    from safetensors.torch import save

    folder.mkdir(parents=True, exist_ok=True)
    weights, card_path = model_paths(folder)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    write_bytes_atomic(weights, save(tensors))
    full = {**card, "inference": asdict(inference), "weights_sha256": sha256_file(weights)}
    write_bytes_atomic(card_path, (json.dumps(full, indent=1) + "\n").encode("utf-8"))
    return weights
