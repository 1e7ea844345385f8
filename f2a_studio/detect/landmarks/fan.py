"""face-alignment's FAN (2D, 4 hourglass modules) on the detector's boxes, when its weights are on disk.

Never downloads: the weights file must already be in models/ or in the torch hub cache (where
`face_alignment.FaceAlignment` itself would have put it). Only the network class comes from
face_alignment; cropping and heat-map decoding are done here, in the same geometry as the library (a
crop of 200·scale pixels around the centre, resized to 256; 64×64 heat maps), without its numba code
(which would compile for seconds in every worker) and in float64 so points are not truncated to ints.

FAN is a human-face model: on big-eyed characters it draws the face too large (the seed's observation).
`limit_face_size` pulls the jaw in to the proportions of the character's sex when it overshoots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.face_model import FaceModel, load_face_model
from f2a_studio.detect.landmarks.base import LandmarkResult

WEIGHTS_NAME = "2DFAN4-11f355bf06.pth.tar"  # the file face-alignment 1.5 downloads for 2DFAN-4
WEIGHTS_GLOB = "2DFAN4*.pth*"
CROP = 256
HEATMAP = 64
REFERENCE_SCALE = 195.0  # face_alignment's detectors: scale = (box w + box h) / 195
CENTER_Y_OFFSET = 0.12  # … and the centre moved up by 0.12 box heights
SIZE_TOLERANCE = 1.12  # a face may be this much larger than its sex's proportions before it is pulled in


def hub_checkpoints_dir() -> Path:
    """torch.hub's checkpoint folder, computed as torch does (without importing torch)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        torch_home = os.path.join(cache, "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def find_weights(search_path: Path | Sequence[Path] | None) -> Path | None:
    """The weights on the search path (core.search_path), else in torch hub's cache."""
    if search_path is None:
        search_path = []
    elif isinstance(search_path, str | Path):
        search_path = [Path(search_path)]
    folders = [*map(Path, search_path), hub_checkpoints_dir()]
    for folder in folders:
        exact = folder / WEIGHTS_NAME
        if exact.is_file():
            return exact
        if folder.is_dir():
            matches = sorted(p for p in folder.glob(WEIGHTS_GLOB) if p.is_file())
            if matches:
                return matches[0]
    return None


def load_fan(path: Path) -> Any:  # a torch module (torch is imported lazily)
    """FAN(4) with the state dict at `path` (weights only, no pickle code); a clear error otherwise."""
    import torch
    from face_alignment.models import FAN

    net = FAN(4)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise F2AError(f"{path}: not a loadable FAN weights file: {_load_problem(exc)}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise F2AError(f"{path}: expected a state dict of FAN weights, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise F2AError(f"{path}: these weights do not fit face-alignment's FAN-4 network ({first})") from exc
    net.eval()
    return net


def _load_problem(exc: BaseException) -> str:
    """Why torch.load refused a file, in one line. torch's own text for a pickle with code in it advises
    loading with weights_only=False, which is exactly what must not be done with a file of unknown origin."""
    text = str(exc)
    if "Weights only load failed" in text or type(exc).__name__ == "UnpicklingError":
        found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        needs = f" (it refers to {found.group(1)})" if found else ""
        return f"it holds Python objects, not only tensors; refused, since only plain weights are loaded{needs}"
    if isinstance(exc, KeyError | EOFError) or "zip archive" in text or "invalid load key" in text:
        return "not a PyTorch weights file (corrupt, truncated or another format)"
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:200]}"


def crop_matrix(center: np.ndarray, scale: float, resolution: float) -> np.ndarray:
    """Image → crop affine (2×3), face_alignment's geometry."""
    h = 200.0 * scale
    return np.array([[resolution / h, 0.0, resolution * (0.5 - center[0] / h)],
                     [0.0, resolution / h, resolution * (0.5 - center[1] / h)]])


