"""iBUG `.pts` landmark files (the 300-W layout: `version: 1`, `n_points: 68`, `{`, 68 lines `x y`, `}`),
as human landmark datasets ship them beside their photos. Read for the cyclegan export's photo folder and
when photos are imported as the human domain (a `.pts` beside a photo wins over detection); written by
`write_pts` in the same layout (tests and tools that make such folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from f2a_studio.core.errors import ImageError, ValidationError
from f2a_studio.core.files import open_regular, write_bytes_atomic

MAX_PTS_BYTES = 1 << 20  # 68 lines of two numbers are ~2 KB; more is not a .pts file


def read_pts(path: Path) -> np.ndarray:
    """An iBUG .pts file → (68, 3) [x, y, 2]; ValidationError naming the file otherwise."""
    try:
        with open_regular(path) as handle:  # never a FIFO; never more than a .pts file can hold
            data = handle.read(MAX_PTS_BYTES + 1)
    except ImageError as exc:
        raise ValidationError(f"{path}: {exc.reason}") from exc
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_PTS_BYTES:
        raise ValidationError(f"{path}: too large for a .pts landmark file (over {MAX_PTS_BYTES // 1024} KiB)")
    text = data.decode("utf-8", errors="replace")
    body = text.split("{", 1)[1].split("}", 1)[0] if "{" in text else text
    rows = []
    for line in body.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                rows.append((float(parts[0]), float(parts[1]), 2))
            except ValueError as exc:
                raise ValidationError(f"{path}: not a .pts landmark file ({line.strip()!r})") from exc
    if len(rows) != 68:
        raise ValidationError(f"{path}: expected 68 landmarks (iBUG-68), found {len(rows)}")
    return np.array(rows, dtype=np.float64)


def write_pts(path: Path, points) -> None:
    """68 points (x, y[, ...]) → an iBUG .pts file that `read_pts` reads back, written atomically."""
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[0] != 68 or xy.shape[1] < 2:
        raise ValidationError(f"{path}: a .pts file holds 68 points (x, y), not an array of shape {xy.shape}")
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in xy[:, :2])
    write_bytes_atomic(Path(path), f"version: 1\nn_points: 68\n{{\n{body}\n}}\n".encode())
