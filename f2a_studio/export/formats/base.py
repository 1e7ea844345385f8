"""What every export format provides. Aligned formats (everything but coco) only say where a face's file
goes and how its image is put together from the aligned face and the aligned landmarks; rendering,
workers, splitting, atomic writing and the manifest are shared (export/runner.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from f2a_studio.export.atomic import AtomicExport
    from f2a_studio.export.plan import ExportOptions, ExportPlan


class ExportFormat:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    aligned: ClassVar[bool] = True  # writes one aligned crop per face (faces need usable landmarks)

    def check(self, options: ExportOptions) -> None:
        """Refuse options this format cannot honour (raise ValidationError)."""

    def face_path(self, split: str, stem: str) -> str:
        raise NotImplementedError

    def compose(self, face: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
        """The file's pixels from the aligned face (RGB, or RGBA when transparent) and its landmarks.
        Runs in worker processes: keep it a pure function of its inputs."""
        raise NotImplementedError

    def human_path(self, split: str, stem: str) -> str | None:
        """Where an aligned human photo goes (cyclegan only)."""
        return None

    def finish(self, plan: ExportPlan, sink: AtomicExport, tick: Callable[[int], None]) -> None:
        """Write whatever is not one file per face (coco's images and JSON); `tick(n)`: n more faces done."""
