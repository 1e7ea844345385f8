"""The learned finder backend (``name = "learned"``): a small CNN trained on synthetic scenes, fine-tuned
per project on the annotators' corrections (learned_train.py, learned_project.py).

Inference: the image is scaled so its short side is at most 512 px (faces of a webtoon strip keep their
size; a 4K illustration shrinks to what the network was trained on), cut into 512 px tiles that overlap by
160 px (a tall strip is a column of tiles), and each tile's heatmap peaks become proposals; a peak is kept
by the tile whose core (the tile minus half the overlap) holds it, so a face is found once.
``raw_score`` is the heatmap peak (0..1), mapped to "is a face" by the card's "calibration" (fitted on the
held-back cuts by ``f2a train-finder``) and then by the project's own map (``f2a calibrate``).

Registered as a finder (``FINDER`` below) but on by default only where its card allows: the pretrained
model's card says ``"on_by_default": false`` (on real pages it adds more false alarms than faces: precision
0.35 at recall 0.41, benchmarks/finder_devset.py), a model fine-tuned on the project's own corrections
(PROJECT/checkpoints/, first on the search path) is on. ``--finder learned`` runs any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box
from f2a_studio.core.search_path import model_search_path
from f2a_studio.detect.finders.base import FinderHit, ModelFile
from f2a_studio.detect.finders.learned_io import (
    WEIGHTS_NAME,
    FinderModelError,
    InferenceConfig,
    find_model,
    load_state,
    read_card,
    sha256_file,
)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of ``tile`` px covering ``length`` px with at least ``overlap`` px shared."""
    if length <= tile:
        return [0]
    step = tile - overlap
    n = -(-(length - tile) // step) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


class LearnedFinder:
    name = "learned"
    tiled = False  # it tiles the image itself, at the one scale it was trained for
    preload_modules = ("torch", "f2a_studio.detect.finders.learned_net")

    def __init__(self, search_path: Sequence[Path | str] | None = None) -> None:
        self.search_path = [Path(p) for p in (search_path if search_path is not None else model_search_path())]
        self.net = None
        self.inference = InferenceConfig()
        self._model_file: ModelFile | None = None
        self.folder: Path | None = None

    @classmethod
    def available(cls, search_path: Sequence[Path | str]) -> bool:
        return find_model(search_path) is not None

    @classmethod
    def on_by_default(cls, search_path: Sequence[Path | str]) -> bool:
        """Whether the model that would load runs when no finder is named (its card's "on_by_default")."""
        folder = find_model(search_path)
        if folder is None:
            return False
        try:
            return bool(read_card(folder).get("on_by_default", True))
        except FinderModelError:
            return True  # loading it will say what is wrong with the card, loudly

    def load(self) -> None:
        folder = find_model(self.search_path)
        if folder is None:
            raise FinderModelError(
                f"no learned finder model ({WEIGHTS_NAME} + finder-learned.json) in any of: "
                + ", ".join(str(p) for p in self.search_path)
            )
        self.load_from(folder)

    def load_from(self, folder: Path) -> None:
        import torch

        from f2a_studio.detect.finders.learned_net import FaceNet, NetConfig

        card = read_card(folder)
        try:
            cfg = NetConfig.from_json(card["net"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FinderModelError(f"{folder / 'finder-learned.json'}: bad network config ({exc})") from exc
        state = load_state(folder)
        net = FaceNet(cfg)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise FinderModelError(
                f"{folder / WEIGHTS_NAME}: weights do not fit the network its card describes ({exc})"
            ) from exc
        net.eval()
        with torch.inference_mode():  # warm-up: the first call allocates
            net(torch.zeros(1, 3, 64, 64))
        self.net = net
        self.inference = InferenceConfig.from_json(card.get("inference"))
        self.folder = folder
        self._model_file = ModelFile(WEIGHTS_NAME, sha256_file(folder / WEIGHTS_NAME))

    @classmethod
    def from_network(cls, net, inference: InferenceConfig | None = None) -> LearnedFinder:
        """A finder over a network in memory (training evaluates its checkpoints this way)."""
        finder = cls(search_path=[])
        finder.net = net.eval()
        finder.inference = inference or InferenceConfig()
        return finder

    def model_file(self) -> ModelFile | None:
        return self._model_file

    def unload(self) -> None:
        self.net = None

    def find(self, pixels: np.ndarray) -> list[FinderHit]:
        return [FinderHit(Box(x, y, w, h), s) for x, y, w, h, s in self.find_boxes(pixels)]

    def outputs(self, t):
        """The net's (heat logits, box maps) on a tile batch of one, mirrored views averaged in when the card says."""
        return mirrored_outputs(self.net, t) if self.inference.mirror else self.net(t)

    def find_boxes(self, pixels: np.ndarray, threshold: float | None = None) -> list[tuple[float, ...]]:
        """``(x, y, w, h, score)`` per proposal in image pixels, best first."""
        import cv2
        import torch

        from f2a_studio.detect.finders.learned_net import decode

        if self.net is None:
            raise RuntimeError("the learned finder is not loaded; call load() first")
        if pixels.ndim != 3 or pixels.shape[2] < 3 or pixels.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 RGB image, got {pixels.shape} {pixels.dtype}")
        cfg = self.inference
        thr = cfg.threshold if threshold is None else threshold
        h, w = pixels.shape[:2]
        s = min(1.0, cfg.max_short / max(1, min(h, w)))
        img = pixels[:, :, :3]
        if s < 1.0:
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        sh, sw = img.shape[:2]
        hits: list[tuple[float, ...]] = []
        half = cfg.overlap / 2
        xs, ys = tile_starts(sw, cfg.tile, cfg.overlap), tile_starts(sh, cfg.tile, cfg.overlap)
        with torch.inference_mode():
            for y0 in ys:
                for x0 in xs:
                    crop = img[y0 : y0 + cfg.tile, x0 : x0 + cfg.tile]
                    ch, cw = crop.shape[:2]
                    ph, pw = -(-ch // 32) * 32, -(-cw // 32) * 32
                    t = torch.zeros(1, 3, ph, pw)
                    t[0, :, :ch, :cw] = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float() / 255
                    heat, reg = self.outputs(t)
                    for bx, by, bw, bh, sc in decode(heat, reg, thr, cfg.top_k):
                        cx, cy = bx + bw / 2, by + bh / 2
                        # keep a peak in the tile whose core holds it (the first/last tile own their edges)
                        if (x0 > 0 and cx < half) or (x0 + cw < sw and cx >= cw - half):
                            continue
                        if (y0 > 0 and cy < half) or (y0 + ch < sh and cy >= ch - half):
                            continue
                        if not (0 <= cx < cw and 0 <= cy < ch):
                            continue
                        hits.append(((bx + x0) / s, (by + y0) / s, bw / s, bh / s, sc))
        hits = [_clip(hb, w, h) for hb in hits]
        hits = [hb for hb in hits if hb[2] >= 2 and hb[3] >= 2]
        hits.sort(key=lambda t: -t[4])
        return hits


def mirrored_outputs(net, t):
    """The net's heatmap logits and box maps on ``t`` averaged with those on ``t`` mirrored (flipped back):
    heat in probability, sizes in log space, the centre offsets the plain pass's (a mirrored cell's x offset
    is 1 - x, and averaging two half-cell guesses only blurs the centre). The padded tile flips whole: its
    width is a multiple of the stride, so the cells line up."""
    import torch

    heat, reg = net(torch.cat([t, t.flip(-1)]))
    p = (torch.sigmoid(heat[:1]) + torch.sigmoid(heat[1:]).flip(-1)) / 2
    sizes = (reg[:1, 2:] + reg[1:, 2:].flip(-1)) / 2
    return torch.logit(p.clamp(1e-6, 1 - 1e-6)), torch.cat([reg[:1, :2], sizes], dim=1)


def _clip(hit: tuple[float, ...], width: int, height: int) -> tuple[float, ...]:
    x, y, w, h, s = hit
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    return (x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1), s)


FINDER = LearnedFinder
