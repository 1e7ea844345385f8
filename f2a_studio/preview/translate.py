"""Translate many faces to a folder in the background: one PNG per face, the folder appears complete or not at all.

Follows the job protocol: `progress(done, total, text)` and `should_stop()`; a cancelled or failed run
removes its temp folder and leaves OUT untouched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.imageio import read_image, save_png_atomic
from f2a_studio.preview.engine import Engine, PreviewRequest
from f2a_studio.preview.errors import PreviewError


@dataclass(frozen=True)
class TranslateItem:
    name: str  # file stem, e.g. "t01_ep001_cut_003_face_17"
    landmarks: tuple
    cut_path: Path | None = None  # needed by face → anime models


@dataclass(frozen=True)
class TranslateReport:
    out: Path
    written: int
    skipped: tuple[str, ...]  # "name: why" (unlabelled eyes...)


def translate_to_folder(engine: Engine, items: Sequence[TranslateItem], out: Path,
                        progress: Callable[[int, int, str], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> TranslateReport | None:
    """Write OUT/NAME.png per item (the generator's output); None when stopped. OUT must not exist yet
    (or be an empty folder)."""
    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PreviewError(f"{out} already exists and is not empty: choose a new folder")
    temp = out.parent / f".{out.name}.f2a-partial-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    skipped: list[str] = []
    written = 0
    cut: tuple[Path | None, np.ndarray | None] = (None, None)
    try:
        for k, item in enumerate(items):
            if should_stop is not None and should_stop():
                shutil.rmtree(temp, ignore_errors=True)
                return None
            if progress is not None:
                progress(k, len(items), item.name)
            image = None
            if item.cut_path is not None and engine.spec.kind.value == "face":
                if cut[0] != item.cut_path:  # faces come grouped by cut: decode each cut once
                    cut = (item.cut_path, read_image(item.cut_path))
                image = cut[1]
            result = engine.render(PreviewRequest(landmarks=item.landmarks, image=image))
            if result.output is None:
                skipped.append(f"{item.name}: {result.error}")
                continue
            save_png_atomic(temp / f"{item.name}.png", result.output)
            written += 1
        if progress is not None:
            progress(len(items), len(items), "done")
        if out.exists():
            out.rmdir()
        os.replace(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return TranslateReport(out, written, tuple(skipped))
