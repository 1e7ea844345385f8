"""Reading generator weights without running code: safetensors, or torch.load with weights_only=True.

A full pickle can execute anything on load, and a checkpoint is a file users pass around; so there is no
fallback to `weights_only=False`, not even behind a flag. A refused file is named in the message.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from f2a_studio.preview.errors import PreviewError, UnsafeCheckpointError

StateDict = dict[str, torch.Tensor]

# Where trainers nest the generator's weights inside a bigger dict (first match wins).
_NESTED_KEYS = ("generator", "netG", "G", "G_A", "gen", "state_dict", "model")


def read_tensors(path: Path) -> StateDict:
    """All tensors of a weights file on the CPU, flattened to one state dict."""
    path = Path(path)
    if not path.is_file():
        raise PreviewError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path), device="cpu"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise PreviewError(f"{path}: not a readable safetensors file ({exc})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "pickle protocol N": moot, the file is refused or fine
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(path, str(exc).splitlines()[0]) from exc
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise PreviewError(f"{path}: not a readable torch checkpoint ({exc})") from exc
    return state_dict_of(obj, path)


def state_dict_of(obj: object, path: Path) -> StateDict:
    """The generator's tensors out of what torch.load returned (a state dict, or one nested under a known key)."""
    if isinstance(obj, Mapping):
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors and len(tensors) == len(obj):
            return dict(tensors)
        for key in _NESTED_KEYS:
            if isinstance(obj.get(key), Mapping):
                return state_dict_of(obj[key], path)
    raise PreviewError(f"{path}: holds no generator state dict (expected a name → tensor mapping)")
