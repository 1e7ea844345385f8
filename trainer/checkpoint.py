"""Checkpoints: weights as safetensors plus a JSON of config and metadata; resume state in a separate file.

Per saved step, in RUN/checkpoints/:
  step-NNNNNNNN.safetensors   every net's weights ("G.first.weight", …); the config and metadata also ride in
                              its header, so the one file is enough for `translate` and `export-onnx`
  step-NNNNNNNN.json          config, metadata (step, epoch, data manifest sha256, metrics) and the sha256 of
                              the two other files
  step-NNNNNNNN.resume.pt     optimizers, schedulers, AMP scaler, epoch, step, sampler position, image pools
                              and RNG states, as tensors and plain lists only: read with weights_only=True
  latest.json                 names the newest complete checkpoint (written last)
Every file is written to a temp file and renamed, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

from trainer.atomic import write_bytes, write_with
from trainer.config import ARCH_FIELDS, ConfigError, TrainConfig

FORMAT = "f2a-trainer-checkpoint"
FORMAT_VERSION = 1
HEADER_KEY = "f2a_trainer"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class CheckpointFiles:
    weights: Path
    record: Path
    resume: Path

    @classmethod
    def at(cls, folder: Path, step: int) -> CheckpointFiles:
        stem = folder / f"step-{step:08d}"
        return cls(stem.with_suffix(".safetensors"), stem.with_suffix(".json"), Path(f"{stem}.resume.pt"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unwrap(net: nn.Module) -> nn.Module:
    """The plain module under DDP (.module) and torch.compile (._orig_mod) wrappers."""
    while True:
        if hasattr(net, "_orig_mod"):
            net = net._orig_mod
        elif isinstance(net, nn.parallel.DistributedDataParallel):
            net = net.module
        else:
            return net


# ------------------------------------------------------------------------------------------------ RNG state
def rng_state() -> dict[str, Any]:
    """torch, CUDA, numpy and python RNG states as tensors and lists (nothing that needs unpickling)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ------------------------------------------------------------------------------------------------ writing
