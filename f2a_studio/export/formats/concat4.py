"""concat4: one RGBA PNG per face in `{train,val,test}/`: RGB the aligned face, the 4th channel the
keypoint map (the same drawing as pix2pix's A, one channel: lines 255 on 0). The seed's "4D image data"."""

from __future__ import annotations

import numpy as np

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.keypoints import draw_keypoints
from f2a_studio.export.formats.base import ExportFormat


class Concat4Format(ExportFormat):
    name = "concat4"
    summary = "RGBA per face: RGB aligned face + keypoint map as the 4th channel"

    def check(self, options) -> None:  # type: ignore[no-untyped-def]
        if options.background == "transparent":
            raise ValidationError("concat4 uses the 4th channel for the keypoint map, so it cannot keep a "
                                  "transparent background: use background white")

    def face_path(self, split: str, stem: str) -> str:
        return f"{split}/{stem}.png"

    def compose(self, face: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
        return np.dstack([face[:, :, :3], draw_keypoints(landmarks, size, mono=True)])