def decode_heatmaps(heatmaps: np.ndarray, center: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(68, 64, 64) heat maps → (68, 2) image points (float64) and (68,) peak values."""
    n, hh, ww = heatmaps.shape
    flat = heatmaps.reshape(n, -1)
    idx = flat.argmax(axis=1)
    scores = flat[np.arange(n), idx].astype(np.float64)
    px, py = (idx % ww).astype(np.float64), (idx // ww).astype(np.float64)
    for j in range(n):  # quarter-pixel step towards the higher neighbour, as the reference code does
        x, y = int(px[j]), int(py[j])
        if 0 < x < ww - 1 and 0 < y < hh - 1:
            hm = heatmaps[j]
            px[j] += 0.25 * np.sign(hm[y, x + 1] - hm[y, x - 1])
            py[j] += 0.25 * np.sign(hm[y + 1, x] - hm[y - 1, x])
    # reference: 1-based index, then -0.5, then the inverse crop transform at heat-map resolution
    pts = np.column_stack([px + 0.5, py + 0.5])
    inv = cv2.invertAffineTransform(crop_matrix(center, scale, float(hh)))
    return pts @ inv[:, :2].T + inv[:, 2], scores


def limit_face_size(points: np.ndarray, model: FaceModel, p_female: float) -> np.ndarray:
    """Pull the jaw (0–16) towards the eyes when the face is larger, for its inter-ocular distance, than
    the sex's mean face allows (× SIZE_TOLERANCE). Other points are left alone."""
    pts = np.asarray(points, dtype=np.float64).copy()
    eyes_l, eyes_r = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
    iod = float(np.linalg.norm(eyes_r - eyes_l))
    if iod <= 0:
        return pts
    mid = (eyes_l + eyes_r) / 2

    def chin_per_iod(m: np.ndarray) -> float:
        return float(np.linalg.norm(m[8, :2] - (m[36:42, :2].mean(0) + m[42:48, :2].mean(0)) / 2)
                     / np.linalg.norm(m[42:48, :2].mean(0) - m[36:42, :2].mean(0)))

    expected = p_female * chin_per_iod(model.female.points) + (1 - p_female) * chin_per_iod(model.male.points)
    actual = float(np.linalg.norm(pts[8] - mid)) / iod
    limit = expected * SIZE_TOLERANCE
    if actual > limit:
        pts[0:17] = mid + (pts[0:17] - mid) * (limit / actual)
    return pts


class FanBackend:
    name = "fan"

    def __init__(self, search_path: Path | Sequence[Path] | None = None) -> None:
        self.search_path = search_path
        self.net = None
        self.model: FaceModel | None = None

    @classmethod
    def available(cls, search_path: Path | Sequence[Path] | None) -> bool:
        return find_weights(search_path) is not None

    def load(self) -> None:
        path = find_weights(self.search_path)
        if path is None:
            raise F2AError(
                f"FAN weights ({WEIGHTS_NAME}) are not in {self.search_path} or {hub_checkpoints_dir()}; "
                "see models/README.md"
            )
        self.net = load_fan(path)
        self.model = load_face_model()

    def predict(self, pixels: np.ndarray, box: Box, parts: Parts, p_female: float = 0.5) -> LandmarkResult:
        import torch

        if self.net is None:
            self.load()
        assert self.net is not None and self.model is not None
        center = np.array([box.x + box.w / 2, box.y + box.h / 2 - box.h * CENTER_Y_OFFSET], dtype=np.float64)
        scale = (box.w + box.h) / REFERENCE_SCALE
        crop = cv2.warpAffine(np.ascontiguousarray(pixels[:, :, :3]), crop_matrix(center, scale, CROP),
                              (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        inp = torch.from_numpy(crop.transpose(2, 0, 1).astype(np.float32) / 255.0)[None]
        with torch.inference_mode():
            out = self.net(inp)
        heat = (out[-1] if isinstance(out, list | tuple) else out)[0].float().numpy()
        points, scores = decode_heatmaps(heat, center, scale)
        points = limit_face_size(points, self.model, p_female)
        confidence = np.clip(scores, 0.0, 1.0)
        if not np.isfinite(points).all():
            raise F2AError("FAN produced non-finite landmarks")
        return LandmarkResult(points, self.name, confidence, p_female, None)

    def unload(self) -> None:
        self.net = None
