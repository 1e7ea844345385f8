"""Exact ground truth of one drawn face.

Box convention (measured against animeface's own boxes on these drawings): animeface reports an
axis-aligned square that spans the face side to side and runs from about the brows to a little below the
chin; it does not grow when the face is rolled. The truth box is derived from the landmarks (never from the
hair) to match it. In the face's own frame (rotated by ``roll_deg``):

* ``jaw_width`` = distance between jaw points 0 and 16 along the face's x axis,
  ``eye_chin`` = distance from the midpoint of the two eye centres down to the chin (point 8);
* side ``= BOX_JAW * jaw_width + BOX_EYE_CHIN * eye_chin``;
* centre: horizontally midway between jaw points 0 and 16, vertically ``BOX_DOWN * side`` below the eyes'
  midpoint (both along the face's axes);
* the box is the axis-aligned square of that side around that centre.

Coordinates are image pixels, ``(x, y)`` with the origin at the top-left corner of the top-left pixel
(pixel centres at ``+0.5``). Landmarks follow iBUG-68 with "left" meaning image-left. Visibility uses the
COCO convention: 2 visible, 1 drawn-over (e.g. brows under bangs), 0 outside the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

N_LANDMARKS = 68

# Fitted to maximise the mean IoU with animeface's boxes (see the module docstring).
BOX_JAW = 0.5
BOX_EYE_CHIN = 0.95
BOX_DOWN = 0.15

COLOR_KEYS = ("skin", "hair", "left_eye", "right_eye")


def truth_box(landmarks: np.ndarray, roll_deg: float = 0.0) -> tuple[float, float, float, float]:
    """The face box ``(x, y, w, h)`` from 68 landmarks (see the module docstring for the convention)."""
    p = np.asarray(landmarks, dtype=np.float64).reshape(N_LANDMARKS, 2)
    left_eye = p[36:42].mean(axis=0)
    right_eye = p[42:48].mean(axis=0)
    eyes = (left_eye + right_eye) / 2
    a = math.radians(roll_deg)
    ux = np.array([math.cos(a), math.sin(a)])  # face's own x axis in the image
    uy = np.array([-math.sin(a), math.cos(a)])  # face's own y axis (down)
    jaw_w = abs(float(np.dot(p[16] - p[0], ux)))
    eye_chin = float(np.dot(p[8] - eyes, uy))
    side = BOX_JAW * jaw_w + BOX_EYE_CHIN * eye_chin
    mid_x = float(np.dot((p[0] + p[16]) / 2 - eyes, ux))
    center = eyes + ux * mid_x + uy * (BOX_DOWN * side)
    return (float(center[0] - side / 2), float(center[1] - side / 2), float(side), float(side))


@dataclass(frozen=True)
class FaceTruth:
    """What was drawn for one face, in image pixels."""

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    visibility: tuple[int, ...]
    colors: dict[str, str]
    sex: str
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.landmarks) != N_LANDMARKS or len(self.visibility) != N_LANDMARKS:
            raise ValueError(f"expected {N_LANDMARKS} landmarks and visibilities")
        if self.sex not in ("female", "male"):
            raise ValueError(f"sex must be 'female' or 'male', not {self.sex!r}")
        missing = [k for k in COLOR_KEYS if k not in self.colors]
        if missing:
            raise ValueError(f"missing colours: {missing}")

    # -- views -----------------------------------------------------------------------------------
    def points(self) -> np.ndarray:
        """Landmarks as a float ``(68, 2)`` array."""
        return np.asarray(self.landmarks, dtype=np.float64)

    def keypoints(self) -> np.ndarray:
        """``(68, 3)`` array of ``x, y, v`` (COCO keypoint layout)."""
        return np.column_stack([self.points(), np.asarray(self.visibility, dtype=np.float64)])

    def parts(self) -> dict[str, tuple[float, ...]]:
        """Part boxes/points like animeface reports them: eye and mouth boxes ``(x, y, w, h)``, nose and
        chin points ``(x, y)``."""
        p = self.points()

        def box(idx: slice) -> tuple[float, float, float, float]:
            lo, hi = p[idx].min(axis=0), p[idx].max(axis=0)
            return (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))

        return {
            "left_eye": box(slice(36, 42)),
            "right_eye": box(slice(42, 48)),
            "mouth": box(slice(48, 60)),
            "nose": (float(p[30, 0]), float(p[30, 1])),
            "chin": (float(p[8, 0]), float(p[8, 1])),
        }

    def translated(self, dx: float, dy: float) -> FaceTruth:
        """The same face moved by ``(dx, dy)`` pixels (e.g. panel -> strip coordinates)."""
        x, y, w, h = self.box
        pts = tuple((px + dx, py + dy) for px, py in self.landmarks)
        return replace(self, box=(x + dx, y + dy, w, h), landmarks=pts)

    # -- JSON ------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "box": [float(v) for v in self.box],
            "landmarks": [[float(x), float(y)] for x, y in self.landmarks],
            "visibility": list(self.visibility),
            "colors": dict(self.colors),
            "sex": self.sex,
            "yaw_deg": float(self.yaw_deg),
            "pitch_deg": float(self.pitch_deg),
            "roll_deg": float(self.roll_deg),
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaceTruth:
        box = tuple(float(v) for v in data["box"])
        if len(box) != 4:
            raise ValueError("box must have 4 numbers")
        return cls(
            box=(box[0], box[1], box[2], box[3]),
            landmarks=tuple((float(x), float(y)) for x, y in data["landmarks"]),
            visibility=tuple(int(v) for v in data["visibility"]),
            colors={str(k): str(v) for k, v in data["colors"].items()},
            sex=str(data["sex"]),
            yaw_deg=float(data.get("yaw_deg", 0.0)),
            pitch_deg=float(data.get("pitch_deg", 0.0)),
            roll_deg=float(data.get("roll_deg", 0.0)),
            attributes=dict(data.get("attributes", {})),
        )
