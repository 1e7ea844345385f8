"""Colours: anime-range skin tones, hair and iris colours, clothes and backgrounds, hex helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Color = tuple[int, int, int]

# Anime skin is light and warm; a few tanned and darker tones, still drawn as flat cel colours.
SKIN_TONES: tuple[Color, ...] = (
    (255, 236, 224),
    (253, 228, 210),
    (250, 221, 200),
    (247, 214, 190),
    (242, 205, 178),
    (236, 196, 166),
    (226, 180, 148),
    (210, 160, 124),
    (188, 136, 102),
)
# Relative weights: most characters get the light tones.
SKIN_WEIGHTS: tuple[float, ...] = (3, 4, 4, 3, 2, 1.5, 1, 0.7, 0.5)

HAIR_COLORS: dict[str, Color] = {
    "black": (38, 34, 44),
    "dark_brown": (70, 46, 36),
    "brown": (122, 80, 52),
    "light_brown": (170, 120, 80),
    "blonde": (242, 212, 130),
    "platinum": (246, 236, 200),
    "red": (196, 56, 48),
    "orange": (236, 130, 60),
    "pink": (244, 156, 186),
    "purple": (132, 92, 170),
    "blue": (68, 98, 196),
    "light_blue": (140, 186, 232),
    "teal": (52, 150, 150),
    "green": (88, 150, 80),
    "silver": (200, 204, 214),
    "white": (236, 236, 240),
}
HAIR_WEIGHTS: dict[str, float] = {
    "black": 4,
    "dark_brown": 3,
    "brown": 3,
    "light_brown": 2,
    "blonde": 2,
    "platinum": 0.7,
    "red": 1,
    "orange": 0.8,
    "pink": 1,
    "purple": 0.8,
    "blue": 1,
    "light_blue": 0.8,
    "teal": 0.6,
    "green": 0.5,
    "silver": 1,
    "white": 0.5,
}

IRIS_COLORS: tuple[Color, ...] = (
    (60, 90, 200),  # blue
    (40, 130, 200),  # sky
    (110, 70, 40),  # brown
    (150, 90, 40),  # amber
    (60, 140, 80),  # green
    (40, 150, 140),  # teal
    (180, 50, 60),  # red
    (140, 70, 170),  # violet
    (200, 150, 40),  # gold
    (60, 50, 60),  # near black
    (230, 110, 150),  # pink
)

CLOTHES: tuple[Color, ...] = (
    (40, 50, 80),
    (230, 230, 235),
    (180, 40, 50),
    (60, 110, 70),
    (90, 90, 100),
    (240, 200, 80),
    (120, 160, 210),
    (200, 120, 160),
    (60, 60, 62),
    (150, 110, 80),
    (250, 250, 250),
)

BACKGROUNDS: tuple[Color, ...] = (
    (255, 255, 255),
    (246, 246, 246),
    (236, 242, 250),
    (250, 244, 232),
    (226, 236, 226),
    (210, 224, 244),
    (244, 226, 232),
    (232, 232, 216),
    (196, 214, 236),
    (252, 238, 214),
    (220, 220, 228),
)

INK: tuple[Color, ...] = ((34, 24, 26), (48, 32, 30), (28, 28, 36), (60, 40, 40))


def to_hex(color: Sequence[int]) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    r, g, b = (int(np.clip(round(float(c)), 0, 255)) for c in color[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def from_hex(text: str) -> Color:
    """``"#rrggbb"`` -> ``(r, g, b)``."""
    t = text.lstrip("#")
    if len(t) != 6:
        raise ValueError(f"not a #rrggbb colour: {text!r}")
    return (int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16))


def shade(color: Sequence[int], factor: float) -> Color:
    """Darken (factor < 1) or lighten towards white (factor > 1)."""
    c = np.asarray(color[:3], dtype=np.float64)
    out = c * factor if factor <= 1.0 else c + (255.0 - c) * (factor - 1.0)
    r, g, b = (int(v) for v in np.clip(np.round(out), 0, 255))
    return (r, g, b)


def mix(a: Sequence[int], b: Sequence[int], t: float) -> Color:
    """Linear blend, ``t = 0`` gives ``a``."""
    out = np.asarray(a[:3], dtype=np.float64) * (1.0 - t) + np.asarray(b[:3], dtype=np.float64) * t
    r, g, b2 = (int(v) for v in np.clip(np.round(out), 0, 255))
    return (r, g, b2)


def jitter(rng: np.random.Generator, color: Sequence[int], amount: float) -> Color:
    """Add a small random offset per channel (``amount`` in 0..255 units)."""
    c = np.asarray(color[:3], dtype=np.float64) + rng.uniform(-amount, amount, 3)
    r, g, b = (int(v) for v in np.clip(np.round(c), 0, 255))
    return (r, g, b)


def _weighted(rng: np.random.Generator, weights: Sequence[float]) -> int:
    w = np.asarray(weights, dtype=np.float64)
    return int(rng.choice(len(w), p=w / w.sum()))


def pick_skin(rng: np.random.Generator) -> Color:
    return jitter(rng, SKIN_TONES[_weighted(rng, SKIN_WEIGHTS)], 4)


def pick_hair(rng: np.random.Generator) -> tuple[str, Color]:
    names = list(HAIR_COLORS)
    name = names[_weighted(rng, [HAIR_WEIGHTS[n] for n in names])]
    return name, jitter(rng, HAIR_COLORS[name], 10)


def pick_iris(rng: np.random.Generator) -> Color:
    return jitter(rng, IRIS_COLORS[int(rng.integers(len(IRIS_COLORS)))], 12)


def pick_clothes(rng: np.random.Generator) -> Color:
    return jitter(rng, CLOTHES[int(rng.integers(len(CLOTHES)))], 8)


def pick_background(rng: np.random.Generator) -> Color:
    return BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]


def pick_ink(rng: np.random.Generator) -> Color:
    return INK[int(rng.integers(len(INK)))]
