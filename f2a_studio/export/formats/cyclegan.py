"""cyclegan: unpaired domains in the reference CycleGAN layout: `{train,val,test}B/` the aligned anime
faces, `{train,val,test}A/` human faces aligned by the same transform (core.align, same size and margin):
the faces of the project's human-domain photos (imported with `--domain human`, detected, reviewed), and
the photos of a folder given with `--human-photos` (each with an iBUG .pts; those without are skipped and
listed in the manifest)."""

from __future__ import annotations

import numpy as np

from f2a_studio.export.formats.base import ExportFormat


class CycleGanFormat(ExportFormat):
    name = "cyclegan"
    summary = "trainA/testA human photos (optional) and trainB/testB anime faces, aligned alike"

    def face_path(self, split: str, stem: str) -> str:
        return f"{split}B/{stem}.png"

    def human_path(self, split: str, stem: str) -> str | None:
        return f"{split}A/{stem}.png"

    def compose(self, face: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
        return face
