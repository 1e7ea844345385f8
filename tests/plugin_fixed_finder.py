"""A face finder plug-in for tests: always proposes one fixed box (see test_detect_finders.py).

Imported by worker processes through $F2A_PLUGINS, so it must stay importable as a plain module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box
from f2a_studio.detect.finders import register_finder
from f2a_studio.detect.finders.base import FinderHit, ModelFile

BOX = Box(300.0, 40.0, 80.0, 80.0)  # in the white margin right of the character (see the test)
RAW_SCORE = 0.9


@register_finder
class FixedBoxFinder:
    name = "fixed-box"
    preload_modules: tuple[str, ...] = ()
    tiled = False  # it answers for the whole image, once

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.loaded = False

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return True

    def load(self) -> None:
        self.loaded = True

    def find(self, pixels: np.ndarray) -> list[FinderHit]:
        assert self.loaded, "find() before load()"
        return [FinderHit(BOX, RAW_SCORE)]

    def model_file(self) -> ModelFile | None:
        return ModelFile("fixed-box.bin", "0" * 64)

    def unload(self) -> None:
        self.loaded = False
