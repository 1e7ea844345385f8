"""Augmentation for pretraining the landmark model on synthetic faces so that it sees the face, not the box
(issue 12): on real pages a hand or detector box is loose, tight or off-centre, heads tilt, manga is black and
white with screentone, scans are blurred and JPEG-compressed, and chibi faces have their mouth and chin much
closer to the eyes than any synth style draws them.

Every geometric change is one exact mapping applied to the pixels and to the 68 points alike, so the truth
stays on the drawn features (tests/test_landmark_augment.py checks that on drawn eyes). Pure numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from f2a_studio.core.ibug68 import MIRROR
from f2a_studio.detect.cropnet import box_crop, box_matrix

EYES = slice(36, 48)


@dataclass(frozen=True)
class AugmentConfig:
    shift: float = 0.2  # box centre moved by up to this many box sides (uniform ±), per axis
    zoom: tuple[float, float] = (0.75, 1.3)  # crop side / zoom, log-uniform: < 1 a loose box, > 1 a tight one
    stretch: float = 0.12  # box aspect (x vs y scale) log-uniform ±: detectors' boxes are not square to the face
    rotate: float = 30.0  # in-plane rotation, degrees uniform ±, about the crop centre
    rotate_prob: float = 0.7
    flip_prob: float = 0.5  # horizontal mirror (points re-indexed by core.ibug68.MIRROR)
    chibi_prob: float = 0.25  # the face below the eyes squashed towards them (chibi / super-deformed)
    chibi: tuple[float, float] = (0.55, 0.9)  # the lower face's height times this
    long_prob: float = 0.0  # of the faces not squashed: the face below the eyes stretched (realistic styles)
    long: tuple[float, float] = (1.1, 1.4)  # the lower face's height times this
    hue_prob: float = 0.0  # hue turned by a random angle: hair, eyes and skin of any colour
    grey_prob: float = 0.45  # manga pages are black and white
    tone_prob: float = 0.3  # of the grey crops: mid-tones turned into a halftone dot screen
    gamma: tuple[float, float] = (0.6, 1.7)  # log-uniform
    gain: tuple[float, float] = (0.6, 1.3)
    bias: float = 30.0
    blur_prob: float = 0.3
    blur_sigma: tuple[float, float] = (0.4, 1.3)  # crop pixels
    lowres_prob: float = 0.2  # down- and up-sampled: a small face on a page
    jpeg_prob: float = 0.3
    jpeg_quality: tuple[int, int] = (15, 70)
    noise_prob: float = 0.2
    noise_sigma: tuple[float, float] = (2.0, 9.0)

    def __post_init__(self) -> None:
        for name in ("zoom", "gamma", "gain", "chibi", "long", "blur_sigma", "noise_sigma"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"AugmentConfig.{name} must be a range 0 < low <= high, not {(lo, hi)}")
        probs = {k: v for k, v in asdict(self).items() if k.endswith("_prob")}
        bad = [k for k, v in probs.items() if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"AugmentConfig: {', '.join(bad)} must be probabilities in 0..1")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"AugmentConfig.jpeg_quality must be 1 <= low <= high <= 100, not {self.jpeg_quality}")

    def to_json(self) -> dict:
        return asdict(self)


# -- geometry ---------------------------------------------------------------------------------------------


def chibi_squash(image: np.ndarray, points: np.ndarray, box, k: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The picture below the eyes' lowest point squashed vertically by about ``k`` (0 < k <= 1) towards it;
    points and box mapped the same way. Above that row nothing moves, so eyes and brows stay as drawn. The
    lower part is resized with area averaging, so 1-pixel mouth lines are thinned, not dropped."""
    if not 0 < k <= 1:
        raise ValueError(f"chibi squash factor must be in (0, 1], not {k}")
    return scale_below_eyes(image, points, box, k)