def weights_of(nets: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    out = {}
    for name, net in nets.items():
        for key, value in unwrap(net).state_dict().items():
            # clone: safetensors refuses aliased tensors (UNIT's shared blocks) and wants NCHW-contiguous data
            out[f"{name}.{key}"] = value.detach().to("cpu", copy=True).contiguous()
    return out


def save_checkpoint(folder: Path, cfg: TrainConfig, nets: dict[str, nn.Module], resume: dict[str, Any],
                    meta: dict[str, Any]) -> CheckpointFiles:
    files = CheckpointFiles.at(Path(folder), int(meta["step"]))
    header = {"format": FORMAT, "version": FORMAT_VERSION, "config": cfg.to_json(), "metadata": meta,
              "nets": sorted(nets)}
    tensors = weights_of(nets)
    text = json.dumps(header, sort_keys=True)
    write_with(files.weights, lambda t: safetensors.torch.save_file(tensors, str(t), metadata={HEADER_KEY: text}))
    write_with(files.resume, lambda t: torch.save({"format": FORMAT, "version": FORMAT_VERSION, **resume}, t))
    record = {**header, "weights": files.weights.name, "weights_sha256": _sha256(files.weights),
              "resume": files.resume.name, "resume_sha256": _sha256(files.resume)}
    write_bytes(files.record, (json.dumps(record, sort_keys=True, indent=2) + "\n").encode())
    write_bytes(Path(folder) / "latest.json", (json.dumps({"checkpoint": files.record.name}) + "\n").encode())
    return files


# ------------------------------------------------------------------------------------------------ reading
def find_checkpoint(path: Path | str) -> Path:
    """A run folder, its checkpoints folder, a .json record or a .safetensors file → that checkpoint's file
    (the record when there is one, else the safetensors)."""
    path = Path(path)
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        latest = folder / "latest.json"
        if not latest.is_file():
            raise CheckpointError(f"{path} holds no checkpoint (no {latest.relative_to(path.parent)})")
        try:
            name = json.loads(latest.read_text())["checkpoint"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{latest} is corrupt: {exc}") from exc
        return folder / name
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    if path.name.endswith(".resume.pt"):
        return Path(str(path)[: -len(".resume.pt")] + ".json")
    return path


@dataclass(frozen=True)
class Checkpoint:
    weights_path: Path
    config: TrainConfig
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    record: dict[str, Any] | None

    def net_state(self, name: str) -> dict[str, torch.Tensor]:
        prefix = f"{name}."
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    @property
    def resume_path(self) -> Path | None:
        if not self.record:
            return None
        return self.weights_path.parent / self.record["resume"]


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with safetensors.safe_open(str(path), framework="pt") as handle:
            text = (handle.metadata() or {}).get(HEADER_KEY)
    except Exception as exc:  # safetensors raises its own error types for truncated and foreign files
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint (corrupt or truncated?): "
                              f"{exc}") from exc
    if text is None:
        raise CheckpointError(f"{path} is a safetensors file but not an F2A trainer checkpoint (no "
                              f"'{HEADER_KEY}' header)")
    return json.loads(text)


def load_checkpoint(path: Path | str, *, verify: bool = True) -> Checkpoint:
    path = find_checkpoint(path)
    record = None
    if path.suffix == ".json":
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            weights = path.parent / record["weights"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path} is not a readable checkpoint record: {exc}") from exc
        if verify and weights.is_file() and _sha256(weights) != record.get("weights_sha256"):
            raise CheckpointError(f"{weights} does not match its record {path.name} (sha256 differs): a partial "
                                  f"copy, or weights from another run")
    else:
        weights = path
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing")
    header = _read_header(weights)
    if header.get("format") != FORMAT or int(header.get("version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{weights}: unknown checkpoint format {header.get('format')!r} version "
                              f"{header.get('version')!r} (this trainer reads {FORMAT} up to {FORMAT_VERSION})")
    try:
        config = TrainConfig.from_json(header["config"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{weights}: its config cannot be read: {exc}") from exc
    try:
        tensors = safetensors.torch.load_file(str(weights))
    except Exception as exc:
        raise CheckpointError(f"{weights} is corrupt or truncated: {exc}") from exc
    return Checkpoint(weights, config, header.get("metadata", {}), tensors, record)


def architecture_differences(saved: TrainConfig, current: TrainConfig) -> list[str]:
    return [f"{k}: {getattr(saved, k)!r} in the checkpoint, {getattr(current, k)!r} here"
            for k in ARCH_FIELDS if getattr(saved, k) != getattr(current, k)]


def load_weights(ckpt: Checkpoint, nets: dict[str, nn.Module], current: TrainConfig | None = None) -> None:
    """Load every net of `nets` from `ckpt`; any architecture or key/shape difference → CheckpointError."""
    if current is not None:
        diffs = architecture_differences(ckpt.config, current)
        if diffs:
            raise CheckpointError(f"{ckpt.weights_path} was trained with a different architecture: "
                                  + "; ".join(diffs))
    for name, net in nets.items():
        state = ckpt.net_state(name)
        if not state:
            raise CheckpointError(f"{ckpt.weights_path} has no weights for net {name!r} (it holds "
                                  f"{', '.join(sorted({k.split('.')[0] for k in ckpt.tensors}))})")
        module = unwrap(net)
        own = module.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        shapes = [f"{k}: {tuple(state[k].shape)} in the checkpoint, {tuple(own[k].shape)} here"
                  for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
        if missing or unexpected or shapes:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
            if unexpected:
                parts.append(f"unexpected {', '.join(unexpected[:5])}{' …' if len(unexpected) > 5 else ''}")
            if shapes:
                parts.append("shape " + "; ".join(shapes[:3]))
            raise CheckpointError(f"{ckpt.weights_path}: net {name!r} does not fit this architecture: "
                                  + "; ".join(parts))
        module.load_state_dict(state, strict=True)


def load_resume(path: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """The resume file, read with torch.load(weights_only=True): tensors and plain data only."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: this checkpoint cannot be resumed (its weights can still be "
                              f"used with translate / export-onnx)")
    if expected_sha256 is not None and _sha256(path) != expected_sha256:
        raise CheckpointError(f"{path} does not match its checkpoint record (sha256 differs): a partial copy, or "
                              f"a resume file from another run")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"refusing to load {path}: it holds pickled Python objects beyond tensors and plain "
                              f"data, which can run arbitrary code when loaded; F2A never writes such files "
                              f"(torch said: {first})") from exc
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path} is corrupt or truncated: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an F2A trainer resume file")
    return state
