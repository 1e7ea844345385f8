"""Face shape parameters and the 68 canonical landmarks they define.

Canonical frame (see :class:`~f2a_studio.synth.geometry.Pose`): face width 1.0 from jaw point 0 to 16,
origin midway between the eye centres, y down, z towards the viewer. Female and male characters differ
as drawn characters usually do: female eyes are bigger (taller especially), brows thin and higher, jaw
rounder, shorter and narrowing to a small chin; male eyes are smaller and narrower, brows thick and low,
jaw longer and more angular with a broader chin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from f2a_studio.synth.geometry import catmull_rom, resample

HEAD_DEPTH = 0.42  # how far the front of the face stands out from the jaw's side points


@dataclass(frozen=True)
class FaceParams:
    sex: str
    jaw_top_y: float  # y of jaw points 0 and 16
    chin_y: float
    cheek_w: float  # half width at cheek level (about nose height)
    jaw_corner: tuple[float, float]  # (half width, y) of the jaw angle
    chin_w: float  # half width of the chin
    eye_sep: float  # half distance between the eye centres
    eye_w: float
    eye_h: float
    eye_tilt: float  # outer corner raised by this much (canonical units)
    brow_gap: float  # from the top of the upper lid to the brow
    brow_arch: float
    brow_len: float
    brow_width: float  # stroke width of the brows
    brow_slant: float  # inner end lowered by this much (male frown)
    nose_y: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    smile: float  # > 0: mouth centre below its corners
    mouth_open: float  # lip gap (0 closed)
    head_top: float  # y of the top of the skull
    eyes_closed: bool = False  # opt-in (synth.variation): lids shut, the six eye points on the lid line

    @property
    def female(self) -> bool:
        return self.sex == "female"


def sample_params(rng: np.random.Generator, sex: str) -> FaceParams:
    u = rng.uniform
    f = sex == "female"
    chin = u(0.54, 0.62) if f else u(0.59, 0.67)
    eye_w = u(0.25, 0.30) if f else u(0.19, 0.23)
    eye_h = eye_w * (u(0.72, 0.92) if f else u(0.48, 0.62))
    nose_y = chin * u(0.40, 0.46)
    mouth_y = nose_y + (chin - nose_y) * u(0.42, 0.52)
    open_mouth = rng.random() < 0.3
    return FaceParams(
        sex=sex,
        jaw_top_y=u(-0.01, 0.05),
        chin_y=chin,
        cheek_w=u(0.47, 0.49) if f else u(0.485, 0.5),
        jaw_corner=(u(0.30, 0.36), chin * u(0.66, 0.76)) if f else (u(0.40, 0.45), chin * u(0.68, 0.8)),
        chin_w=u(0.03, 0.07) if f else u(0.08, 0.14),
        eye_sep=u(0.205, 0.235) if f else u(0.2, 0.23),
        eye_w=eye_w,
        eye_h=eye_h,
        eye_tilt=u(-0.005, 0.03) if f else u(-0.01, 0.02),
        brow_gap=u(0.06, 0.11) if f else u(0.025, 0.06),
        brow_arch=u(0.02, 0.04) if f else u(0.0, 0.02),
        brow_len=eye_w * (u(0.95, 1.15) if f else u(1.05, 1.3)),
        brow_width=u(0.012, 0.018) if f else u(0.02, 0.028),
        brow_slant=u(-0.01, 0.01) if f else u(0.0, 0.03),
        nose_y=nose_y,
        nose_w=u(0.05, 0.08) if f else u(0.07, 0.11),
        mouth_y=mouth_y,
        mouth_w=u(0.09, 0.14) if f else u(0.12, 0.18),
        smile=u(-0.005, 0.02),
        mouth_open=u(0.015, 0.05) if open_mouth else 0.0,
        head_top=u(-0.86, -0.78) if f else u(-0.9, -0.8),
    )


def surface_z(x: np.ndarray | float, front: float = HEAD_DEPTH) -> np.ndarray:
    """Depth of the face surface at canonical ``x`` (0 at the sides, ``front`` in the middle)."""
    xx = np.clip(np.abs(np.asarray(x, dtype=np.float64)) / 0.5, 0.0, 1.0)
    return front * np.sqrt(1.0 - xx**2)


def jaw_curve(fp: FaceParams, dense: int = 0) -> np.ndarray:
    """Jaw from point 0 (image left) round the chin to 16, as ``(17, 2)`` points (or a dense curve)."""
    cx, cy = fp.jaw_corner
    half = np.array(
        [
            (-0.5, fp.jaw_top_y),
            (-fp.cheek_w, fp.jaw_top_y + (fp.nose_y - fp.jaw_top_y) * 0.8),
            (-cx, cy),
            (-fp.chin_w, fp.chin_y - 0.02 * (1 if fp.female else 0.5)),
            (0.0, fp.chin_y),
        ]
    )
    full = np.vstack([half, half[-2::-1] * [-1, 1]])
    curve = catmull_rom(full, samples=24)
    if dense:
        return resample(curve, dense)
    # 9 points per side, equally spaced along the curve, chin (point 8) exactly at the bottom.
    mid = len(curve) // 2
    left = resample(curve[: mid + 1], 9)
    right = left[-2::-1] * [-1, 1]
    return np.vstack([left, right])


def eye_points(fp: FaceParams, side: int) -> np.ndarray:
    """Six eye points in iBUG order for the image-left (``side=-1``: 36-41) or right (``+1``: 42-47) eye."""
    ex = side * fp.eye_sep
    w, h, t = fp.eye_w, fp.eye_h, fp.eye_tilt
    outer = (ex + side * w / 2, h * 0.10 - t)
    inner = (ex - side * w / 2, h * 0.16)
    if fp.eyes_closed:
        return _closed_eye_points(outer, inner, side, h)
    up_out = (ex + side * w / 6, -h / 2 - t * 0.4)
    up_in = (ex - side * w / 6, -h / 2 * 0.9)
    lo_in = (ex - side * w / 6, h / 2)
    lo_out = (ex + side * w / 6, h / 2 * 0.97)
    left = [outer, up_out, up_in, inner, lo_in, lo_out]  # 36 outer, 37 38 upper, 39 inner, 40 41 lower
    right = [inner, up_in, up_out, outer, lo_out, lo_in]  # 42 inner, 43 44 upper, 45 outer, 46 47 lower
    return np.array(left if side < 0 else right, dtype=np.float64)


CLOSED_SAG = 0.22  # a shut lid sags below the line between the corners by this part of the open eye's height


def closed_lid(outer: tuple[float, float], inner: tuple[float, float], h: float, u: np.ndarray) -> np.ndarray:
    """Points of a shut lid at ``u`` in 0..1 from the outer to the inner corner: a shallow downward arc."""
    o, i = np.asarray(outer), np.asarray(inner)
    pts = o[None, :] + (i - o)[None, :] * u[:, None]
    pts[:, 1] += CLOSED_SAG * h * 4 * u * (1 - u)
    return pts


def _closed_eye_points(outer, inner, side: int, h: float) -> np.ndarray:
    """A shut eye in iBUG order: the corners as when open, the upper and the lower lid points on one lid
    line (37 = 41, 38 = 40 on the image-left eye), a third and two thirds of the way across."""
    a, b = closed_lid(outer, inner, h, np.array([1 / 3, 2 / 3]))
    o, i = np.asarray(outer, np.float64), np.asarray(inner, np.float64)
    left = [o, a, b, i, b, a]  # 36 outer, 37 38 upper, 39 inner, 40 41 lower
    right = [i, b, a, o, a, b]  # 42 inner, 43 44 upper, 45 outer, 46 47 lower
    return np.array(left if side < 0 else right, dtype=np.float64)


def brow_points(fp: FaceParams, side: int) -> np.ndarray:
    """Five brow points: 17-21 (image left, outer to inner) or 22-26 (inner to outer)."""
    ex = side * fp.eye_sep
    top = -fp.eye_h / 2 - fp.eye_tilt * 0.4 - fp.brow_gap
    xs = np.linspace(-1.0, 1.0, 5)  # outer .. inner for the left brow
    x = ex + side * (-xs) * fp.brow_len / 2 + side * fp.brow_len * 0.05
    y = top - fp.brow_arch * (1 - xs**2) + fp.brow_slant * (xs + 1) / 2 + 0.01 * (1 - xs) * 0.5
    pts = np.column_stack([x, y])
    return pts if side < 0 else pts[::-1]


def nose_points(fp: FaceParams) -> np.ndarray:
    """27-30 bridge from between the eyes to the tip, 31-35 base from image left to right."""
    top = -fp.eye_h * 0.25
    tip = fp.nose_y
    bridge = np.column_stack([np.zeros(4), np.linspace(top, tip, 4)])
    hw = fp.nose_w / 2
    xs = np.linspace(-hw, hw, 5)
    base = np.column_stack([xs, tip + 0.03 - 0.012 * np.abs(xs) / hw])
    return np.vstack([bridge, base])


def mouth_points(fp: FaceParams) -> np.ndarray:
    """48-59 outer lips clockwise from the image-left corner, 60-67 inner lips."""
    hw = fp.mouth_w / 2
    my = fp.mouth_y

    def line(x: np.ndarray) -> np.ndarray:
        return my + fp.smile * (1 - (x / hw) ** 2) - fp.smile * 0.2

    gap = fp.mouth_open
    # inner lips
    xi = np.array([-hw * 0.92, -hw * 0.5, 0.0, hw * 0.5, hw * 0.92])
    upper_in = np.column_stack([xi, line(xi) - gap * 0.25 * (1 - (xi / hw) ** 2)])
    lower_in = np.column_stack([xi, line(xi) + gap * (1 - (xi / hw) ** 2) ** 0.7])
    inner = np.vstack([upper_in, lower_in[3:0:-1]])  # 60..64 upper (left->right), 65..67 lower (right->left)
    # outer lips: thin upper lip, fuller lower lip
    xo = np.array([-hw, -hw * 0.6, -hw * 0.22, 0.0, hw * 0.22, hw * 0.6, hw])
    lip_up, lip_lo = 0.018, 0.03
    upper_out = np.column_stack(
        [xo, line(xo) - gap * 0.25 * (1 - (xo / hw) ** 2) - lip_up * (1 - (xo / hw) ** 2) ** 0.5]
    )
    upper_out[3, 1] += lip_up * 0.15  # cupid's bow
    xl = np.array([hw * 0.6, hw * 0.22, 0.0, -hw * 0.22, -hw * 0.6])
    lower_out = np.column_stack(
        [xl, line(xl) + gap * (1 - (xl / hw) ** 2) ** 0.7 + lip_lo * (1 - (xl / hw) ** 2) ** 0.5]
    )
    outer = np.vstack([upper_out, lower_out])  # 48..54 upper, 55..59 lower
    return np.vstack([outer, inner])


@lru_cache(maxsize=512)
def canonical_landmarks(fp: FaceParams) -> np.ndarray:
    """The 68 landmarks as canonical ``(68, 3)`` points with depth (cached and read-only)."""
    jaw = jaw_curve(fp)
    brows = np.vstack([brow_points(fp, -1), brow_points(fp, 1)])
    nose = nose_points(fp)
    eyes = np.vstack([eye_points(fp, -1), eye_points(fp, 1)])
    mouth = mouth_points(fp)
    pts = np.vstack([jaw, brows, nose, eyes, mouth])
    z = surface_z(pts[:, 0])
    # the jaw is the silhouette: its depth falls off towards the sides faster than the features'
    # (a parabola, not the ellipse: its gentle slope at the sides keeps the projected jaw in order up to
    # about 35 degrees of yaw)
    z[:17] = np.clip(HEAD_DEPTH * 0.85 * (1.0 - (2.0 * jaw[:, 0]) ** 2), 0.0, None)
    z[27:31] += np.linspace(0.02, 0.12, 4)  # nose bridge rising to the tip
    z[31:36] += 0.06
    out = np.column_stack([pts, z])
    out.flags.writeable = False
    return out


TURN_FROM = 20.0  # |yaw| in degrees past which the far side's outline moves onto the head's silhouette
TURN_FULL = 30.0  # ... all the way from here (a ramp: no jump in the outline as the head turns)
JAW_DEPTH = HEAD_DEPTH * 0.85  # depth of the jaw's cross-sections (the jaw's z in canonical_landmarks)


def onto_silhouette(pts3: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Outline points (jaw, skull) as seen at ``yaw_deg``: on the far side (the side the nose turns to) a
    point that the turn would carry behind the head is moved forward over the cheek to where the outline
    really is, the silhouette of the head's elliptic cross-section through it (half width |x|/cos t0,
    depth JAW_DEPTH). Frontal-ish poses (|yaw| <= TURN_FROM) are returned unchanged."""
    p = np.array(pts3, dtype=np.float64)
    if p.shape[1] == 2:
        p = np.column_stack([p, np.zeros(len(p))])
    ay = abs(float(yaw_deg))
    if ay <= TURN_FROM:
        return p
    w = min(1.0, (ay - TURN_FROM) / (TURN_FULL - TURN_FROM))
    side = 1.0 if yaw_deg > 0 else -1.0
    yr = np.radians(ay)
    for k in range(len(p)):
        x, z = p[k, 0] * side, p[k, 2]
        if x <= 1e-9 or z >= JAW_DEPTH:
            continue
        t0 = float(np.arcsin(max(z, 0.0) / JAW_DEPTH))
        a = x / np.cos(t0)
        t_sil = float(np.arctan2(JAW_DEPTH * np.sin(yr), a * np.cos(yr)))
        if t0 < t_sil:
            t = t0 + w * (t_sil - t0)
            p[k, 0], p[k, 2] = side * a * np.cos(t), JAW_DEPTH * np.sin(t)
    return p


def posed_landmarks(fp: FaceParams, yaw_deg: float = 0.0) -> np.ndarray:
    """The 68 canonical points for a head turned by ``yaw_deg``: the far half of the jaw follows the
    silhouette (:func:`onto_silhouette`); the same as :func:`canonical_landmarks` up to TURN_FROM."""
    lm = canonical_landmarks(fp)
    if abs(yaw_deg) <= TURN_FROM:
        return lm
    out = lm.copy()
    out[:17] = onto_silhouette(lm[:17], yaw_deg)
    return out
