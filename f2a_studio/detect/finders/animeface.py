"""The animeface (nvxs animeface-2009) finder: numpy RGB in, `FinderHit`s out (raw score: its likelihood).

It holds the GIL for the whole call and can run for many seconds on textured images, so it must only
ever be called inside a worker process (see pool.py); nothing here starts processes.

animeface names eyes from the character's point of view: its ``left_eye`` is on the image's right. The
project's `Parts`/`Colors` name them by image side (iBUG points 36–41 are the image-left eye), so they are
swapped here, once.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Colors, Parts, rgb_to_hex
from f2a_studio.detect.finders.base import FinderHit, ModelFile

PILLOW_MAX_MAJOR = 11  # with Pillow >= 12 animeface silently finds nothing


def backend_problem() -> str | None:
    """Why animeface cannot work in this environment, or None. Checked before a run starts."""
    try:
        import animeface  # noqa: F401
        import PIL
    except ImportError as exc:
        return f"the animeface detector is not installed ({exc}); install it with `pip install animeface`"
    major = int(PIL.__version__.split(".")[0])
    if major > PILLOW_MAX_MAJOR:
        return (
            f"Pillow {PIL.__version__} is installed, but animeface finds no faces at all with Pillow >= 12; "
            "install pillow==11.3.0"
        )
    return None


def detect_raw(pixels: np.ndarray) -> list[FinderHit]:
    """Run animeface once on an RGB uint8 array; coordinates are those of `pixels`."""
    import animeface
    from PIL import Image

    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"detect_raw needs an H×W×3 uint8 RGB array, got {pixels.shape} {pixels.dtype}")
    results = animeface.detect(Image.fromarray(np.ascontiguousarray(pixels)))
    return [_from_animeface(f) for f in results]


class AnimefaceFinder:
    """animeface as a finder. Its model is compiled into the C extension, so that file is the model file."""

    name = "animeface"
    preload_modules: tuple[str, ...] = ("animeface",)
    tiled = True  # a fixed-window detector: the pipeline runs it over tiles at three scales

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.search_path = tuple(search_path)
        self._model: ModelFile | None = None

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return importlib.util.find_spec("animeface") is not None  # no import: that loads the C extension

    @classmethod
    def problem(cls) -> str | None:
        return backend_problem()

    def load(self) -> None:
        import animeface._nvxs as nvxs  # the C extension: fail here, not on the first image

        # The detector's cascade is compiled into libnvxs (bundled beside the package by the wheel); that
        # library is the model file. A build without it bundled has only the extension to name.
        ext = Path(nvxs.__file__)
        libs = sorted((ext.parent.parent / "animeface.libs").glob("libnvxs*.so*"))
        path = libs[0] if libs else ext
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self._model = ModelFile(f"{path.parent.name}/{path.name}", digest)

    def find(self, pixels: np.ndarray) -> list[FinderHit]:
        return detect_raw(pixels)

    def model_file(self) -> ModelFile | None:
        return self._model

    def calibration(self):  # -> HitCalibration; today's parts-and-colour checks (detect/calibrate.py)
        from f2a_studio.detect.calibrate import PartsColourCalibration, load_calibrator

        return PartsColourCalibration(load_calibrator())

    def unload(self) -> None:
        self._model = None


def _box(b) -> Box:
    return Box(float(b.x), float(b.y), float(b.width), float(b.height))


def _hex(c) -> str:
    return rgb_to_hex((c.r, c.g, c.b))


def _from_animeface(f) -> FinderHit:
    parts = Parts(
        left_eye=_box(f.right_eye.pos),  # image-left eye = the character's right eye
        right_eye=_box(f.left_eye.pos),
        mouth=_box(f.mouth.pos),
        nose=(float(f.nose.pos.x), float(f.nose.pos.y)),
        chin=(float(f.chin.pos.x), float(f.chin.pos.y)),
    )
    colors = Colors(
        skin=_hex(f.skin.color),
        hair=_hex(f.hair.color),
        left_eye=_hex(f.right_eye.color),
        right_eye=_hex(f.left_eye.color),
    )
    return FinderHit(_box(f.face.pos), float(f.likelihood), parts, colors)
