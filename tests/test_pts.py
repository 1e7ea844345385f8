"""iBUG .pts files (core/pts.py): what write_pts writes, read_pts reads back; wrong shapes are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.pts import read_pts, write_pts


def test_written_points_read_back_with_the_ibug_layout(tmp_path: Path) -> None:
    points = np.column_stack([np.arange(68) * 1.25, 300 - np.arange(68) * 0.5])
    path = tmp_path / "face.pts"
    write_pts(path, points)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["version: 1", "n_points: 68", "{"] and lines[-1] == "}" and len(lines) == 72
    back = read_pts(path)
    assert np.allclose(back[:, :2], points, atol=5e-4) and (back[:, 2] == 2).all()
    assert [p.name for p in tmp_path.iterdir()] == ["face.pts"]  # written through a temp file, nothing left beside it


@pytest.mark.parametrize("shape", [(67, 2), (68,), (68, 1)])
def test_anything_but_68_points_is_refused_with_the_shape(tmp_path: Path, shape) -> None:
    with pytest.raises(ValidationError, match=r"68 points .* shape"):
        write_pts(tmp_path / "bad.pts", np.zeros(shape))
    assert not (tmp_path / "bad.pts").exists()
