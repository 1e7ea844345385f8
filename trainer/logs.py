"""What a run writes for people: log.csv (always), TensorBoard events (when tensorboard is installed) and
sample grids (samples/step-NNNNNNNN.png: one row per sample, columns input | output | target)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainer.atomic import write_bytes

BASE_COLUMNS = ("step", "epoch", "lr", "sec_per_step")


class RunLog:
    def __init__(self, run: Path, loss_names: tuple[str, ...], *, enabled: bool, resume_step: int = 0) -> None:
        self.run = Path(run)
        self.enabled = enabled
        self.columns = (*BASE_COLUMNS, *loss_names)
        self.path = self.run / "log.csv"
        self.tb = None
        if not enabled:
            return
        self.run.mkdir(parents=True, exist_ok=True)
        self._keep_until(resume_step)
        if not self.path.exists():
            self.path.write_text(",".join(self.columns) + "\n", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.tb = None
        else:
            self.tb = SummaryWriter(str(self.run / "tensorboard"), purge_step=resume_step or None)

    def _keep_until(self, step: int) -> None:
        keep_rows_until(self.path, self.columns, step)

    def row(self, step: int, epoch: int, lr: float, seconds: float, losses: dict[str, float]) -> None:
        if not self.enabled:
            return
        values = [step, epoch, f"{lr:.6g}", f"{seconds:.4f}", *(f"{losses.get(n, float('nan')):.6g}"
                                                                 for n in self.columns[len(BASE_COLUMNS):])]
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(",".join(str(v) for v in values) + "\n")
        if self.tb is not None:
            for name, value in losses.items():
                self.tb.add_scalar(f"loss/{name}", value, step)
            self.tb.add_scalar("lr", lr, step)

    def scalar(self, name: str, value: float, step: int) -> None:
        if self.enabled and self.tb is not None:
            self.tb.add_scalar(name, value, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def keep_rows_until(path: Path, columns: tuple[str, ...], step: int) -> None:
    """On resume, drop rows logged after the checkpoint: the resumed run logs those steps again."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(rows[0]) != columns:
        raise ValueError(f"{path} has other columns than this model logs; use a new --out folder")
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(kept)
    write_bytes(path, text.getvalue().encode())


class MetricsLog:
    """metrics.csv: one row per checkpoint with the validation figures (trainer/quality.py); an empty cell
    where a figure does not apply (no landmarks.json, an unpaired model)."""

    COLUMNS = ("step", "val_L1", "val_landmark_NME", "val_landmark_NME_floor", "val_landmark_NME_ceiling",
               "val_landmark_faces", "val_landmark_detector")

    def __init__(self, run: Path, *, enabled: bool, resume_step: int = 0) -> None:
        self.path = Path(run) / "metrics.csv"
        self.enabled = enabled
        if enabled:
            keep_rows_until(self.path, self.COLUMNS, resume_step)

    def row(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        cells = [step] + [_cell(metrics.get(name)) for name in self.COLUMNS[1:]]
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            if new:
                writer.writerow(self.COLUMNS)
            writer.writerow(cells)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] → (H, W, 3) uint8; one channel is shown grey."""
    image = image.detach().float().cpu().clamp(-1, 1)
    if image.shape[0] == 1:
        image = image.repeat(3, 1, 1)
    return ((image[:3].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)


def grid(columns: list[torch.Tensor]) -> np.ndarray:
    """Columns of (N, C, H, W) batches → one image, a row per sample, 2 px gaps."""
    rows = []
    for i in range(columns[0].shape[0]):
        tiles = [to_uint8(col[i]) for col in columns]
        gap = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        row = [tiles[0]]
        for tile in tiles[1:]:
            row += [gap, tile]
        rows.append(np.hstack(row))
    spacer = np.full((2, rows[0].shape[1], 3), 255, np.uint8)
    out = [rows[0]]
    for r in rows[1:]:
        out += [spacer, r]
    return np.vstack(out)


def save_grid(path: Path, columns: list[torch.Tensor]) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(grid(columns)).save(buffer, format="PNG")
    write_bytes(path, buffer.getvalue())
    return path
