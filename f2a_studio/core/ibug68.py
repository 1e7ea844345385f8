"""The iBUG-68 landmark scheme: groups, names, drawing polylines and the left/right mirror map.

Image-left / image-right: iBUG numbers the subject's right side first, which is the image's left.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

N_POINTS = 68


@dataclass(frozen=True)
class Group:
    name: str
    indices: tuple[int, ...]
    closed: bool
    color: str  # shared by the studio overlay and the keypoint drawing


GROUPS: tuple[Group, ...] = (
    Group("jaw", tuple(range(0, 17)), False, "#f4d35e"),
    Group("left_brow", tuple(range(17, 22)), False, "#ee964b"),
    Group("right_brow", tuple(range(22, 27)), False, "#ee964b"),
    Group("nose_bridge", tuple(range(27, 31)), False, "#5fd3bc"),
    Group("nose_base", tuple(range(31, 36)), False, "#5fd3bc"),
    Group("left_eye", tuple(range(36, 42)), True, "#4fb3ff"),
    Group("right_eye", tuple(range(42, 48)), True, "#4fb3ff"),
    Group("outer_lips", tuple(range(48, 60)), True, "#ff5d8f"),
    Group("inner_lips", tuple(range(60, 68)), True, "#ff9ebb"),
)

GROUP_BY_NAME = {g.name: g for g in GROUPS}

# Coarser families used by the UI ("drag the whole eye") and by filters.
FAMILIES: dict[str, tuple[str, ...]] = {
    "jaw": ("jaw",),
    "brows": ("left_brow", "right_brow"),
    "nose": ("nose_bridge", "nose_base"),
    "eyes": ("left_eye", "right_eye"),
    "mouth": ("outer_lips", "inner_lips"),
}


def group_of(index: int) -> Group:
    for group in GROUPS:
        if index in group.indices:
            return group
    raise IndexError(f"landmark index must be 0–67, got {index}")


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for group in GROUPS:
        names.extend(f"{group.name}_{k}" for k in range(len(group.indices)))
    return tuple(names)


NAMES: tuple[str, ...] = _names()


def skeleton() -> list[tuple[int, int]]:
    """Edges between consecutive points of each group (0-based), closed groups closed."""
    edges: list[tuple[int, int]] = []
    for group in GROUPS:
        idx = group.indices
        edges.extend(itertools.pairwise(idx))
        if group.closed:
            edges.append((idx[-1], idx[0]))
    return edges


def _mirror() -> tuple[int, ...]:
    m = list(range(N_POINTS))

    def pair(a: list[int], b: list[int]) -> None:
        for i, j in zip(a, b, strict=True):
            m[i], m[j] = j, i

    pair(list(range(0, 8)), list(range(16, 8, -1)))
    pair(list(range(17, 22)), list(range(26, 21, -1)))
    pair([31, 32], [35, 34])
    pair([36, 37, 38, 39, 40, 41], [45, 44, 43, 42, 47, 46])
    pair([48, 49, 50, 59, 58], [54, 53, 52, 55, 56])
    pair([60, 61, 67], [64, 63, 65])
    return tuple(m)


MIRROR: tuple[int, ...] = _mirror()  # index map for a horizontal flip

LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
MOUTH_CORNERS = (48, 54)


def eye_centers(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-left and image-right eye centres of a (68, 2+) array."""
    pts = np.asarray(points, dtype=np.float64)[:, :2]
    return pts[LEFT_EYE].mean(axis=0), pts[RIGHT_EYE].mean(axis=0)


def interocular(points: np.ndarray) -> float:
    """Distance between outer eye corners (36, 45): the usual NME normaliser."""
    pts = np.asarray(points, dtype=np.float64)[:, :2]
    return float(np.linalg.norm(pts[36] - pts[45]))


def as_array(landmarks: tuple | list | np.ndarray) -> np.ndarray:
    """(68, 3) float64 array [x, y, v]; v defaults to 2 (visible)."""
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.shape == (N_POINTS, 2):
        arr = np.concatenate([arr, np.full((N_POINTS, 1), 2.0)], axis=1)
    if arr.shape != (N_POINTS, 3):
        raise ValueError(f"expected 68 landmarks, got array of shape {arr.shape}")
    return arr


def as_tuple(points: np.ndarray) -> tuple[tuple[float, float, int], ...]:
    arr = as_array(points)
    return tuple((float(x), float(y), int(v)) for x, y, v in arr)
