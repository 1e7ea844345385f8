"""The learned verifier backend (``name = "learned"``): verifier-learned.safetensors + .json, written by
``f2a train-finder`` into PROJECT/checkpoints/ beside the project's finder (verifiers/project.py). It
looks at a square crop of the card's ``span`` box sides around each candidate's box centre.

A candidate's score becomes ``map(sqrt(p_face · score))``: the geometric mean keeps what the finder's
calibrated score knew (a verifier alone ranks real faces worse than the finders: 0.18-0.22 recall at
precision 0.85 on the devset against 0.33 for the merged finders, benchmarks/verifier_devset.py), and the
card's "calibration", fitted on the held-back cuts' candidates, maps the product back onto "is a face"
so the one threshold keeps its meaning. A card without a calibration, or one whose verifier did not help
on the held-back cuts ("on_by_default": false), is not used unless named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.detect.cropnet import (
    ModelFileError,
    box_crop,
    box_matrix,
    file_sha256,
    load_model,
    model_folders,
    model_paths,
)
from f2a_studio.detect.finders.base import ModelFile
from f2a_studio.detect.finders.calibration import ScoreMap

STEM = "verifier-learned"
CHUNK = 256  # crops per forward pass
TIE_BREAK = 1e-3  # × the combined score, added after a piecewise map: its flat ends must not tie the best


def combined(p_face: float, score: float) -> float:
    """The verifier's probability and the finder's calibrated score, as one number before the card's map."""
    return math.sqrt(max(0.0, p_face) * max(0.0, score))


class LearnedVerifier:
    name = "learned"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.net = None
        self.card: dict = {}
        self.calibration: ScoreMap | None = None
        self._model_file: ModelFile | None = None

    @classmethod
    def folders(cls, search_path: Sequence[Path]) -> list[Path]:
        return model_folders(search_path, STEM)

    def load(self) -> None:
        """Load the weights and the map; ModelFileError naming the file and what is wrong."""
        from f2a_studio.detect.verifiers.net import ARCHITECTURE, VerifierNet, VerifierNetConfig

        state, card = load_model(self.folder, STEM, ARCHITECTURE)
        weights, card_path = model_paths(self.folder, STEM)
        try:
            net = VerifierNet(VerifierNetConfig.from_json(card["net"]))
            net.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{weights}: weights do not fit the card's network "
                                 f"({str(exc).splitlines()[0]})") from exc
        block = card.get("calibration")
        self.calibration = ScoreMap.from_json(block, str(card_path)) if isinstance(block, dict) else None
        self.net, self.card = net.eval(), card
        self._model_file = ModelFile(weights.name, file_sha256(weights))

    @property
    def on_by_default(self) -> bool:
        return bool(self.card.get("on_by_default", False)) and self.calibration is not None

    def model_file(self) -> ModelFile | None:
        return self._model_file

    def p_face(self, pixels: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """P(a face) per box (x, y, w, h in the pixels' coordinates), from the box crop around it."""
        import torch

        from f2a_studio.detect.cropnet import to_tensor

        if self.net is None:
            raise RuntimeError("the verifier is not loaded; call load() first")
        from f2a_studio.detect.verifiers.train import crop_zoom

        size, zoom = self.net.cfg.size, crop_zoom(self.net.cfg.span)
        out = []
        with torch.inference_mode():
            for i in range(0, len(boxes), CHUNK):
                crops = [box_crop(pixels, box_matrix(b[:4], size, zoom=zoom), size) for b in boxes[i:i + CHUNK]]
                out.append(torch.sigmoid(self.net(to_tensor(crops))).numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros(0)

    def rescore(self, p_face: float, score: float) -> float:
        """The candidate's new calibrated score (see the module docstring). A piecewise map is flat beyond
        its end knots, which would give every candidate above the last one the same score (NMS and the
        slider could no longer tell them apart); a tiny slope keeps their order."""
        c = combined(p_face, score)
        if self.calibration is None:
            return c
        tie_break = TIE_BREAK * c if self.calibration.kind == "piecewise" else 0.0
        return min(1.0, self.calibration(c) + tie_break)
