"""The face-finder protocol: one small class per finder (animeface, the learned finder, the photo finder).

A finder only *proposes* faces: boxes in the pixels it was given, with a raw score on its own scale.
Calibration (per finder, so one threshold slider serves all), NMS across finders, landmarks and colours
happen after it, in the pipeline. `available` is cheap (a file check, no imports of heavy packages);
`load` does the heavy work once per worker process; `preload_modules` names what a forkserver should
import before forking workers, so the pool can merge every finder's list instead of hard-coding one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from f2a_studio.core.models import Box, Colors, Parts

DEFAULT_DOMAINS = ("anime",)  # a finder without a `domains` attribute runs on anime images only


@dataclass(frozen=True)
class ModelFile:
    """Which file a prediction came from: its name and the sha256 of its bytes (provenance)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class FinderHit:
    """One proposal in the pixels the finder was given, before calibration and merging."""

    box: Box
    raw_score: float  # the finder's own score (animeface: likelihood 0.5..1; learned: heatmap peak 0..1)
    parts: Parts = field(default_factory=Parts)  # coarse parts when the finder knows them
    colors: Colors = field(default_factory=Colors)  # the finder's own colours when it has any


@runtime_checkable
class FaceFinder(Protocol):
    name: str  # registry key, recorded on every face it produced
    # optional `domains: tuple[str, ...]`: the image domains it runs on (core.models.Domain values);
    # without it, DEFAULT_DOMAINS. The registry filters on it (finders_for_domain).
    preload_modules: tuple[str, ...]  # imported by the forkserver before workers fork

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool: ...

    def load(self) -> None: ...

    def find(self, pixels: np.ndarray) -> list[FinderHit]: ...  # H×W×3 uint8 RGB

    def model_file(self) -> ModelFile | None: ...  # None for finders with no weights file

    def unload(self) -> None: ...
