"""The learned verifier backend (``name = "learned"``): verifier-learned.safetensors + .json, written by
``f2a train-finder`` into PROJECT/checkpoints/ beside the project's finder (verifiers/project.py). It
looks at a square crop of the card's ``span`` box sides around each candidate's box centre; with a box
head (verifiers/refine.py) it also says where the face's box is in that crop, and the box moves there.

A candidate's score becomes ``map(p_face^0.7 · score^0.3)``: the weighted geometric mean keeps what the
finder's calibrated score knew (a verifier alone ranks real faces worse than the finders: 0.11-0.19 recall
at precision 0.85 on the devset against 0.33 for the merged finders, benchmarks/verifier_devset.py; the
weights 0.5 / 0.7 / 0.85 on p gave 0.431 / 0.444 / 0.433, mean of 3 seeds × 2 folds), and the
card's "calibration", fitted on the held-back cuts' candidates, maps the product back onto "is a face"
so the one threshold keeps its meaning (once `f2a calibrate` has refitted it from review decisions,
calibration-verifier-learned.json beside the card is read instead: verifiers/recalibrate.py). A card
without a calibration, or one whose verifier did not help on the held-back cuts ("on_by_default": false),
is not used unless named.

Each answer is the mean over the card's views of the crop: "mirror" (the crop mirrored too, its x offset
mirrored back, so a mirrored picture gets the same answer), "zooms" and "shifts" (P also judged on crops
zoomed or moved by a share of the box side; the box offsets stay the plain crop's and its mirror's). On
the devset recall at precision 0.85 rose from 0.501 (one crop) to 0.544 (mirror) and 0.562 (VIEWS),
while averaging the nets of several seeds on one crop did not help (session 9,
results/verifier_devset_ensemble_2026-12-03.json). A card written before session 13 has no views: one
crop, as its map was fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.box_overlap import rowwise_iou
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
from f2a_studio.detect.verifiers.recalibrate import read_verifier_map

STEM = "verifier-learned"
# What train-finder writes into a new card (see outputs): the crop, its mirror, and P also from crops zoomed
# out and in by ~15 % where the plain crop's P is ≥ 0.15. Devset recall at precision 0.85 (3 seeds × 2
# folds): one view 0.501, mirror 0.544, this 0.562 at 0.17 s/MP (0.30 with zoomed views for every box, the
# same recall on all 6 runs; one view 0.08); four zooms 0.565 at 0.53 s/MP, shifted crops 0.557.
VIEWS = {"mirror": True, "zooms": [0.87, 1.15], "views_floor": 0.15}
SAME_BOX = 0.98  # a refined box this close to the given one is not judged again (its crop is nearly the same)
CHUNK = 256  # crops per forward pass
TIE_BREAK = 1e-3  # × the combined score, added after a piecewise map: its flat ends must not tie the best


@dataclass(frozen=True)
class Verified:
    """``verify``'s answer per box: the box the face has there (N×4: the given one unless the verifier
    refines), P(a face) judged on that box (``p_face``) and on the given one (``p_given``: the same array
    unless the verifier ``rejudges``)."""

    p_face: np.ndarray
    boxes: np.ndarray
    p_given: np.ndarray


P_WEIGHT = 0.7  # p_face's exponent in the combined score (the finder's score gets the rest)
SQRT_WEIGHT = 0.5  # what a card without "p_weight" was fitted with: sqrt(p_face · score)


def combined(p_face: float, score: float, p_weight: float = P_WEIGHT) -> float:
    """The verifier's probability and the finder's calibrated score, as one number before the card's map."""
    return max(0.0, p_face) ** p_weight * max(0.0, score) ** (1.0 - p_weight)


