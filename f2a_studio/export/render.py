"""Rendering of aligned faces, run in worker processes: read a cut once, then for each of its faces
warp, mask, compose (the format's layout) and encode a PNG. Pure functions of their inputs, so the
bytes do not depend on the worker, the order or the number of workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.align import alignment_matrix, inside_coverage, transform_points, warp
from f2a_studio.core.errors import ImageError
from f2a_studio.core.imageio import encode_png as core_encode_png
from f2a_studio.core.imageio import flatten_alpha, read_image
from f2a_studio.export.errors import ExportError
from f2a_studio.export.masks import composite, foreground_alpha


def encode_png(pixels: np.ndarray) -> bytes:
    """RGB or RGBA uint8 → PNG bytes with the project's fixed settings (byte-identical run to run)."""
    try:
        return core_encode_png(pixels)
    except ImageError as exc:
        raise ExportError(exc.reason) from exc


@dataclass(frozen=True)
class RenderSettings:
    format: str
    size: int
    margin: float
    foreground: bool
    background: str


@dataclass(frozen=True)
class FaceTask:
    relpath: str
    split: str
    landmarks: tuple[tuple[float, float, int], ...]
    hair: str | None = None
    key: tuple[int, int] | None = None  # (face id, revision); None for human photos


@dataclass(frozen=True)
class CutTask:
    path: str
    has_alpha: bool
    faces: tuple[FaceTask, ...]


@dataclass(frozen=True)
class RenderedFile:
    relpath: str
    data: bytes
    split: str
    key: tuple[int, int] | None


def aligned_face(pixels: np.ndarray, landmarks: tuple | np.ndarray, hair: str | None,
                 settings: RenderSettings) -> tuple[np.ndarray, np.ndarray]:
    """(face pixels RGB or RGBA, aligned landmarks) for one face of an RGB/RGBA image.

    Where the crop reaches past the cut, the cut is mirrored (a whole crop), and with the foreground
    only, the outside is no foreground: background colour, or transparent."""
    matrix = alignment_matrix(landmarks, settings.size, settings.margin)
    aligned_lm = transform_points(landmarks, matrix)
    if not settings.foreground:
        return warp(flatten_alpha(pixels), matrix, settings.size, mode="reflect").pixels, aligned_lm
    rgb = warp(np.ascontiguousarray(pixels[:, :, :3]), matrix, settings.size, mode="reflect").pixels
    if pixels.shape[2] == 4:
        alpha = warp(np.ascontiguousarray(pixels[:, :, 3]), matrix, settings.size, border=0).pixels
        alpha_f = alpha.astype(np.float32) / 255.0
    else:
        alpha_f = foreground_alpha(rgb, aligned_lm, hair)
    alpha_f = alpha_f * inside_coverage(pixels.shape, matrix, settings.size)
    return composite(rgb, alpha_f, settings.background), aligned_lm


def render_cut(task: CutTask, settings: RenderSettings) -> list[RenderedFile]:
    """All files of one cut. Errors come back as ExportError: unlike ImageError (two arguments) it
    survives the trip from a worker process, and it names the cut."""
    try:
        return _render_cut(task, settings)
    except ImageError as exc:
        raise ExportError(f"cannot read {exc.path}: {exc.reason}; nothing was written") from exc
    except Exception as exc:
        raise ExportError(f"rendering the faces of {task.path} failed: {exc}; nothing was written") from exc


def _render_cut(task: CutTask, settings: RenderSettings) -> list[RenderedFile]:
    from f2a_studio.export.formats import get_format

    fmt = get_format(settings.format)
    pixels = read_image(Path(task.path), with_alpha=task.has_alpha and settings.foreground)
    out = []
    for face in task.faces:
        face_px, aligned_lm = aligned_face(pixels, face.landmarks, face.hair, settings)
        image = fmt.compose(face_px, aligned_lm, settings.size)
        out.append(RenderedFile(face.relpath, encode_png(image), face.split, face.key))
    return out
