"""Panels: a background, 0-4 characters that never cover each other's faces, props and speech bubbles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from f2a_studio.synth import palette
from f2a_studio.synth.background import draw_background, draw_props
from f2a_studio.synth.bubbles import narration_box, speech_bubble, tail_tip
from f2a_studio.synth.face import Character, Footprint, draw_character, footprint, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.styles import DrawStyle, get_style, styled_character, to_dark, to_manga
from f2a_studio.synth.truth import FaceTruth
from f2a_studio.synth.variation import Variation, vary_params, vary_style, vary_yaw

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1

MIN_FACE_SCALE = 22.0  # canonical face width in pixels; the truth box is about 1.1x this
MAX_FACE_SCALE = 370.0
EDGE_MARGIN = 4.0  # truth boxes stay this far inside the panel


@dataclass
class Panel:
    """One drawn panel: ``image`` is HxWx3 uint8 RGB, ``faces`` the truth of every face drawn on it."""

    image: np.ndarray
    faces: list[FaceTruth] = field(default_factory=list)
    background: str = "flat"

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def sample_pose_angles(rng: np.random.Generator) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees: mostly near frontal, roll at most 15 degrees."""
    yaw = float(np.clip(rng.normal(0.0, 8.0), -20.0, 20.0))
    pitch = float(np.clip(rng.normal(0.0, 4.0), -10.0, 10.0))
    roll = float(np.clip(rng.normal(0.0, 6.0), -15.0, 15.0))
    return yaw, pitch, roll


def _xywh_to_rect(b: Sequence[float], grow: float = 0.0) -> Rect:
    x, y, w, h = b
    return (x - grow * w, y - grow * h, x + w * (1 + grow), y + h * (1 + grow))


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def make_character_image(
    rng: np.random.Generator,
    size: int | tuple[int, int],
    sex: str | None = None,
    character: Character | None = None,
    style: str | DrawStyle = "anime",
    variation: Variation | None = None,
) -> Panel:
    """One character, head and shoulders, on a plain or gradient background (for tests and demos).

    ``size`` is the image side (or ``(width, height)``); the face box is about 40-50% of the smaller side.
    ``variation`` (synth.variation, opt-in) widens the character's face, line weight and view.
    """
    w, h = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    img = np.empty((h, w, 3), dtype=np.uint8)
    background = draw_background(rng, img, "flat" if rng.random() < 0.6 else "gradient")
    st = get_style(style)
    base = character or sample_character(rng, sex)
    var = variation if variation is not None and not variation.is_off else None
    if var is not None:  # its own generator: the draws below stay those of the unvaried character
        vrng = np.random.default_rng(int(rng.integers(2**63)))
        base = replace(base, params=vary_params(base.params, vrng, var))
        st = vary_style(st, vrng, var)
    ch = styled_character(base, st)
    yaw, pitch, roll = sample_pose_angles(rng)
    if var is not None:
        yaw = vary_yaw(yaw, vrng, var)
    scale = min(w, h) * float(rng.uniform(0.36, 0.44))
    pose = Pose(
        w / 2 + rng.uniform(-0.05, 0.05) * w, h * 0.46 + rng.uniform(-0.03, 0.03) * h, scale, yaw, pitch, roll
    )
    face = draw_character(img, ch, pose, style=st)
    if st.mono:
        to_manga(img, rng)
    if st.dark:
        to_dark(img, rng)
    return Panel(img, [face], background)


def _sample_scales(rng: np.random.Generator, n: int, w: int, h: int) -> list[float]:
    """Face scales for ``n`` characters: close-ups for one, smaller as the cast grows (log-uniform)."""
    # side by side, centres must be about 1.9 face widths apart (shoulders must not cover a neighbour)
    limit = min(w / (1.9 * (n - 1) + 1.15), h * 0.55, MAX_FACE_SCALE)
    limit = max(limit, MIN_FACE_SCALE * 1.2)
    shot = rng.random()
    if n == 1 and shot < 0.35:  # close-up
        lo, hi = limit * 0.55, limit
    elif shot < 0.7:  # medium
        lo, hi = limit * 0.25, limit * 0.7
    else:  # wide
        lo, hi = MIN_FACE_SCALE, max(MIN_FACE_SCALE * 1.5, limit * 0.35)
    lo = max(MIN_FACE_SCALE, lo)
    hi = max(lo * 1.01, hi)
    return [float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for _ in range(n)]


