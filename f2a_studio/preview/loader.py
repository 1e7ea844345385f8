"""Checkpoint path → generator + what it expects. The preview's ONE door to trainer/.

Accepted:
- a trainer checkpoint (`step-N.safetensors`, its `step-N.json` record, or a run / checkpoints folder), read
  through `trainer.inference.load_generator` (safetensors only); an ONNX export beside it (`step-N.onnx`)
  is offered to ONNX Runtime too;
- an `.onnx` file alone (ONNX Runtime only); its spec comes from the checkpoint record beside it, when
  there is one, else from its input shape (a keypoints model, by default);
- any other file is first read with `torch.load(weights_only=True)`, so a full pickle is refused by name
  before anything else; a plain state dict is then refused too (it does not say which network it is).

trainer is imported lazily, so the studio and the engine work (ONNX files, tests) when it is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f2a_studio.preview.errors import PreviewError
from f2a_studio.preview.runtimes import ModelSource
from f2a_studio.preview.spec import GeneratorKind, InputSpec

CHECKPOINT_SUFFIXES = (".safetensors", ".json", ".onnx")


@dataclass(frozen=True, eq=False)
class LoadedGenerator:
    source: ModelSource
    spec: InputSpec
    step: int | None = None


def spec_from_config(config: Any) -> InputSpec:
    """The preview's input spec from a trainer TrainConfig (or its JSON dict)."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    model, direction = get("model", "pix2pix"), get("direction", "AtoB")
    # pix2pix AtoB reads the keypoint drawing (the export's A); every other model reads a face.
    kind = GeneratorKind.KEYPOINTS if model == "pix2pix" and direction == "AtoB" else GeneratorKind.FACE
    return InputSpec(kind=kind, size=int(get("crop_size", 256)), in_channels=int(get("input_nc", 3)),
                     out_channels=int(get("output_nc", 3)))


def is_generator_file(path: Path) -> bool:
    """Cheap check for the picker: an ONNX file, or a safetensors file whose header says trainer/ wrote it
    (other backends keep their own safetensors models in checkpoints/ too)."""
    if path.suffix == ".onnx":
        return True
    if path.suffix != ".safetensors":
        return False
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:  # "pt" would import torch into the GUI
            return "f2a_trainer" in (handle.metadata() or {})  # trainer.checkpoint.HEADER_KEY
    except Exception:  # unreadable: not offered (safetensors raises its own error types)
        return False


def trainer_missing() -> str | None:
    """Why trainer checkpoints cannot be read here, or None."""
    try:
        import trainer.inference  # noqa: F401
    except ImportError as exc:
        return f"the trainer package is not installed or incomplete ({exc})"
    return None


def load_generator(path: Path) -> LoadedGenerator:
    path = Path(path)
    if path.suffix == ".onnx":
        return _load_onnx(path)
    if path.is_file() and path.suffix not in CHECKPOINT_SUFFIXES:
        from f2a_studio.preview.safeload import read_tensors  # torch: imported only when a file is read

        read_tensors(path)  # refuses a full pickle, naming the file
        raise PreviewError(f"{path}: a bare state dict does not say which network it is; open the trainer's "
                           ".safetensors checkpoint (it carries its config) or its ONNX export")
    why = trainer_missing()
    if why:
        raise PreviewError(f"{path}: cannot read trainer checkpoints: {why}")
    from trainer.checkpoint import CheckpointError, find_checkpoint
    from trainer.config import ConfigError
    from trainer.inference import load_generator as trainer_load

    try:
        gen = trainer_load(path)
        found = find_checkpoint(path)
    except (CheckpointError, ConfigError, OSError) as exc:
        raise PreviewError(str(exc)) from exc
    onnx = found.with_suffix(".onnx")
    name = f"{found.parent.parent.name or found.parent.name}/{found.stem}"
    source = ModelSource(module=gen.net, onnx=onnx if onnx.is_file() else None, name=name)
    return LoadedGenerator(source, spec_from_config(gen.config), gen.step)


def _load_onnx(path: Path) -> LoadedGenerator:
    if not path.is_file():
        raise PreviewError(f"{path}: no such ONNX file")
    record = path.with_suffix(".json")
    spec: InputSpec | None = None
    if record.is_file():
        try:
            spec = spec_from_config(json.loads(record.read_text(encoding="utf-8"))["config"])
        except (OSError, ValueError, KeyError, TypeError):
            spec = None  # not a trainer record: fall back to the shape
    if spec is None:
        spec = _spec_from_onnx_shape(path)
    return LoadedGenerator(ModelSource(onnx=path, name=path.stem), spec)


def _spec_from_onnx_shape(path: Path) -> InputSpec:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise PreviewError(f"{path}: ONNX models need onnxruntime (pip install onnxruntime)") from exc
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own error types
        raise PreviewError(f"{path}: not a loadable ONNX model ({exc})") from exc
    shape, out = session.get_inputs()[0].shape, session.get_outputs()[0].shape
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape[1:]) or shape[2] != shape[3]:
        raise PreviewError(f"{path}: the preview needs a fixed square 1×C×S×S input, this model takes {shape}")
    out_c = out[1] if len(out) == 4 and isinstance(out[1], int) else 3
    try:
        return InputSpec(size=shape[2], in_channels=shape[1], out_channels=out_c)
    except ValueError as exc:
        raise PreviewError(f"{path}: {exc}") from exc