def long_face(image: np.ndarray, points: np.ndarray, box, k: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """chibi_squash's opposite: the picture below the eyes stretched by ``k`` (1 <= k <= 2), as realistic
    faces have the nose, mouth and chin much further below the eyes than anime faces (the real devset's boxes
    span 1.6-4.6 eye distances against the synthetic faces' 2.2-2.7); what leaves the picture is cut."""
    if not 1 <= k <= 2:
        raise ValueError(f"long face factor must be in [1, 2], not {k}")
    return scale_below_eyes(image, points, box, k)


def scale_below_eyes(image: np.ndarray, points: np.ndarray, box, k: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The rows below the eyes' lowest point resized vertically by about ``k``, the picture kept its size
    (reflected at the bottom when shorter, cut when longer); points and box mapped the same way."""
    pts = np.asarray(points, np.float64)
    h = image.shape[0]
    pivot = int(np.clip(np.ceil(pts[EYES, 1].max()), 1, h - 1))  # a row edge: the top part is copied as is
    new_h = max(1, round((h - pivot) * k))
    kk = new_h / (h - pivot)  # the exact factor after rounding to whole rows
    shrink = cv2.INTER_AREA if kk <= 1 else cv2.INTER_LINEAR
    lower = cv2.resize(np.ascontiguousarray(image[pivot:]), (image.shape[1], new_h), interpolation=shrink)
    out = np.concatenate([image[:pivot], lower.reshape(new_h, *image.shape[1:])], axis=0)[:h]
    out = cv2.copyMakeBorder(out, 0, h - out.shape[0], 0, 0, cv2.BORDER_REFLECT).reshape(image.shape)

    def f(y):
        return np.where(y <= pivot, y, pivot + (y - pivot) * kk)

    new = pts.copy()
    new[:, 1] = f(pts[:, 1])
    x, y, bw, bh = (float(v) for v in box)
    top, bottom = float(f(np.array(y))), float(f(np.array(y + bh)))
    return np.ascontiguousarray(out), new, (x, top, bw, bottom - top)


def crop_matrix(box, size: int, shift: tuple[float, float] = (0.0, 0.0), zoom: float = 1.0, angle: float = 0.0,
                stretch: float = 1.0, flip: bool = False) -> np.ndarray:
    """Image -> crop (2×3): box_matrix with ``shift`` and ``zoom``, then about the crop centre a rotation by
    ``angle`` degrees (image y points down: a positive angle turns the picture clockwise on screen), an x/y
    ``stretch`` and perhaps a left-right mirror."""
    m = np.vstack([box_matrix(box, size, shift, zoom), [0, 0, 1]])
    a = np.radians(angle)
    c = size / 2
    to_c = np.array([[1, 0, -c], [0, 1, -c], [0, 0, 1]], np.float64)
    back = np.array([[1, 0, c], [0, 1, c], [0, 0, 1]], np.float64)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    st = np.diag([stretch * (-1.0 if flip else 1.0), 1 / stretch, 1.0])
    return (back @ st @ rot @ to_c @ m)[:2]


def random_crop_matrix(box, size: int, rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, bool]:
    """crop_matrix with settings drawn from ``cfg``: (matrix, mirrored)."""
    shift = tuple(rng.uniform(-cfg.shift, cfg.shift, 2))
    zoom = float(np.exp(rng.uniform(*np.log(cfg.zoom))))
    angle = float(rng.uniform(-cfg.rotate, cfg.rotate)) if rng.random() < cfg.rotate_prob else 0.0
    stretch = float(np.exp(rng.uniform(-cfg.stretch, cfg.stretch)))
    flip = bool(rng.random() < cfg.flip_prob)
    return crop_matrix(box, size, shift, zoom, angle, stretch, flip), flip


def warp_sample(image: np.ndarray, points: np.ndarray, matrix: np.ndarray, size: int,
                flip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crop, crop points, index map) under one image -> crop matrix; a mirror re-indexes the points."""
    crop = box_crop(image, matrix, size)
    out = np.asarray(points, np.float64)[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    order = np.asarray(MIRROR if flip else range(68))
    return crop, out[order], order


def augment_sample(image: np.ndarray, box, points: np.ndarray, size: int, rng: np.random.Generator,
                   cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crop size×size×3 uint8, points (68, 2) in crop pixels, index map) for one sample. The index map says
    which source point each output point is (a mirror swaps left and right): reorder masks and visibility
    by it too."""
    pts = np.asarray(points, np.float64)[:, :2]
    if rng.random() < cfg.chibi_prob:
        image, pts, box = chibi_squash(image, pts, box, float(rng.uniform(*cfg.chibi)))
    elif cfg.long_prob and rng.random() < cfg.long_prob:  # no draw when off: the same crops as before
        image, pts, box = long_face(image, pts, box, float(rng.uniform(*cfg.long)))
    m, flip = random_crop_matrix(box, size, rng, cfg)
    crop, out, order = warp_sample(image, pts, m, size, flip)
    return photometric_real(crop, rng, cfg), out, order


# -- appearance -------------------------------------------------------------------------------------------


def screentone(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mid-tones of a grey crop (H×W float 0..255) as a rotated halftone dot screen; lines and paper stay."""
    h, w = grey.shape
    period = float(rng.uniform(2.5, 5.0))
    a = rng.uniform(0, np.pi / 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
    screen = (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period)) * 0.25 + 0.5  # 0..1
    dots = np.where(grey / 255.0 > screen, 255.0, 0.0)
    lo, hi = rng.uniform(40, 90), rng.uniform(160, 215)  # light skin stays paper, as inked
    mid = (grey > lo) & (grey < hi)
    return np.where(mid, dots, grey)


def photometric_real(crop: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """One crop's look changed as scans and pages change it; uint8 in, uint8 out."""
    if cfg.hue_prob and rng.random() < cfg.hue_prob:  # no draw when off: the same crops as before
        hsv = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2HSV)
        hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + int(rng.integers(0, 180))) % 180).astype(np.uint8)
        crop = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    x = crop.astype(np.float32)
    if rng.random() < cfg.grey_prob:
        g = x @ np.array([0.299, 0.587, 0.114], np.float32)
        if rng.random() < cfg.tone_prob:
            g = screentone(g, rng)
        x = np.repeat(g[:, :, None], 3, axis=2)
    g = float(np.exp(rng.uniform(*np.log(cfg.gamma))))
    x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** g
    x = x * rng.uniform(*cfg.gain) + rng.uniform(-cfg.bias, cfg.bias)
    x = np.clip(x, 0, 255)
    size = x.shape[0]
    if rng.random() < cfg.lowres_prob:
        small = max(8, int(size * rng.uniform(0.35, 0.7)))
        x = cv2.resize(cv2.resize(x, (small, small), interpolation=cv2.INTER_AREA), (size, size),
                       interpolation=cv2.INTER_LINEAR)
    if rng.random() < cfg.blur_prob:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
    if rng.random() < cfg.noise_prob:
        x = x + rng.normal(0, rng.uniform(*cfg.noise_sigma), x.shape).astype(np.float32)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg_prob:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(out.shape)
    return np.ascontiguousarray(out)