class LearnedVerifier:
    name = "learned"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.net = None
        self.card: dict = {}
        self.calibration: ScoreMap | None = None
        self._model_file: ModelFile | None = None
        self.p_weight = P_WEIGHT  # a loaded card's own (its map was fitted on that combination)
        self.calibration_from = ""  # "held-back cuts" (the card's map) or "review decisions" (f2a calibrate)

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
        self.p_weight = float(card.get("p_weight", SQRT_WEIGHT))
        self._model_file = ModelFile(weights.name, file_sha256(weights))
        refitted = read_verifier_map(self.folder, self._model_file.sha256)
        if refitted is not None:  # `f2a calibrate` refitted it from review decisions (verifiers/recalibrate.py)
            self.calibration = refitted
        self.calibration_from = "review decisions" if refitted is not None else "held-back cuts"

    @property
    def on_by_default(self) -> bool:
        return bool(self.card.get("on_by_default", False)) and self.calibration is not None

    def model_file(self) -> ModelFile | None:
        return self._model_file

    @property
    def refines(self) -> bool:
        """Whether ``verify`` moves boxes: the net has a box head and the card did not turn it off."""
        return self.net is not None and self.net.cfg.box_head and bool(self.card.get("refine", True))

    @property
    def rejudges(self) -> bool:
        """Whether ``verify`` judges a moved box again from its own crop: the card says so (cards from
        before session 12 have no "rejudge": their map was fitted on the given box's P, so one pass)."""
        return self.refines and bool(self.card.get("rejudge", False))

    @property
    def keeps_better(self) -> bool:
        """Whether a moved box whose own crop is judged less likely a face than the given box's goes back to
        the given box and its P (the card's "keep_better"; only when the verifier ``rejudges``). Off: it
        saves some faces the box head moved off (32 misses in 10 devset runs, ``lost_at``), but the better of
        two P's lifts false alarms more; devset recall at precision 0.85 0.624 / 0.647 / 0.538 against
        0.624 / 0.655 / 0.581 (results/verifier_devset_keep_better_2026-12-07.json)."""
        return self.rejudges and bool(self.card.get("keep_better", False))

    @property
    def mirrors(self) -> bool:
        """Whether each crop is also judged mirrored and the two answers averaged (the card's "mirror")."""
        return bool(self.card.get("mirror", False))

    @property
    def views(self) -> tuple[tuple[float, float, float], ...]:
        """The extra crops (zoom × the crop's own, x and y shift in box sides) on which each box's P is
        judged too and averaged in: the card's "zooms" and "shifts"; the box offsets stay the plain
        crop's (and its mirror's)."""
        zooms = [(float(z), 0.0, 0.0) for z in self.card.get("zooms", ()) if float(z) != 1.0]
        shifts = [(1.0, float(dx), float(dy)) for dx, dy in self.card.get("shifts", ()) if (dx, dy) != (0, 0)]
        return tuple(zooms + shifts)

    @property
    def views_floor(self) -> float:
        """The plain crop's P below which a box gets no extra views (the card's "views_floor"; 0: every
        box): most candidates are plainly not faces, and where they rank among the rejects does not matter."""
        return float(self.card.get("views_floor", 0.0))

    def outputs(self, pixels: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """The net on each box's crop (x, y, w, h in the pixels' coordinates): N×outputs, column 0 P(a face)
        and, with a box head, the face box's offsets (refine.py); averaged over the card's views."""
        import torch

        from f2a_studio.detect.verifiers.train import crop_zoom

        if self.net is None:
            raise RuntimeError("the verifier is not loaded; call load() first")
        size, zoom = self.net.cfg.size, crop_zoom(self.net.cfg.span)
        out = []
        with torch.inference_mode():
            for i in range(0, len(boxes), CHUNK):
                chunk = boxes[i:i + CHUNK]
                y = self._judged(pixels, chunk, size, zoom)
                views = self.views
                keep = np.flatnonzero(y[:, 0].numpy() >= self.views_floor) if views else ()
                if len(keep):
                    sub = [chunk[j] for j in keep]
                    extra = sum(self._judged(pixels, sub, size, zoom * z, (dx, dy))[:, 0] for z, dx, dy in views)
                    rows = torch.from_numpy(keep)
                    y[rows, 0] = (y[rows, 0] + extra) / (1 + len(views))
                out.append(y.numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros((0, self.net.cfg.outputs))

    def _judged(self, pixels: np.ndarray, boxes: Sequence[Sequence[float]], size: int, zoom: float,
                shift: tuple[float, float] = (0.0, 0.0)):
        """The net's answer on the boxes' crops at ``zoom`` and ``shift``, P through the sigmoid; with
        "mirror" the mirrored crops' answer (x offset mirrored back) averaged in."""
        import torch

        from f2a_studio.detect.cropnet import to_tensor

        x = to_tensor([box_crop(pixels, box_matrix(b[:4], size, shift, zoom), size) for b in boxes])
        y = self.net(x)
        y[:, 0] = torch.sigmoid(y[:, 0])
        if self.mirrors:
            m = self.net(torch.flip(x, dims=[3]))
            m[:, 0] = torch.sigmoid(m[:, 0])
            if m.shape[1] > 1:
                m[:, 1] = -m[:, 1]
            y = (y + m) / 2
        return y

    def p_face(self, pixels: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """P(a face) per box, from the box's own crop (no refinement)."""
        return self.outputs(pixels, boxes)[:, 0]

    def verify(self, pixels: np.ndarray, boxes: Sequence[Sequence[float]]) -> Verified:
        """Each box judged from its crop and, when the verifier ``refines``, moved onto the face that crop
        shows; when it ``rejudges``, the moved box is judged again from its own crop (the face now centred
        and filling it). That second pass costs up to twice the verifier's time and, from the pretrained
        start (verifiers/pretrain.py), ranks real faces better: devset recall at precision 0.85, mean of
        3 seeds × 2 folds, 0.501 against 0.476 with the given box's P (with random weights it was the
        reverse, 0.417 vs 0.431; benchmarks/results/verifier_devset_pretrained_init_2026-12-04.json).
        Boxes that hardly moved (IoU ≥ SAME_BOX with the given one) keep their first P."""
        from f2a_studio.detect.verifiers.refine import applied

        out = self.outputs(pixels, boxes)
        given = np.asarray([b[:4] for b in boxes], np.float64).reshape(-1, 4)
        p_given = out[:, 0]
        if not self.refines or not len(given):
            return Verified(p_given, given, p_given)
        moved = applied(given, out[:, 1:], self.net.cfg.span)
        if not self.rejudges:
            return Verified(p_given, moved, p_given)
        p = p_given.copy()
        again = np.flatnonzero(rowwise_iou(given, moved) < SAME_BOX)
        if len(again):
            p[again] = self.p_face(pixels, moved[again])
        if self.keeps_better:
            back = p < p_given
            moved[back], p[back] = given[back], p_given[back]
        return Verified(p, moved, p_given)

    def combine(self, p_face: float, score: float) -> float:
        """``combined`` with this verifier's weight."""
        return combined(p_face, score, self.p_weight)

    def rescore(self, p_face: float, score: float) -> float:
        """The candidate's new calibrated score (see the module docstring). A piecewise map is flat beyond
        its end knots, which would give every candidate above the last one the same score (NMS and the
        slider could no longer tell them apart); a tiny slope keeps their order."""
        c = self.combine(p_face, score)
        if self.calibration is None:
            return c
        tie_break = TIE_BREAK * c if self.calibration.kind == "piecewise" else 0.0
        return min(1.0, self.calibration(c) + tie_break)

