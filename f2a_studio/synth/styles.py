"""Drawing styles: named sets of parameters that change how a character is drawn, not what is true of it.

A style changes line weight, outline colour, eye drawing, face proportions, shading and colour (manga
pages are grey with screentone). Proportions are changed on the character's :class:`FaceParams` before
it is placed, so the 68 landmarks, and the truth box derived from them, stay exact in every style.
``anime`` is the generator's original look: with it every function draws byte for byte what it drew
before styles existed (the sample project and the tests depend on that).

The styles exist so a face finder's transfer to a style it never saw can be measured (issue 11: flat
Korean webtoon faces and very simple round cartoons get no candidate from animeface at all).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # face.py imports this module to draw
    from f2a_studio.synth.face import Character

EYES = ("anime", "flat", "dot", "slit")


@dataclass(frozen=True)
class DrawStyle:
    name: str
    line_scale: float = 1.0  # every stroke width times this
    ink_outline: bool = True  # False: outlines in a darker shade of what they surround (no black ink)
    eye: str = "anime"  # anime: big iris, highlights, thick lid; flat: small iris, thin lid; dot: a black oval
    eye_scale: float = 1.0  # eye width times this
    eye_aspect: float = 1.0  # eye height relative to the width, times this
    chin_scale: float = 1.0  # face length (chin, nose and mouth heights) times this
    round_jaw: bool = False  # jaw corners pushed out and a broad chin: a round face
    nose: bool = True
    blush: bool | None = None  # None: as the character was sampled
    lashes: bool | None = None
    hair_shine: bool = True
    cel_shadow: bool = False  # a flat shadow over one side of the face and under the bangs
    mono: bool = False  # the whole panel in grey, mid-tones as screentone dots (manga)
    dark: bool = False  # the whole panel toned down and tinted (night scenes, painted realistic styles)

    def __post_init__(self) -> None:
        if self.eye not in EYES:
            raise ValueError(f"eye must be one of {EYES}, not {self.eye!r}")

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_STYLE


DEFAULT_STYLE = DrawStyle("anime")

STYLES: dict[str, DrawStyle] = {
    s.name: s
    for s in (
        DEFAULT_STYLE,
        # Korean webtoon: thin soft lines, no black ink, small realistic eyes, longer face, cel shading
        DrawStyle(
            "webtoon_flat",
            line_scale=0.55,
            ink_outline=False,
            eye="flat",
            eye_scale=0.78,
            eye_aspect=0.7,
            chin_scale=1.1,
            blush=False,
            lashes=False,
            hair_shine=False,
            cel_shadow=True,
        ),
        # manga: heavy ink, grey page with screentone, slightly bigger eyes
        DrawStyle("manga", line_scale=1.7, eye_scale=1.08, mono=True),
        # realistic dark webtoon: long faces, narrow dark eyes without whites, soft lines, dim tinted light
        DrawStyle(
            "dark_realistic",
            line_scale=0.6,
            ink_outline=False,
            eye="slit",
            eye_scale=0.72,
            eye_aspect=0.55,
            chin_scale=1.15,
            blush=False,
            lashes=False,
            hair_shine=False,
            cel_shadow=True,
            dark=True,
        ),
        # very simple round cartoon: thick lines, dot eyes, no nose, a short round face
        DrawStyle(
            "round_simple",
            line_scale=2.0,
            eye="dot",
            eye_scale=0.85,
            chin_scale=0.84,
            round_jaw=True,
            nose=False,
            lashes=False,
            hair_shine=False,
        ),
    )
}


def get_style(style: str | DrawStyle) -> DrawStyle:
    """A style by name (loud on unknown names) or the style itself."""
    if isinstance(style, DrawStyle):
        return style
    try:
        return STYLES[style]
    except KeyError:
        raise ValueError(f"unknown drawing style {style!r}; known: {', '.join(sorted(STYLES))}") from None


def styled_character(ch: Character, style: DrawStyle) -> Character:
    """``ch`` with the proportions and traits ``style`` imposes (the same object for the default style)."""
    if style.is_default:
        return ch
    fp = ch.params
    eye_w = fp.eye_w * style.eye_scale
    eye_h = fp.eye_h * style.eye_scale * style.eye_aspect
    k = style.chin_scale
    chin = fp.chin_y * k
    jaw_corner = (fp.jaw_corner[0], fp.jaw_corner[1] * k)
    chin_w, cheek_w = fp.chin_w, fp.cheek_w
    if style.round_jaw:
        jaw_corner = (max(fp.jaw_corner[0], 0.43), chin * 0.72)
        chin_w, cheek_w = max(fp.chin_w, 0.17), 0.5
    params = replace(
        fp,
        eye_w=eye_w,
        eye_h=eye_h,
        brow_len=fp.brow_len * style.eye_scale,
        chin_y=chin,
        jaw_corner=jaw_corner,
        chin_w=chin_w,
        cheek_w=cheek_w,
        nose_y=fp.nose_y * k,
        mouth_y=fp.mouth_y * k,
    )
    return replace(
        ch,
        params=params,
        blush=ch.blush if style.blush is None else style.blush,
        lashes=ch.lashes if style.lashes is None else style.lashes,
    )


def to_manga(img: np.ndarray, rng: np.random.Generator) -> None:
    """Turn a drawn panel (in place) into a grey manga page: dark tones near black, light ones white,
    mid-tones as a dot screentone whose dot size follows the tone."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = grey.shape
    step = int(rng.integers(4, 8))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # distance to the nearest dot centre of a 45-degree staggered grid, in units of the grid step
    u = (xx + yy) / (step * 1.4142)
    v = (xx - yy) / (step * 1.4142)
    d = np.hypot(u - np.round(u), v - np.round(v))
    tone = np.clip((190.0 - grey) / 120.0, 0.0, 1.0)  # 0 white .. 1 full dots
    dots = d < 0.62 * np.sqrt(tone)
    out = np.where(grey > 190, 255.0, np.where(dots, 40.0, 250.0))  # skin and paper stay white
    out = np.where(grey < 75, grey * 0.4, out)  # ink and dark hair stay solid
    img[:] = np.clip(out, 0, 255).astype(np.uint8)[:, :, None]


def to_dark(img: np.ndarray, rng: np.random.Generator) -> None:
    """Tone a drawn panel down (in place): 45-70% of the light, a cool or warm tint, darker at one side."""
    h, w = img.shape[:2]
    level = rng.uniform(0.45, 0.7)
    tint = np.array([0.9, 0.95, 1.1]) if rng.random() < 0.5 else np.array([1.1, 0.97, 0.85])
    ramp = np.linspace(1.0, rng.uniform(0.6, 0.9), w if rng.random() < 0.5 else h, dtype=np.float32)
    ramp = ramp[None, :, None] if ramp.shape[0] == w else ramp[:, None, None]
    img[:] = np.clip(img.astype(np.float32) * (level * tint.astype(np.float32)) * ramp, 0, 255).astype(np.uint8)
