"""Curves and the head pose projection used to turn canonical face coordinates into image pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np


@lru_cache(maxsize=32)
def _basis(samples: int) -> np.ndarray:
    """Uniform Catmull-Rom weights of the 4 control points at ``samples`` steps: ``(samples, 4)``."""
    t = np.linspace(0.0, 1.0, samples, endpoint=False)
    basis = 0.5 * np.stack(
        [-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], axis=1
    )
    basis.flags.writeable = False
    return basis


def catmull_rom(points: np.ndarray, samples: int = 8, closed: bool = False) -> np.ndarray:
    """A smooth curve through every control point (centripetal-free, uniform Catmull-Rom).

    ``samples`` points are produced per segment; the control points themselves are on the curve, so a
    shape drawn from this curve passes exactly through its landmarks.
    """
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    if n < 2:
        return p.copy()
    if closed:
        ext = np.vstack([p[-1:], p, p[:2]])
        segs = n
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
        segs = n - 1
    idx = np.arange(segs)[:, None] + np.arange(4)[None, :]  # (segs, 4)
    ctrl = ext[idx]  # (segs, 4, dims)
    curve = np.matmul(_basis(samples), ctrl).reshape(-1, p.shape[1])  # (segs, samples, dims)
    if not closed:
        curve = np.vstack([curve, p[-1:]])
    return curve


def resample(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points equally spaced by arc length along an open polyline (ends kept)."""
    p = np.asarray(points, dtype=np.float64)
    seg = np.hypot(*np.diff(p[:, :2], axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return np.repeat(p[:1], n, axis=0)
    targets = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(targets, s, p[:, k]) for k in range(p.shape[1])])


def ellipse_arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> np.ndarray:
    """Points on an ellipse from angle ``a0`` to ``a1`` (radians, y down: pi/2 is the bottom)."""
    a = np.linspace(a0, a1, n)
    return np.column_stack([cx + rx * np.cos(a), cy + ry * np.sin(a)])


@dataclass(frozen=True)
class Pose:
    """Where and how a canonical face lands in the image.

    Canonical units: 1.0 is the face width (jaw point 0 to 16), origin between the eye centres, x to the
    image right, y down, z towards the viewer. ``scale`` is pixels per unit, ``(cx, cy)`` the image
    position of the origin. Angles in degrees: ``yaw > 0`` turns the nose towards the image right,
    ``pitch > 0`` lifts the chin (nose moves up), ``roll > 0`` turns the face clockwise on screen.
    """

    cx: float
    cy: float
    scale: float
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0

    @cached_property
    def matrix(self) -> np.ndarray:
        y, p, r = (math.radians(v) for v in (self.yaw_deg, self.pitch_deg, self.roll_deg))
        ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
        rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
        return rz @ rx @ ry

    def project(self, pts3: np.ndarray) -> np.ndarray:
        """``(N, 3)`` canonical points (or ``(N, 2)``, z = 0) -> ``(N, 2)`` image pixels (orthographic)."""
        p = np.asarray(pts3, dtype=np.float64)
        if p.ndim == 1:
            p = p[None, :]
        if p.shape[1] == 2:
            p = np.column_stack([p, np.zeros(len(p))])
        q = p @ self.matrix.T
        return q[:, :2] * self.scale + [self.cx, self.cy]

    def project_length(self, length: float) -> float:
        return length * self.scale
