"""Hard negatives: the finder's own confident false alarms on reviewed cuts, trained on as "no face".

On a reviewed cut every face is boxed (accepted or drawn by a person), so a confident proposal that
touches no face box is a false alarm a person would have rejected: speech balloons, text, hands, hair.
Before fine-tuning, the starting model is run over each training cut and those proposals are added to
the cut's rejected boxes, which the loss already weights as heavy negatives (learned_net.encode_targets).
Mining once from the starting model keeps a run deterministic, so a resumed run sees the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from f2a_studio.detect.finders.learned_train import Sample


@dataclass(frozen=True)
class HardNegativeConfig:
    min_score: float = 0.3  # raw peak at least this: a proposal the studio's default threshold would show
    max_per_cut: int = 30  # the most confident ones only, so one cluttered page does not swamp the rest

    def __post_init__(self) -> None:
        if not 0.0 < self.min_score <= 1.0:
            raise ValueError(f"hard negatives: min_score must be in (0, 1], not {self.min_score}")
        if self.max_per_cut < 1:
            raise ValueError(f"hard negatives: max_per_cut must be at least 1, not {self.max_per_cut}")


def touches_any(box: Sequence[float], others: np.ndarray) -> bool:
    """Whether ``box`` (xywh) overlaps any of ``others`` (N×4 xywh) by any area at all."""
    if not len(others):
        return False
    o = np.asarray(others, np.float64).reshape(-1, 4)
    ix = np.minimum(box[0] + box[2], o[:, 0] + o[:, 2]) - np.maximum(box[0], o[:, 0])
    iy = np.minimum(box[1] + box[3], o[:, 1] + o[:, 3]) - np.maximum(box[1], o[:, 1])
    return bool(np.any((ix > 0) & (iy > 0)))


def mine(finder, sample: Sample, cfg: HardNegativeConfig = HardNegativeConfig()) -> np.ndarray:
    """Confident proposals of ``finder`` (a loaded LearnedFinder) on ``sample`` that overlap none of its
    face, ignored or already rejected boxes: M×4 xywh in the sample's pixels, best first."""
    known = np.vstack([sample.boxes.reshape(-1, 4), sample.ignore.reshape(-1, 4), sample.rejected.reshape(-1, 4)])
    out: list[tuple[float, float, float, float]] = []
    for x, y, w, h, _score in finder.find_boxes(sample.image, threshold=cfg.min_score):
        if not touches_any((x, y, w, h), known):
            out.append((x, y, w, h))
        if len(out) >= cfg.max_per_cut:
            break
    return np.array(out, np.float64).reshape(-1, 4)


def with_hard_negatives(
    finder, samples: Sequence[Sample], cfg: HardNegativeConfig = HardNegativeConfig()
) -> tuple[list[Sample], int]:
    """``samples`` with each one's mined false alarms added to its rejected boxes, and how many in all."""
    out, total = [], 0
    for s in samples:
        mined = mine(finder, s, cfg)
        total += len(mined)
        out.append(replace(s, rejected=np.vstack([s.rejected.reshape(-1, 4), mined])) if len(mined) else s)
    return out, total
