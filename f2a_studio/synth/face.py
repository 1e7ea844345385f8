"""Draw one cartoon character (head, hair, shoulders) from its landmarks and return the exact truth."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from f2a_studio.synth import palette
from f2a_studio.synth.canvas import Canvas
from f2a_studio.synth.geometry import Pose, catmull_rom
from f2a_studio.synth.hair import HairStyle, build_hair, sample_style, skull_outline
from f2a_studio.synth.palette import Color
from f2a_studio.synth.styles import DEFAULT_STYLE, DrawStyle
from f2a_studio.synth.template import (
    TURN_FROM,
    FaceParams,
    onto_silhouette,
    posed_landmarks,
    sample_params,
    surface_z,
)
from f2a_studio.synth.truth import FaceTruth, truth_box

SEXES = ("female", "male")
BODY_HALF_WIDTH = 1.35  # canonical half width that covers the widest shoulders


@dataclass(frozen=True)
class Character:
    """Everything about a character that does not depend on where it is drawn."""

    params: FaceParams
    hair: HairStyle
    skin: Color
    hair_color: Color
    hair_name: str
    iris: tuple[Color, Color]  # image-left eye, image-right eye (the same unless heterochromia)
    clothes: Color
    ink: Color
    blush: bool
    lashes: bool
    brows_over_hair: bool
    shadow_side: int  # -1 / +1: which side the nose shadow is on

    @property
    def sex(self) -> str:
        return self.params.sex


def sample_character(rng: np.random.Generator, sex: str | None = None) -> Character:
    if sex is None:
        sex = SEXES[int(rng.integers(2))]
    if sex not in SEXES:
        raise ValueError(f"sex must be one of {SEXES}, not {sex!r}")
    fp = sample_params(rng, sex)
    hair_name, hair_color = palette.pick_hair(rng)
    iris = palette.pick_iris(rng)
    iris2 = palette.pick_iris(rng) if rng.random() < 0.04 else iris
    return Character(
        params=fp,
        hair=sample_style(rng, fp),
        skin=palette.pick_skin(rng),
        hair_color=hair_color,
        hair_name=hair_name,
        iris=(iris, iris2),
        clothes=palette.pick_clothes(rng),
        ink=palette.pick_ink(rng),
        blush=bool(fp.female and rng.random() < 0.45),
        lashes=fp.female,
        brows_over_hair=bool(rng.random() < 0.5),
        shadow_side=1 if rng.random() < 0.5 else -1,
    )


@lru_cache(maxsize=256)
def character_extent(ch: Character, pose: Pose) -> tuple[float, float, float, float]:
    """Image box ``(x0, y0, x1, y1)`` of the head and hair (not the shoulders)."""
    shapes = build_hair(ch.params, ch.hair)
    pts = [pose.project(p) for p in shapes.back + shapes.front]
    pts.append(pose.project(posed_landmarks(ch.params, pose.yaw_deg)))
    allp = np.vstack(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


@dataclass(frozen=True)
class Footprint:
    """Where a character would land: its truth box ``(x, y, w, h)`` and the ``(x0, y0, x1, y1)`` boxes of
    its head (with hair) and of everything including the shoulders (which run down to ``y = +inf``)."""

    face_box: tuple[float, float, float, float]
    head: tuple[float, float, float, float]
    full: tuple[float, float, float, float]

    def moved(self, dx: float, dy: float) -> Footprint:
        x, y, w, h = self.face_box
        return Footprint(
            (x + dx, y + dy, w, h),
            (self.head[0] + dx, self.head[1] + dy, self.head[2] + dx, self.head[3] + dy),
            (self.full[0] + dx, self.full[1] + dy, self.full[2] + dx, self.full[3] + dy),
        )


def footprint(ch: Character, pose: Pose) -> Footprint:
    head = character_extent(ch, pose)
    lm = pose.project(posed_landmarks(ch.params, pose.yaw_deg))
    body = pose.project(
        np.array(
            [
                [-BODY_HALF_WIDTH, 1.0, 0.0],
                [BODY_HALF_WIDTH, 1.0, 0.0],
                [-BODY_HALF_WIDTH, 3.0, 0.0],
                [BODY_HALF_WIDTH, 3.0, 0.0],
            ]
        )
    )
    full = (
        min(head[0], float(body[:, 0].min())),
        head[1],
        max(head[2], float(body[:, 0].max())),
        float("inf"),
    )
    return Footprint(truth_box(lm, pose.roll_deg), head, full)


def supersampling(face_px: float) -> int:
    """Supersampling factor: fine for small faces, coarser for big ones (keeps the canvas small)."""
    if face_px < 60:
        return 4
    if face_px < 160:
        return 3
    return 2


def draw_character(
    image: np.ndarray, ch: Character, pose: Pose, ss: int | None = None, style: DrawStyle = DEFAULT_STYLE
) -> FaceTruth:
    """Draw ``ch`` into ``image`` (HxWx3 uint8 RGB, modified in place) and return its truth.

    ``style`` changes only how it is drawn; its proportions are applied beforehand
    (:func:`~f2a_studio.synth.styles.styled_character`), so the truth stays exact.

    The face is drawn from its 68 projected landmarks (the jaw line runs through points 0-16, the eye
    outlines through 36-47, and so on), so the truth is exact by construction.
    """
    fp = ch.params
    s = pose.scale
    ss = ss or supersampling(s)
    x0, y0, x1, y1 = character_extent(ch, pose)
    # the shoulders run down past the bottom of the image
    reach = max(3.0, (image.shape[0] - pose.cy) / max(s, 1e-6) * 1.3 + 1.5)
    reach = min(reach, fp.chin_y + 6.6)  # the feet
    body_bottom = min(float(pose.project([(0.0, reach, 0.0)])[0, 1]), image.shape[0] + 2.0)
    pad = 4
    cv = Canvas(
        image,
        math.floor(min(x0, pose.cx - 1.6 * s)) - pad,
        math.floor(y0) - pad,
        math.ceil(max(x1, pose.cx + 1.6 * s) - min(x0, pose.cx - 1.6 * s)) + 2 * pad,
        math.ceil(max(y1, body_bottom) - y0) + 2 * pad,
        ss,
    )
    lm3 = posed_landmarks(fp, pose.yaw_deg)
    lm = pose.project(lm3)
    # turned past TURN_FROM (only opt-in views: synth.variation), the far outline follows the silhouette
    # and the features are clipped to the face: what falls outside is occluded (visibility 1)
    turned = abs(pose.yaw_deg) > TURN_FROM
    shapes = build_hair(fp, ch.hair)
    lw = float(np.clip(s * 0.014, 0.7, 4.0))
    ink = ch.ink
    hair_ink = palette.mix(palette.shade(ch.hair_color, 0.35), ink, 0.5)
    skin_ink = palette.mix(ink, palette.shade(ch.skin, 0.55), 0.3)
    if not style.is_default:
        lw = max(0.5, lw * style.line_scale)
        if not style.ink_outline:  # soft outlines: a darker shade of the fill, no black ink
            ink = palette.shade(ch.skin, 0.62)
            hair_ink = palette.shade(ch.hair_color, 0.6)
            skin_ink = palette.shade(ch.skin, 0.7)
    skin_shadow = palette.mix(ch.skin, (200, 120, 120), 0.18)

    # 1. hair behind the head
    for poly in shapes.back:
        p = pose.project(poly)
        cv.fill(p, palette.shade(ch.hair_color, 0.85))
        cv.line(p, hair_ink, lw, closed=True)

    # 2. shoulders and neck
    _draw_body(cv, ch, pose, lw, skin_ink, reach)

    # 3. ears (mostly hidden by hair for long styles)
    for side in (-1, 1):
        ear = np.array([[0.47, -0.02], [0.56, -0.04], [0.58, 0.1], [0.52, 0.24], [0.46, 0.22]])
        ear[:, 0] *= side
        p = pose.project(np.column_stack([ear, np.full(len(ear), -0.05)]))
        cv.fill(p, ch.skin)
        cv.line(catmull_rom(p[1:4], 4), skin_ink, lw * 0.8)

    # 4. face: jaw (through landmarks 0-16) closed over the skull
    jaw_dense = catmull_rom(lm[:17], samples=8)
    skull3 = np.column_stack([skull_outline(fp), np.zeros(40)])
    skull = pose.project(onto_silhouette(skull3, pose.yaw_deg) if turned else skull3)
    face_poly = np.vstack([jaw_dense, skull[1:-1]])
    cv.fill(face_poly, ch.skin)
    cv.tapered(jaw_dense, ink, lw * 1.3, taper=0.5)

    # 5. shadow of the bangs on the forehead, blush
    clip = cv.clip_begin(face_poly, grow=0.05)
    if style.cel_shadow:
        _draw_cel_shadow(cv, ch, pose, skin_shadow)
    for poly in shapes.front[:1]:
        sh = poly.copy()
        sh[:, 1] += 0.045
        cv.fill(pose.project(sh), skin_shadow)
    cv.clip_end(clip)
    if ch.blush:
        for side in (-1, 1):
            c = np.array([[side * fp.eye_sep * 1.15, fp.eye_h * 0.5 + 0.09, 0.3]])
            ctr = pose.project(c)[0]
            cv.ellipse(
                ctr,
                (fp.eye_w * 0.42 * s, fp.eye_w * 0.16 * s),
                pose.roll_deg,
                palette.mix(ch.skin, (255, 120, 140), 0.3),
            )

    # 6. eyes
    draw_eye = {"anime": _draw_eye, "flat": _draw_eye_flat, "dot": _draw_eye_dot, "slit": _draw_eye_slit}[style.eye]
    if fp.eyes_closed:
        lid_color = ch.ink if style.ink_outline else palette.shade(ch.skin, 0.45)
        draw_eye = functools.partial(_draw_eye_closed, color=lid_color)
    features = cv.clip_begin(face_poly, grow=0.3) if turned else None
    for side, idx, iris in ((-1, slice(36, 42), ch.iris[0]), (1, slice(42, 48), ch.iris[1])):
        draw_eye(cv, ch, pose, lm[idx], lm3[idx], side, iris, lw)

    # 7. nose and mouth
    _draw_mouth(cv, ch, lm, lw, skin_ink)
    if features is not None:  # a turned nose stands out past the cheek's outline: skin under it, unclipped
        cv.clip_end(features)
        cv.fill(lm[[27, 29, 30, 33, 31 if pose.yaw_deg > 0 else 35]], ch.skin)
    tip = lm[30]
    start = lm[29] + (lm[30] - lm[29]) * 0.35
    hook = lm[33 + ch.shadow_side] * 0.6 + lm[30] * 0.4
    if style.nose:
        cv.tapered(np.vstack([start, tip, hook]), skin_ink, lw * 0.9, taper=0.3)
    if features is not None:
        features = cv.clip_begin(face_poly, grow=0.3)

    # 8. brows and the hair in front
    brows = [lm[17:22], lm[22:27]]
    if not ch.brows_over_hair:
        _draw_brows(cv, ch, brows, s)
    if features is not None:
        cv.clip_end(features)
    front_mask = cv.mask()
    for poly in shapes.front:
        p = pose.project(poly)
        cv.fill(p, ch.hair_color)
        cv.fill_mask(front_mask, p)
        cv.line(p, hair_ink, lw, closed=True)
    for line in shapes.strand_lines:
        cv.line(pose.project(line), hair_ink, lw * 0.8)
    if style.hair_shine:
        _draw_shine(cv, ch, pose, shapes.front[0], shapes.shine)
    if ch.brows_over_hair:
        clip = cv.clip_begin(face_poly, grow=0.3) if turned else None
        _draw_brows(cv, ch, brows, s)
        if clip is not None:
            cv.clip_end(clip)

    vis = np.full(68, 2, dtype=np.int64)
    hidden = cv.covered(front_mask, lm)
    if ch.brows_over_hair:
        hidden[17:27] = False
    if turned:  # brows, eyes and mouth beyond the outline (the nose stands out of it, drawn)
        hidden[17:27] |= ~_inside(face_poly, lm[17:27])
        hidden[36:] |= ~_inside(face_poly, lm[36:])
    vis[hidden] = 1
    h, w = image.shape[:2]
    outside = (lm[:, 0] < 0) | (lm[:, 1] < 0) | (lm[:, 0] >= w) | (lm[:, 1] >= h)
    vis[outside] = 0
    cv.paste_into(image)
    extra = {"eyes_closed": True} if fp.eyes_closed else {}  # only when set: default truth files unchanged

    return FaceTruth(
        box=truth_box(lm, pose.roll_deg),
        landmarks=tuple((float(x), float(y)) for x, y in lm),
        visibility=tuple(int(v) for v in vis),
        colors={
            "skin": palette.to_hex(ch.skin),
            "hair": palette.to_hex(ch.hair_color),
            "left_eye": palette.to_hex(ch.iris[0]),
            "right_eye": palette.to_hex(ch.iris[1]),
        },
        sex=ch.sex,
        yaw_deg=pose.yaw_deg,
        pitch_deg=pose.pitch_deg,
        roll_deg=pose.roll_deg,
        attributes={
            "hair_style": ch.hair.back,
            "bangs": ch.hair.bangs,
            "hair_color_name": ch.hair_name,
            "mouth_open": bool(fp.mouth_open > 0),
            **extra,
        },
    )


def _draw_body(cv: Canvas, ch: Character, pose: Pose, lw: float, skin_ink: Color, reach: float) -> None:
    fp = ch.params
    nw = 0.15 if fp.female else 0.2
    sw = 1.0 if fp.female else 1.25
    neck = np.array(
        [
            [-nw, fp.chin_y - 0.25],
            [nw, fp.chin_y - 0.25],
            [nw * 1.05, fp.chin_y + 0.45],
            [-nw * 1.05, fp.chin_y + 0.45],
        ]
    )
    p = pose.project(np.column_stack([neck, np.full(4, -0.1)]))
    cv.fill(p, palette.shade(ch.skin, 0.97))
    cv.line(p[1:3], skin_ink, lw)
    cv.line(p[[0, 3]], skin_ink, lw)
    shadow = np.array(
        [
            [-nw, fp.chin_y - 0.1],
            [nw, fp.chin_y - 0.1],
            [nw, fp.chin_y + 0.12],
            [0, fp.chin_y + 0.16],
            [-nw, fp.chin_y + 0.12],
        ]
    )
    cv.fill(
        pose.project(np.column_stack([shadow, np.full(5, -0.1)])), palette.mix(ch.skin, (170, 110, 110), 0.2)
    )
    top = fp.chin_y + 0.32
    waist = top + 2.1
    hips = waist + 0.35
    body = np.array(
        [
            [-nw * 1.1, top],
            [-nw * 0.2, top + 0.22],
            [nw * 0.2, top + 0.22],
            [nw * 1.1, top],
            [sw * 0.8, top + 0.12],
            [sw, top + 0.35],
            [sw * 0.95, top + 1.2],
            [sw * 0.72, waist],
            [sw * 0.74, hips],
            [-sw * 0.74, hips],
            [-sw * 0.72, waist],
            [-sw * 0.95, top + 1.2],
            [-sw, top + 0.35],
            [-sw * 0.8, top + 0.12],
        ]
    )
    if reach > hips:  # legs, for characters seen whole
        feet = hips + 3.2
        leg_color = palette.shade(ch.clothes, 0.55) if not fp.female else ch.skin
        for side in (-1, 1):
            leg = np.array(
                [
                    [side * 0.04, hips - 0.1],
                    [side * sw * 0.7, hips - 0.1],
                    [side * sw * 0.5, feet],
                    [side * 0.12, feet],
                ]
            )
            p = pose.project(np.column_stack([leg, np.full(4, -0.15)]))
            cv.fill(p, leg_color)
            cv.line(np.vstack([p, p[:1]]), skin_ink, lw)
            shoe = np.array(
                [
                    [side * 0.08, feet - 0.05],
                    [side * sw * 0.58, feet - 0.05],
                    [side * sw * 0.62, feet + 0.2],
                    [side * 0.05, feet + 0.2],
                ]
            )
            cv.fill(pose.project(np.column_stack([shoe, np.full(4, -0.15)])), (50, 42, 40))
        if fp.female:  # a skirt over the hips
            skirt = np.array(
                [[-sw * 0.72, waist], [sw * 0.72, waist], [sw * 0.98, hips + 0.9], [-sw * 0.98, hips + 0.9]]
            )
            body = np.vstack([body[:7], skirt[[1, 2, 3, 0]], body[-4:]])
    p = pose.project(np.column_stack([body, np.full(len(body), -0.15)]))
    cv.fill(p, ch.clothes)
    cv.line(np.vstack([p, p[:1]]), palette.shade(ch.clothes, 0.35), lw)


def _draw_eye(
    cv: Canvas,
    ch: Character,
    pose: Pose,
    pts: np.ndarray,
    pts3: np.ndarray,
    side: int,
    iris: Color,
    lw: float,
) -> None:
    fp = ch.params
    s = pose.scale
    outline = catmull_rom(pts, samples=10, closed=True)
    cv.fill(outline, (255, 255, 255))
    # iris, pupil and highlights: ellipses in the canonical frame, projected, clipped to the eye
    ex, ey = pts3[:, 0].mean(), pts3[:, 1].mean()
    z = float(surface_z(ex)) + 0.02
    rw = fp.eye_w * (0.33 if fp.female else 0.3)
    rh = fp.eye_h * 0.58

    def ell(cx: float, cy: float, ax: float, ay: float, n: int = 36) -> np.ndarray:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return pose.project(np.column_stack([cx + ax * np.cos(a), cy + ay * np.sin(a), np.full(n, z)]))

    icx, icy = ex + side * fp.eye_w * 0.02, ey + fp.eye_h * 0.06
    state = cv.clip_begin(outline, grow=0.6)
    cv.fill(ell(icx, icy, rw, rh), palette.shade(iris, 0.45))
    cv.fill(ell(icx, icy, rw * 0.86, rh * 0.88), iris)
    cv.fill(ell(icx, icy + rh * 0.3, rw * 0.62, rh * 0.5), palette.shade(iris, 1.35))
    cv.fill(ell(icx, icy - rh * 0.05, rw * 0.45, rh * 0.52), palette.shade(iris, 0.15))
    cv.fill(ell(icx - rw * 0.38, icy - rh * 0.32, rw * 0.3, rh * 0.22), (255, 255, 255))
    cv.fill(ell(icx + rw * 0.35, icy + rh * 0.38, rw * 0.14, rh * 0.1), (255, 255, 255))
    # shadow of the upper lid on the eye white
    top = pts[[0, 1, 2, 3]] if side < 0 else pts[[3, 2, 1, 0]]  # outer -> inner
    cv.line(catmull_rom(top, 8), palette.mix(iris, (120, 120, 140), 0.5), lw * 1.6)
    cv.clip_end(state)
    # upper lid: a thick brush stroke from the outer corner to the inner one, flicked out at the end
    lid = catmull_rom(top, 8)
    flick = lid[0] + (lid[0] - lid[3]) * (0.6 if ch.lashes else 0.25)
    lid = np.vstack([flick, lid])
    thick = fp.eye_h * s * (0.16 if fp.female else 0.2)
    cv.tapered(lid, ch.ink, max(lw * 1.5, thick), taper=0.35)
    if ch.lashes:
        for k, (t, ln) in enumerate(((0.0, 0.55), (0.12, 0.45), (0.26, 0.35))):
            i = min(int(t * (len(lid) - 1)), len(lid) - 2)
            base = lid[i + 1]
            d = lid[i] - lid[i + 2]
            d /= max(np.hypot(*d), 1e-9)
            up = np.array([d[1], -d[0]]) if side > 0 else np.array([-d[1], d[0]])
            if up[1] > 0:
                up = -up
            tip = base + (d * 0.8 + up * (0.5 + 0.25 * k)) * fp.eye_h * s * ln * 0.6
            cv.tapered(np.vstack([base, (base + tip) / 2, tip]), ch.ink, thick * 0.5, taper=0.1)
    # lower lid: a short thin line under the outer half
    low = pts[[0, 5, 4]] if side < 0 else pts[[3, 4, 5]]  # outer corner -> lower lid
    cv.tapered(catmull_rom(low, 6)[3:], palette.mix(ch.ink, ch.skin, 0.25), lw * 0.9, taper=0.2)


def _draw_eye_closed(
    cv: Canvas,
    ch: Character,
    pose: Pose,
    pts: np.ndarray,
    pts3: np.ndarray,
    side: int,
    iris: Color,
    lw: float,
    color: Color = (0, 0, 0),
) -> None:
    """A shut eye in any style: one lid stroke from the outer corner through the lid points to the inner
    corner (the truth points lie on its centre line), a few lashes hanging from the outer half."""
    fp = ch.params
    lid = catmull_rom(pts[[0, 1, 2, 3]] if side < 0 else pts[[3, 2, 1, 0]], 8)  # outer -> inner
    thick = max(lw * 1.5, fp.eye_h * pose.scale * 0.1)
    cv.tapered(lid, color, thick, taper=0.25)
    if ch.lashes:
        for t in (0.12, 0.3):
            i = int(t * (len(lid) - 1))
            d = lid[i + 1] - lid[i]
            d /= max(float(np.hypot(*d)), 1e-9)
            down = np.array([-d[1], d[0]]) if side < 0 else np.array([d[1], -d[0]])
            if down[1] < 0:
                down = -down
            tip = lid[i] + (down * 0.8 - d * 0.5) * fp.eye_h * pose.scale * 0.25
            cv.tapered(np.vstack([lid[i], tip]), color, thick * 0.45, taper=0.1)


def _inside(poly: np.ndarray, pts: np.ndarray, tolerance: float = 0.75) -> np.ndarray:
    """For each point, whether it lies in polygon ``poly`` (or within ``tolerance`` pixels of its edge)."""
    contour = np.asarray(poly, np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -tolerance for x, y in pts])


def _eye_ellipse(
    pose: Pose, pts3: np.ndarray, fp_eye: tuple[float, float, float, float], n: int = 36
) -> np.ndarray:
    """An ellipse ``(dx, dy, ax, ay)`` around the eye centre in the canonical frame, projected."""
    dx, dy, ax, ay = fp_eye
    ex, ey = pts3[:, 0].mean() + dx, pts3[:, 1].mean() + dy
    z = float(surface_z(ex)) + 0.02
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return pose.project(np.column_stack([ex + ax * np.cos(a), ey + ay * np.sin(a), np.full(n, z)]))


def _draw_eye_flat(
    cv: Canvas, ch: Character, pose: Pose, pts: np.ndarray, pts3: np.ndarray, side: int, iris: Color, lw: float
) -> None:
    """Korean-webtoon eye: a small dark iris with one highlight and a thin upper lid."""
    fp = ch.params
    outline = catmull_rom(pts, samples=10, closed=True)
    cv.fill(outline, (250, 248, 246))
    rw, rh = fp.eye_w * 0.26, fp.eye_h * 0.62
    state = cv.clip_begin(outline, grow=0.3)
    cv.fill(_eye_ellipse(pose, pts3, (0.0, fp.eye_h * 0.05, rw, rh)), palette.shade(iris, 0.4))
    cv.fill(_eye_ellipse(pose, pts3, (-rw * 0.35, -rh * 0.3, rw * 0.28, rh * 0.25)), (255, 255, 255))
    cv.clip_end(state)
    top = pts[[0, 1, 2, 3]] if side < 0 else pts[[3, 2, 1, 0]]
    cv.tapered(catmull_rom(top, 8), palette.shade(ch.hair_color, 0.35), lw * 1.8, taper=0.3)


def _draw_eye_dot(
    cv: Canvas, ch: Character, pose: Pose, pts: np.ndarray, pts3: np.ndarray, side: int, iris: Color, lw: float
) -> None:
    """Simple cartoon eye: a black oval with a white glint, no eye white or lids."""
    fp = ch.params
    ax, ay = fp.eye_w * 0.2, fp.eye_h * 0.55
    cv.fill(_eye_ellipse(pose, pts3, (0.0, 0.0, ax, ay)), (25, 22, 28))
    cv.fill(_eye_ellipse(pose, pts3, (-ax * 0.3, -ay * 0.35, ax * 0.3, ay * 0.22)), (255, 255, 255))


def _draw_eye_slit(
    cv: Canvas, ch: Character, pose: Pose, pts: np.ndarray, pts3: np.ndarray, side: int, iris: Color, lw: float
) -> None:
    """Realistic narrow eye: the almond filled dark, a small glint, a soft lid line; no eye white."""
    outline = catmull_rom(pts, samples=10, closed=True)
    cv.fill(outline, palette.mix(palette.shade(iris, 0.35), ch.skin, 0.25))
    fp = ch.params
    glint = (-fp.eye_w * 0.08, -fp.eye_h * 0.1, fp.eye_w * 0.06, fp.eye_h * 0.12)
    cv.fill(_eye_ellipse(pose, pts3, glint), (235, 235, 235))
    top = pts[[0, 1, 2, 3]] if side < 0 else pts[[3, 2, 1, 0]]
    cv.tapered(catmull_rom(top, 8), palette.shade(ch.skin, 0.45), lw * 1.4, taper=0.3)


def _draw_cel_shadow(cv: Canvas, ch: Character, pose: Pose, color: Color) -> None:
    """A flat shadow over the side of the face away from the light (cel shading, drawn under the parts)."""
    fp = ch.params
    k = ch.shadow_side
    poly = np.array(
        [
            [k * 0.28, -0.6],
            [k * 0.52, -0.6],  # inside the clip region of the face (its box grown by 5%)
            [k * 0.52, fp.chin_y + 0.02],
            [k * 0.05, fp.chin_y + 0.02],
            [k * 0.22, fp.chin_y * 0.7],
            [k * 0.36, fp.nose_y],
            [k * 0.4, 0.0],
        ]
    )
    cv.fill(pose.project(np.column_stack([poly, surface_z(poly[:, 0]) * 0.9])), palette.shade(color, 0.96))


def _draw_brows(cv: Canvas, ch: Character, brows: list[np.ndarray], scale: float) -> None:
    color = palette.mix(palette.shade(ch.hair_color, 0.45), ch.ink, 0.5)
    width = max(1.0, ch.params.brow_width * scale)
    for b in brows:
        cv.tapered(catmull_rom(b, 6), color, width, taper=0.35)


def _draw_mouth(cv: Canvas, ch: Character, lm: np.ndarray, lw: float, skin_ink: Color) -> None:
    if ch.params.mouth_open > 0:
        inner = catmull_rom(lm[60:68], samples=6, closed=True)
        cv.fill(inner, (150, 50, 60))
        tongue_c = lm[66] * 0.7 + lm[62] * 0.3
        width = np.hypot(*(lm[64] - lm[60])) * 0.28
        state = cv.clip_begin(inner, grow=0.3)
        cv.ellipse(tongue_c, (width, width * 0.6), 0.0, (230, 120, 130))
        cv.clip_end(state)
        cv.line(np.vstack([inner, inner[:1]]), skin_ink, lw * 0.9)
    else:
        line = np.vstack([lm[48], lm[61], lm[62], lm[63], lm[54]])
        cv.tapered(catmull_rom(line, 6), skin_ink, lw * 1.1, taper=0.3)


def _draw_shine(cv: Canvas, ch: Character, pose: Pose, front: np.ndarray, shine: np.ndarray | None) -> None:
    """A light band across the bangs (the anime 'angel ring'), clipped to the front hair."""
    if shine is None:
        return
    state = cv.clip_begin(pose.project(front), grow=0.0)
    cv.fill(pose.project(shine), palette.mix(ch.hair_color, (255, 255, 255), 0.3))
    cv.clip_end(state)
