"""The animeface (nvxs animeface-2009) detector, wrapped: numpy RGB in, `RawFace`s out.

It holds the GIL for the whole call and can run for many seconds on textured images, so it must only
ever be called inside a worker process (see pool.py); nothing here starts processes.

animeface names eyes from the character's point of view: its ``left_eye`` is on the image's right. The
project's `Parts`/`Colors` name them by image side (iBUG points 36–41 are the image-left eye), so they are
swapped here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from f2a_studio.core.models import Box, Colors, Parts, Point, rgb_to_hex

PILLOW_MAX_MAJOR = 11  # with Pillow >= 12 animeface silently finds nothing


@dataclass(frozen=True)
class RawFace:
    """One detector hit in image pixels, before calibration: what animeface itself says."""

    box: Box
    likelihood: float
    parts: Parts
    colors: Colors  # the detector's own colours (skin, hair, eyes)
    scale: float = 1.0  # the scale of the pass that found it

    def mapped(self, to_image: Callable[[Box], Box]) -> RawFace:
        """Tile-scaled pixels → image pixels with `to_image(Box) -> Box` (a Tile's method)."""

        def box(b: Box | None) -> Box | None:
            return to_image(b) if b is not None else None

        def point(p: Point | None) -> Point | None:
            if p is None:
                return None
            q = to_image(Box(p[0], p[1], 0.0, 0.0))
            return (q.x, q.y)

        p = self.parts
        parts = Parts(box(p.left_eye), box(p.right_eye), box(p.mouth), point(p.nose), point(p.chin))
        return replace(self, box=to_image(self.box), parts=parts)


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


def detect_raw(pixels: np.ndarray) -> list[RawFace]:
    """Run animeface once on an RGB uint8 array; coordinates are those of `pixels`."""
    import animeface
    from PIL import Image

    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"detect_raw needs an H×W×3 uint8 RGB array, got {pixels.shape} {pixels.dtype}")
    results = animeface.detect(Image.fromarray(np.ascontiguousarray(pixels)))
    return [_from_animeface(f) for f in results]


def _box(b) -> Box:
    return Box(float(b.x), float(b.y), float(b.width), float(b.height))


def _hex(c) -> str:
    return rgb_to_hex((c.r, c.g, c.b))


def _from_animeface(f) -> RawFace:
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
    return RawFace(_box(f.face.pos), float(f.likelihood), parts, colors)
