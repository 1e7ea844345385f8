"""The photo finder (``name = "photo"``): human faces in photos, with the LBP frontal-face cascade that
scikit-image ships (``skimage.data.lbp_frontal_face_cascade_filename()``, OpenCV's
lbpcascade_frontalface, BSD-3-Clause), run by ``skimage.feature.Cascade``. Nothing is downloaded: the
cascade is a data file of the installed scikit-image wheel, a project dependency already.

It runs only on images of the human domain (``domains``); the anime finders never see photos. The cascade
gives no score, so its raw windows are grouped here (windows overlapping by half the smaller one are one
face) and ``raw_score`` is the number of windows in the group: a face is hit by many neighbouring windows,
a stray texture by few. Photos are scaled down to a long side of ``WORK_SIDE`` first: faces in photos are
large, and the cascade's cost grows with the pixel count (measured in benchmarks/human_bench.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from f2a_studio.core.models import Box
from f2a_studio.detect.finders.base import FinderHit, ModelFile

WORK_SIDE = 640  # px: the long side the cascade runs at (larger photos are scaled down first)
MIN_WINDOW = 24  # px at the working scale: the cascade's own window
SCALE_STEP = 1.2
MIN_WINDOWS = 2  # a group of fewer raw windows is noise
OVERLAP = 0.5  # intersection / smaller area at which two windows are one face
SKIN_CR, SKIN_CB = (135, 175), (80, 130)  # a common YCrCb skin range (lit skin of any tone)
SKIN_FULL = 0.4  # a face box whose middle is this much skin (or more) gets its full window score


@dataclass(frozen=True)
class Group:
    box: Box
    windows: int


def cascade_file() -> Path | None:
    """The cascade inside the installed scikit-image, found without importing skimage.data's loaders."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "lbpcascade_frontalface_opencv.xml"
        if path.is_file():
            return path
    return None


def _overlap(a: Box, b: Box) -> float:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min(a.w * a.h, b.w * b.h)


def group_windows(windows: list[Box]) -> list[Group]:
    """Raw cascade windows → faces: greedy groups by overlap, each the mean box of its windows; groups
    lying mostly inside a group with at least as many windows (an eye window in a face) are dropped."""
    groups: list[list[Box]] = []
    for win in sorted(windows, key=lambda b: -b.w):
        for members in groups:
            if _overlap(win, members[0]) >= OVERLAP and 0.5 <= win.w / members[0].w <= 2.0:
                members.append(win)
                break
        else:
            groups.append([win])
    merged = []
    for members in groups:
        arr = np.array([[b.x, b.y, b.w, b.h] for b in members])
        x, y, w, h = arr.mean(axis=0)
        merged.append(Group(Box(float(x), float(y), float(w), float(h)), len(members)))
    kept = [g for g in merged if g.windows >= MIN_WINDOWS]
    return [g for g in kept
            if not any(o is not g and o.windows >= g.windows and o.box.w > g.box.w and _overlap(g.box, o.box) > 0.6
                       for o in kept)]


def skin_fraction(pixels: np.ndarray, box: Box) -> float | None:
    """Share of skin-coloured pixels (a fixed YCrCb range) in the middle 60 % of the box; None for a grey
    photo, where colour says nothing."""
    h, w = pixels.shape[:2]
    x0, x1 = int(max(0, box.x + 0.2 * box.w)), int(min(w, box.x + 0.8 * box.w))
    y0, y1 = int(max(0, box.y + 0.2 * box.h)), int(min(h, box.y + 0.8 * box.h))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    crop = np.ascontiguousarray(pixels[y0:y1, x0:x1, :3])
    if np.abs(crop.astype(np.int16) - crop[..., :1].astype(np.int16)).max() <= 2:
        return None
    ycc = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return float(((cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])).mean())


class PhotoCalibration:
    """Window count → 0..1 (2 windows a weak hit, 8 or more a sure one), times how much of the box is skin
    (full credit from SKIN_FULL up). On the astronaut photo the face gets 7 windows and 99 % skin, while
    the badge, the helmet and the rocket get 2–9 windows and under 3 % skin (benchmarks/human_bench.py)."""

    count_map = ((1.0, 0.05), (2.0, 0.2), (3.0, 0.28), (5.0, 0.6), (8.0, 0.9), (16.0, 0.97))

    def score_hit(self, hit: FinderHit, pixels: np.ndarray, frame: object, fit_cost: float
                  ) -> tuple[float, tuple[tuple[str, float], ...]]:
        xs, ys = zip(*self.count_map, strict=True)
        p = float(np.interp(hit.raw_score, xs, ys))
        skin = skin_fraction(pixels, hit.box)
        feats: list[tuple[str, float]] = [("windows", float(hit.raw_score))]
        if skin is not None:
            p *= min(1.0, skin / SKIN_FULL)
            feats.append(("skin", round(skin, 4)))
        return p, tuple(feats)


class PhotoFinder:
    name = "photo"
    domains = ("human",)  # the registry runs it on human face photos only
    preload_modules: tuple[str, ...] = ("skimage.feature",)
    tiled = False  # scans every scale itself

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.search_path = tuple(search_path)
        self._cascade = None
        self._model: ModelFile | None = None

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return cascade_file() is not None

    @classmethod
    def problem(cls) -> str | None:
        if cascade_file() is None:
            return ("the photo face finder needs scikit-image's LBP face cascade (skimage/data/"
                    "lbpcascade_frontalface_opencv.xml); install scikit-image")
        return None

    def load(self) -> None:
        from skimage.feature import Cascade

        path = cascade_file()
        if path is None:
            raise RuntimeError(self.problem() or "no cascade")
        self._cascade = Cascade(str(path))
        self._model = ModelFile(f"skimage/{path.name}", hashlib.sha256(path.read_bytes()).hexdigest())

    def windows(self, pixels: np.ndarray) -> list[Box]:
        """Every raw window the cascade accepts, in the pixels given."""
        if self._cascade is None:
            self.load()
        h, w = pixels.shape[:2]
        k = min(1.0, WORK_SIDE / max(h, w))
        gray = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2GRAY)
        if k < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        side = min(gray.shape)
        if side < MIN_WINDOW:
            return []
        raw = self._cascade.detect_multi_scale(  # type: ignore[union-attr]
            img=gray.astype(np.float32) / 255.0, scale_factor=SCALE_STEP, step_ratio=1.0,
            min_size=(MIN_WINDOW, MIN_WINDOW), max_size=(side, side),
            min_neighbor_number=1, intersection_score_threshold=1.5)  # >1: no merging, every raw window
        return [Box(d["c"] / k, d["r"] / k, d["width"] / k, d["height"] / k) for d in raw]

    def find(self, pixels: np.ndarray) -> list[FinderHit]:
        return [FinderHit(g.box, float(g.windows)) for g in group_windows(self.windows(pixels))]

    def model_file(self) -> ModelFile | None:
        return self._model

    def calibration(self) -> PhotoCalibration:
        return PhotoCalibration()

    def unload(self) -> None:
        self._cascade = None
