"""Loss curves of a run (log.csv) as a PNG: matplotlib when installed, else drawn with OpenCV."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from trainer.atomic import write_with

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
          (227, 119, 194), (127, 127, 127)]


def read_log(run: Path) -> tuple[list[int], dict[str, list[float]]]:
    path = Path(run) / "log.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {run} a training run folder?")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no rows yet")
    losses = [k for k in rows[0] if k not in ("step", "epoch", "lr", "sec_per_step")]
    steps = [int(r["step"]) for r in rows]
    return steps, {k: [float(r[k]) for r in rows] for k in losses}


def plot_run(run: Path | str, out: Path | str | None = None) -> Path:
    run = Path(run)
    out = Path(out) if out else run / "losses.png"
    steps, curves = read_log(run)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        image = _draw(steps, curves)
        write_with(out, lambda t: _imwrite(t, image))
        return out
    fig, axes = plt.subplots(len(curves), 1, figsize=(8, 2 * len(curves)), sharex=True, squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], curves.items(), strict=True):
        ax.plot(steps, values, lw=1)
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    write_with(out, lambda t: fig.savefig(t, format="png", dpi=100))
    plt.close(fig)
    return out


def _imwrite(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.write_bytes(data.tobytes())


def _draw(steps: list[int], curves: dict[str, list[float]], width: int = 800, panel: int = 160) -> np.ndarray:
    """One panel per loss: a polyline scaled to the panel, the name and min/max written in the corner."""
    image = np.full((panel * len(curves), width, 3), 255, np.uint8)
    x = np.asarray(steps, np.float64)
    span = max(x.max() - x.min(), 1.0)
    for k, (name, values) in enumerate(curves.items()):
        y = np.asarray(values, np.float64)
        finite = np.isfinite(y)
        top = k * panel
        cv2.rectangle(image, (40, top + 10), (width - 10, top + panel - 10), (200, 200, 200), 1)
        if finite.any():
            lo, hi = float(y[finite].min()), float(y[finite].max())
            scale = (hi - lo) or 1.0
            px = 40 + (x[finite] - x.min()) / span * (width - 50)
            py = top + panel - 10 - (y[finite] - lo) / scale * (panel - 20)
            pts = np.stack([px, py], 1).round().astype(np.int32)
            color = COLORS[k % len(COLORS)][::-1]
            cv2.polylines(image, [pts], False, color, 1, cv2.LINE_AA)
            cv2.putText(image, f"{name}  [{lo:.3g}, {hi:.3g}]", (46, top + 26), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return image
