"""Small drawn projects for the studio's tests, benchmark and screenshots (Qt-free).

Cartoon heads are drawn with OpenCV from the same unit-box template that gives their 68 landmarks, so the
overlay sits on the drawing. The real sample project (`f2a sample`, synth/) is richer; this one needs
nothing but core/ and is fast to build.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from f2a_studio.core.imageio import save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Colors, Face, FaceSource, Parts, Sex, rgb_to_hex
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions

Point = tuple[float, float]


def _unit_template() -> list[Point]:
    """68 iBUG points in a unit face box (x right, y down)."""
    pts: list[Point] = []
    for i in range(17):  # jaw: lower half-ellipse, image-left ear → chin → image-right ear
        a = math.pi * i / 16
        pts.append((0.5 - 0.45 * math.cos(a), 0.35 + 0.62 * math.sin(a)))
    for x0, x1 in ((0.14, 0.42), (0.58, 0.86)):  # brows
        for k in range(5):
            t = k / 4
            pts.append((x0 + (x1 - x0) * t, 0.27 - 0.04 * math.sin(math.pi * t)))
    pts.extend((0.5, 0.36 + 0.065 * k) for k in range(4))  # nose bridge
    for k in range(5):  # nose base
        t = k / 4
        pts.append((0.43 + 0.14 * t, 0.61 + 0.02 * math.sin(math.pi * t)))
    for cx in (0.30, 0.70):  # eyes: corner, upper lid ×2, corner, lower lid ×2
        for deg in (180, 120, 60, 0, 300, 240):
            a = math.radians(deg)
            pts.append((cx + 0.10 * math.cos(a), 0.42 - 0.06 * math.sin(a)))
    for k in range(12):  # outer lips
        a = math.radians(180 - 30 * k)
        pts.append((0.5 + 0.16 * math.cos(a), 0.78 - 0.07 * math.sin(a)))
    for k in range(8):  # inner lips
        a = math.radians(180 - 45 * k)
        pts.append((0.5 + 0.11 * math.cos(a), 0.78 - 0.03 * math.sin(a)))
    return pts


UNIT_TEMPLATE: tuple[Point, ...] = tuple(_unit_template())


def template_landmarks(box: Box) -> tuple[tuple[float, float, int], ...]:
    """The template placed in `box`, every point visible."""
    return tuple((box.x + u * box.w, box.y + v * box.h, 2) for u, v in UNIT_TEMPLATE)


def _points_box(points: Sequence[tuple[float, float, int]], pad: float) -> Box:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return Box(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad)


def template_parts(landmarks: Sequence[tuple[float, float, int]], box: Box) -> Parts:
    pad = box.w * 0.03
    return Parts(
        left_eye=_points_box(landmarks[36:42], pad),
        right_eye=_points_box(landmarks[42:48], pad),
        mouth=_points_box(landmarks[48:60], pad),
        nose=(landmarks[33][0], landmarks[33][1]),
        chin=(landmarks[8][0], landmarks[8][1]),
    )


@dataclass(frozen=True)
class DrawnFace:
    box: Box
    colors: Colors
    sex: Sex


def _rgb(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))  # type: ignore[return-value]


def draw_head(image: np.ndarray, box: Box, rng: np.random.Generator) -> DrawnFace:
    """Draw one cartoon head whose template landmarks fit `box`; returns its true colours."""
    skin = (int(rng.integers(225, 255)), int(rng.integers(190, 225)), int(rng.integers(160, 200)))
    hair = _rgb(rng, 20, 200)
    iris = _rgb(rng, 30, 220)
    ink = (40, 30, 30)
    pts = np.array([(p[0], p[1]) for p in template_landmarks(box)], dtype=np.float64)
    cx, cy = box.x + box.w / 2, box.y + box.h * 0.35
    # hair behind the head, then the face outline (jaw closed over the forehead)
    cv2.ellipse(image, (round(cx), round(cy)), (round(box.w * 0.56), round(box.h * 0.5)), 0, 180, 360, hair, -1)
    forehead = [(cx + box.w * 0.45 * math.cos(a), cy - box.h * 0.3 * math.sin(a)) for a in np.linspace(0, math.pi, 12)]
    outline = np.array([*pts[:17], *forehead], dtype=np.int32)  # jaw left→right, forehead right→left
    cv2.fillPoly(image, [outline], skin, lineType=cv2.LINE_AA)
    cv2.polylines(image, [outline], True, ink, max(1, round(box.w / 90)), cv2.LINE_AA)
    # fringe
    cv2.ellipse(image, (round(cx), round(box.y + box.h * 0.12)), (round(box.w * 0.48), round(box.h * 0.13)),
                0, 180, 360, hair, -1)
    for lo, hi in ((36, 42), (42, 48)):
        eye = pts[lo:hi].astype(np.int32)
        cv2.fillPoly(image, [eye], (250, 250, 250), lineType=cv2.LINE_AA)
        centre = pts[lo:hi].mean(axis=0)
        cv2.circle(image, (round(centre[0]), round(centre[1])), max(2, round(box.h * 0.045)), iris, -1, cv2.LINE_AA)
        cv2.polylines(image, [eye], True, ink, max(1, round(box.w / 80)), cv2.LINE_AA)
    for lo, hi in ((17, 22), (22, 27)):
        cv2.polylines(image, [pts[lo:hi].astype(np.int32)], False, hair, max(2, round(box.w / 40)), cv2.LINE_AA)
    cv2.polylines(image, [pts[31:36].astype(np.int32)], False, ink, max(1, round(box.w / 120)), cv2.LINE_AA)
    cv2.fillPoly(image, [pts[48:60].astype(np.int32)], (200, 80, 90), lineType=cv2.LINE_AA)
    colors = Colors(skin=rgb_to_hex(skin), hair=rgb_to_hex(hair), left_eye=rgb_to_hex(iris), right_eye=rgb_to_hex(iris))
    sex = Sex.FEMALE if rng.random() < 0.5 else Sex.MALE
    return DrawnFace(box, colors, sex)


def draw_cut(rng: np.random.Generator, width: int, height: int, n_faces: int) -> tuple[np.ndarray, list[DrawnFace]]:
    """A scene of `n_faces` heads on a soft background, faces stacked down tall cuts without overlap."""
    background = np.array(_rgb(rng, 170, 250), dtype=np.uint8)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = background
    # a faint diagonal texture so no row is uniform (the importer must not split our cuts)
    ramp = (np.arange(width)[None, :] + np.arange(height)[:, None]) % 64
    image[:, :, 2] = np.clip(image[:, :, 2].astype(np.int16) - (ramp // 8).astype(np.int16), 0, 255).astype(np.uint8)
    faces: list[DrawnFace] = []
    if n_faces <= 0:
        return image, faces
    cols = 1 if width < 900 else 2
    rows = math.ceil(n_faces / cols)
    cell_w, cell_h = width / cols, height / rows
    for k in range(n_faces):
        r, c = divmod(k, cols)
        size = min(cell_w, cell_h) * float(rng.uniform(0.45, 0.7))
        x = c * cell_w + (cell_w - size) * float(rng.uniform(0.2, 0.8))
        y = r * cell_h + (cell_h - size) * float(rng.uniform(0.3, 0.7))
        faces.append(draw_head(image, Box(x, y, size * 0.9, size), rng))
    return image, faces


def demo_face(image_id: int, drawn: DrawnFace, rng: np.random.Generator) -> Face:
    """What a detector might have said about a drawn head: box, parts, template landmarks, a score."""
    jitter = drawn.box.w * 0.015
    landmarks = tuple(
        (x + float(rng.normal(0, jitter)), y + float(rng.normal(0, jitter)), 2)
        for x, y, _ in template_landmarks(drawn.box)
    )
    return Face(
        image_id=image_id,
        box=drawn.box,
        score=round(float(rng.uniform(0.5, 0.99)), 3),
        source=FaceSource.DETECTOR,
        colors=drawn.colors,
        parts=template_parts(landmarks, drawn.box),
        landmarks=landmarks,
    )


def make_demo_project(
    folder: Path | str,
    *,
    cuts: int = 6,
    faces_per_cut: Sequence[int] = (1, 2, 3, 0),
    size: tuple[int, int] = (800, 1100),
    tall_cut: tuple[int, int, int] | None = None,
    seed: int = 0,
    durability: str = "full",
    sizes: Sequence[tuple[int, int]] | None = None,
) -> Path:
    """A project of `cuts` drawn scenes (title `demo`, episode 1) with detector faces and landmarks.

    `tall_cut=(width, height, n_faces)` adds one more, tall cut (e.g. 2000×8000 with 20 faces).
    `sizes` gives each cut its own (width, height) instead (`cuts` and `size` are then ignored).
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    dims = list(sizes) if sizes is not None else [size] * cuts
    plan = [(w, h, faces_per_cut[i % len(faces_per_cut)]) for i, (w, h) in enumerate(dims)]
    if tall_cut:
        plan.append(tall_cut)
    drawn_by_name: dict[str, list[DrawnFace]] = {}
    with ProjectStore.create(folder, durability=durability) as store, tempfile.TemporaryDirectory() as tmp:  # type: ignore[arg-type]
        paths = []
        for index, (w, h, n) in enumerate(plan, start=1):
            pixels, drawn = draw_cut(rng, w, h, n)
            path = Path(tmp) / f"demo_1_cut_{index:03d}.png"
            save_png_atomic(path, pixels, compression=1)
            drawn_by_name[path.name] = drawn
            paths.append(path)
        report = import_sources(store, paths, split=SplitOptions(min_aspect=float("inf")))
        if report.problems:
            raise RuntimeError(f"demo import failed: {report.problems}")
        for record in report.added:
            drawn = drawn_by_name[Path(record.source_path).name]
            if drawn:
                store.add_faces([demo_face(record.id, d, rng) for d in drawn], actor="detector")
    return folder


def make_large_project(folder: Path | str, *, cuts: int, titles: int = 10, episodes: int = 20, seed: int = 0) -> Path:
    """A project with many cut records that share a few drawn files (for browser/first-paint benchmarks).

    Each record gets a unique hash (the store requires it) but points at one of 8 real PNGs.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    with ProjectStore.create(folder, durability="normal") as store:
        files = []
        for k in range(8):
            pixels, drawn = draw_cut(rng, 800, 1100, 1 + k % 3)
            rel = f"cuts/shared/{k:02d}.png"
            save_png_atomic(folder / rel, pixels, compression=1)
            files.append((rel, drawn))
        for i in range(cuts):
            rel, drawn = files[i % len(files)]
            title = f"t{(i % titles):02d}"
            episode = str(1 + (i // titles) % episodes)
            record, _ = store.add_image(
                hash=f"{i:064x}", cut_path=rel, source_path=rel, title_id=title, episode=episode,
                width=800, height=1100, cut_index=None,
            )
            store.add_faces([demo_face(record.id, d, rng) for d in drawn], actor="detector")
    return folder
