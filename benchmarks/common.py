"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np


def percentiles(samples_s: list[float], points: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """Percentiles of durations in seconds, reported in milliseconds."""
    arr = np.asarray(samples_s) * 1000.0
    return {f"p{p}_ms": round(float(np.percentile(arr, p)), 3) for p in points}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}


def corrections_needed(right, order, goal: float = 0.95) -> int:
    """Review queue measures: corrections, taken in ``order`` (face indices), until a ``goal`` share of the
    faces is right; ``right`` a bool array (a reviewed face becomes right)."""
    ok = np.array(right, bool)
    want = int(np.ceil(goal * len(ok)))
    for n, idx in enumerate(order):
        if ok.sum() >= want:
            return n
        ok[idx] = True
    return len(order)
