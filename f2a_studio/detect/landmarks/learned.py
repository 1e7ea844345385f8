"""The learned landmark backend: LandmarkNet from ``landmarks-learned.safetensors`` + ``.json`` on the
search path (a project's fine-tuned model in checkpoints/ first, then the shipped one). A file that does
not load is passed over for the next folder's (the reason is kept in ``notes``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.cropnet import ModelFileError, box_crop, box_matrix, load_model, model_folders, model_paths
from f2a_studio.detect.landmarks.base import LandmarkResult

STEM = "landmarks-learned"


def load_net(folder: Path):  # -> (a landmarks.nets network, card)
    from f2a_studio.detect.landmarks.nets import architectures, net_from_json

    state, card = load_model(folder, STEM, tuple(architectures()))
    net = net_from_json(card["net"])
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFileError(f"{model_paths(folder, STEM)[0]}: weights do not fit the card's network "
                             f"({str(exc).splitlines()[0]})") from exc
    return net.eval(), card


def predict_points(net, pixels: np.ndarray, box: Box | Sequence[float], p_female: float,
                   flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(68, 2) image points and (68,) visibility probabilities. ``flip``: the mean of the crop's and its
    mirror's prediction (the mirror's points re-indexed by core.ibug68.MIRROR), one batch of two."""
    import torch

    from f2a_studio.core.ibug68 import MIRROR
    from f2a_studio.detect.cropnet import to_tensor

    b = box.to_list() if isinstance(box, Box) else list(box)
    size = net.cfg.size
    m = box_matrix(b, size)
    crop = box_crop(pixels, m, size)
    crops = [crop, np.ascontiguousarray(crop[:, ::-1])] if flip else [crop]
    with torch.inference_mode():
        pts, vis = net(to_tensor(crops), torch.full((len(crops),), float(p_female)))
    crop_pts = pts[0].numpy().astype(np.float64) * size
    vis_p = torch.sigmoid(vis[0]).numpy().astype(np.float64)
    if flip:
        mirror = list(MIRROR)  # a list: a tuple index would be read as one index per axis
        mirrored = pts[1].numpy().astype(np.float64)[mirror] * size
        mirrored[:, 0] = size - mirrored[:, 0]
        crop_pts = (crop_pts + mirrored) / 2
        vis_p = (vis_p + torch.sigmoid(vis[1]).numpy().astype(np.float64)[mirror]) / 2
    inv = cv2.invertAffineTransform(m)
    return crop_pts @ inv[:, :2].T + inv[:, 2], vis_p


class LearnedLandmarkBackend:
    name = "learned"

    def __init__(self, search_path: Path | Sequence[Path] | None = None) -> None:
        from f2a_studio.detect.landmarks import search_path_of

        self.search_path = search_path_of(search_path)
        self.net = None
        self.folder: Path | None = None
        self.notes: list[str] = []

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return bool(model_folders(search_path, STEM))

    def load(self) -> None:
        if self.net is not None:
            return
        for folder in model_folders(self.search_path, STEM):
            try:
                self.net, _ = load_net(folder)
                self.folder = folder
                return
            except F2AError as exc:
                self.notes.append(f"landmark model skipped: {exc}")
        raise F2AError("no loadable learned landmark model: " + "; ".join(self.notes))

    def predict(self, pixels: np.ndarray, box: Box, parts: Parts, p_female: float = 0.5) -> LandmarkResult:
        if self.net is None:
            self.load()
        points, vis = predict_points(self.net, pixels, box, p_female)
        if not np.isfinite(points).all():
            raise F2AError("the learned landmark model produced non-finite landmarks")
        return LandmarkResult(points, self.name, vis, p_female, None)

    def unload(self) -> None:
        self.net = None
