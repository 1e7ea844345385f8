"""pix2pix: `{train,val,test}/NAME.png`, each A|B side by side (2N×N): A the keypoint drawing, B the
aligned face. This is the layout of the reference pix2pix code's aligned dataset (it reads
`dataroot/phase/*.png`, converts to RGB and cuts each image at w/2: left A, right B), so AtoB trains
keypoints → anime."""

from __future__ import annotations

import numpy as np

from f2a_studio.core.keypoints import draw_keypoints
from f2a_studio.export.formats.base import ExportFormat


class Pix2PixFormat(ExportFormat):
    name = "pix2pix"
    summary = "A|B pairs (keypoint drawing | aligned face) in train/val/test"

    def face_path(self, split: str, stem: str) -> str:
        return f"{split}/{stem}.png"

    def compose(self, face: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
        a = draw_keypoints(landmarks, size)
        if face.shape[2] == 4:  # transparent background: A is opaque
            a = np.dstack([a, np.full((size, size), 255, np.uint8)])
        return np.hstack([a, face])