def _place(
    rng: np.random.Generator,
    ch: Character,
    scale: float,
    w: int,
    h: int,
    placed: list[Footprint],
    tries: int = 40,
) -> tuple[Pose, Footprint] | None:
    yaw, pitch, roll = sample_pose_angles(rng)
    base = Pose(0.0, 0.0, scale, yaw, pitch, roll)
    fp0 = footprint(ch, base)
    bx, by, bw, bh = fp0.face_box
    x_lo, x_hi = EDGE_MARGIN - bx, w - EDGE_MARGIN - (bx + bw)
    y_lo, y_hi = EDGE_MARGIN - by, h - EDGE_MARGIN - (by + bh)
    if x_hi < x_lo or y_hi < y_lo:
        return None
    for _ in range(tries):
        # prefer the upper part of the panel, like most framing does
        dx = float(rng.uniform(x_lo, x_hi))
        dy = float(y_lo + (y_hi - y_lo) * rng.beta(1.6, 2.2))
        fp = fp0.moved(dx, dy)
        mine_face = _xywh_to_rect(fp.face_box, 0.04)
        ok = True
        for other in placed:
            if _overlap(fp.full, _xywh_to_rect(other.face_box, 0.04)) or _overlap(other.full, mine_face):
                ok = False
                break
        if ok:
            return Pose(dx, dy, scale, yaw, pitch, roll), fp
    return None


def make_panel(
    rng: np.random.Generator,
    width: int,
    height: int,
    n_faces: int | None = None,
    cast: Sequence[Character] | None = None,
    border: bool | None = None,
    style: str | DrawStyle = "anime",
) -> Panel:
    """A panel with ``n_faces`` characters (random 0-4 when None: about 15% of panels have no face).

    Characters come from ``cast`` when given (a title's recurring characters), else are sampled. Faces
    never overlap and no character, bubble or prop covers another's face; faces that do not fit are
    dropped, so ``len(panel.faces)`` may be smaller than ``n_faces`` in a small panel.
    """
    w, h = int(width), int(height)
    img = np.empty((h, w, 3), dtype=np.uint8)
    if n_faces is None:
        n_faces = int(rng.choice(5, p=[0.15, 0.4, 0.25, 0.12, 0.08]))
    st = get_style(style)
    background = draw_background(rng, img)
    if n_faces == 0:
        draw_props(rng, img, int(rng.integers(1, 4)))
    elif rng.random() < 0.25:
        draw_props(rng, img, 1)  # drawn first: characters may stand in front of it

    chars = [
        cast[int(rng.integers(len(cast)))] if cast and rng.random() < 0.85 else sample_character(rng)
        for _ in range(n_faces)
    ]
    chars = [styled_character(c, st) for c in chars]  # proportions first: placement must see them
    scales = _sample_scales(rng, n_faces, w, h) if n_faces else []
    placed: list[tuple[Character, Pose, Footprint]] = []
    for ch, scale in sorted(zip(chars, scales, strict=True), key=lambda t: -t[1]):
        spot = None
        s = scale
        for _ in range(4):  # shrink until it fits
            spot = _place(rng, ch, s, w, h, [p[2] for p in placed])
            if spot is not None or s <= MIN_FACE_SCALE:
                break
            s = max(MIN_FACE_SCALE, s * 0.7)
        if spot is not None:
            placed.append((ch, spot[0], spot[1]))
    # draw far (small) characters first
    faces: list[FaceTruth] = []
    for ch, pose, _ in sorted(placed, key=lambda t: t[1].scale):
        faces.append(draw_character(img, ch, pose, style=st))

    _add_bubbles(rng, img, faces)
    if border if border is not None else rng.random() < 0.5:
        t = int(rng.integers(1, 4))
        ink = palette.pick_ink(rng)
        img[:t], img[-t:], img[:, :t], img[:, -t:] = ink, ink, ink, ink
    if st.mono:
        to_manga(img, rng)
    if st.dark:
        to_dark(img, rng)
    return Panel(img, faces, background)


def _add_bubbles(rng: np.random.Generator, img: np.ndarray, faces: list[FaceTruth]) -> None:
    h, w = img.shape[:2]
    keep_out = [_xywh_to_rect(f.box, 0.08) for f in faces]
    taken: list[Rect] = []
    for _ in range(int(rng.choice(4, p=[0.3, 0.4, 0.2, 0.1]))):
        bw = float(rng.uniform(0.2, 0.45) * w)
        bh = float(np.clip(bw * rng.uniform(0.45, 0.75), 24, h * 0.4))
        if bw >= w - 8 or bh >= h - 8:
            continue
        for _ in range(20):
            x0 = float(rng.uniform(4, w - bw - 4))
            y0 = float(rng.uniform(4, h - bh - 4))
            rect = (x0, y0, x0 + bw, y0 + bh)
            if any(_overlap(rect, k) for k in keep_out + taken):
                continue
            tip = None
            if faces and rng.random() < 0.75:
                target = faces[int(rng.integers(len(faces)))]
                mouth = np.asarray(target.landmarks[48:60]).mean(axis=0)
                tip = tail_tip(
                    rect, (float(mouth[0]), float(mouth[1])), min(bw, bh) * float(rng.uniform(0.2, 0.45))
                )
                tip_rect = (
                    min(rect[0], tip[0]),
                    min(rect[1], tip[1]),
                    max(rect[2], tip[0]),
                    max(rect[3], tip[1]),
                )
                if any(_overlap(tip_rect, k) for k in keep_out) or not (0 <= tip[0] < w and 0 <= tip[1] < h):
                    tip = None
            if rng.random() < 0.2:
                narration_box(rng, img, rect)
            else:
                speech_bubble(rng, img, rect, tip)
            taken.append(rect)
            break
