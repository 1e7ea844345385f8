"""`python -m trainer eval CHECKPOINT`: a saved generator's quality figures on an export's split, the same
ones the loop logs at each checkpoint (trainer/quality.py), computed in fp32 on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainer.data import DataError, check_export, make_dataset
from trainer.inference import load_generator
from trainer.landmarker import prepare
from trainer.models import PAIRED
from trainer.quality import evaluate


def evaluate_checkpoint(checkpoint: Path | str, data: Path | str | None = None, *, split: str = "val",
                        models: Sequence[Path] | None = None, backend: str | None = None) -> dict[str, Any]:
    gen = load_generator(checkpoint)
    cfg = gen.config
    if cfg.model not in PAIRED:
        raise DataError(f"{checkpoint}: eval measures paired generators (pix2pix); this one is {cfg.model}")
    if data is None:
        from trainer.checkpoint import load_checkpoint

        saved = load_checkpoint(checkpoint).meta.get("data")
        if not saved:
            raise DataError(f"{checkpoint} does not say which export it was trained on: pass --data EXPORT")
        data = Path(saved)
    layout = check_export(data, paired=True, split=split)
    dataset = make_dataset(layout, cfg, augment=False)
    faces, detect, detector, note = prepare(layout, cfg.direction, list(models) if models else None, backend)
    result = evaluate(gen.net, dataset, direction=cfg.direction, faces=faces, landmarker=detect,
                      detector=detector, note=note)
    return {"checkpoint": str(checkpoint), "step": gen.step, "data": str(layout.folder), "split": split,
            "pairs": result.pairs, **result.to_metrics()}
