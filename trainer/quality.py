"""Quality figures on the validation pairs that need no download: validation L1, and for keypoints → face
the landmark error of a landmark detector run on the generated faces against the keypoints the generator
was given (NME: mean point error over the eye-centre distance, as the landmark benchmarks measure it).

One NME alone says little (is 0.12 good?), so it comes with two bounds measured the same way:
  floor   — the detector on the REAL faces (B) of the same pairs against their keypoints: the detector's own
            error; a generator cannot be judged finer than this.
  ceiling — the generated faces against the keypoints of OTHER pairs (a seeded derangement): what a
            generator that ignored its input keypoints, drawing a plausible average face, would score.
A generator that follows its keypoints sits near the floor; one that ignores them near the ceiling.

The keypoints come from the export's landmarks.json (core.export_landmarks); the detector is a callable
(`Landmarker`), by default the studio's landmark backend registry (trainer/landmarker.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from f2a_studio.core.export_landmarks import ExportedFace
from trainer.logs import to_uint8

# (RGB uint8 image, face box x y w h in its pixels, P(female)) → (68, 2) points in its pixels
Landmarker = Callable[[np.ndarray, tuple[float, float, float, float], float], np.ndarray]
SHUFFLE_SEED = 13  # the ceiling's derangement: fixed, so the figure is the same run to run


def nme(points: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance over the labelled truth points (v > 0), over the truth's eye-centre distance."""
    t = np.asarray(truth, np.float64)
    labelled = t[:, 2] > 0 if t.shape[1] > 2 else np.ones(len(t), bool)
    iod = float(np.linalg.norm(t[36:42, :2].mean(0) - t[42:48, :2].mean(0)))
    if iod <= 0 or not labelled.any():
        raise ValueError("keypoints with no eye distance or no labelled point cannot normalise an NME")
    err = np.linalg.norm(np.asarray(points, np.float64)[:, :2] - t[:, :2], axis=1)
    return float(err[labelled].mean() / iod)


def derangement(n: int, seed: int = SHUFFLE_SEED) -> np.ndarray:
    """A seeded permutation with no fixed point (every face compared with another face's keypoints)."""
    if n < 2:
        raise ValueError(f"the shuffled-keypoints ceiling needs at least 2 faces, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.roll(order, -1)  # a single cycle through a random order
    return out


@dataclass(frozen=True)
class LandmarkFigure:
    model: float  # generated faces vs their own input keypoints
    floor: float  # real faces (B) vs their keypoints: the detector's own error
    ceiling: float  # generated faces vs shuffled keypoints of other pairs
    faces: int
    detector: str

    def to_metrics(self) -> dict[str, float | int | str]:
        return {"val_landmark_NME": self.model, "val_landmark_NME_floor": self.floor,
                "val_landmark_NME_ceiling": self.ceiling, "val_landmark_faces": self.faces,
                "val_landmark_detector": self.detector}

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Evaluation:
    val_l1: float
    pairs: int
    landmarks: LandmarkFigure | None
    note: str | None = None  # why there is no landmark figure

    def to_metrics(self) -> dict[str, float | int | str | None]:
        out: dict[str, float | int | str | None] = {"val_L1": self.val_l1}
        if self.landmarks is not None:
            out.update(self.landmarks.to_metrics())
        elif self.note:
            out["val_landmark_note"] = self.note
        return out


def _outputs(net: Callable[[torch.Tensor], torch.Tensor], dataset, direction: str,
             place: Callable[[torch.Tensor], torch.Tensor], autocast: Callable[[], AbstractContextManager],
             batch_size: int) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """(indices, generated, target) per batch of the validation set, in [-1, 1] on the CPU."""
    for start in range(0, len(dataset), batch_size):
        indices = list(range(start, min(start + batch_size, len(dataset))))
        items = [dataset[(0, i)] for i in indices]
        a = torch.stack([it["A" if direction == "AtoB" else "B"] for it in items])
        b = torch.stack([it["B" if direction == "AtoB" else "A"] for it in items])
        with autocast():
            out = net(place(a)).float().cpu()
        yield indices, out, b


def _scaled(face: ExportedFace, scale: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    pts = face.landmarks.copy()
    pts[:, :2] *= scale
    if face.box is not None:
        box = tuple(float(v) * scale for v in face.box)
    else:  # no finder box (a photo): the keypoints' own bounds, which the detector then partly sees
        lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
        box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
    return pts, box  # type: ignore[return-value]


def landmark_faces(layout, faces: dict[str, ExportedFace]) -> list[ExportedFace]:
    """The landmarks.json record of each validation file, in dataset order; a missing one is an error."""
    out = []
    for path in layout.a:
        rel = Path(path).relative_to(layout.folder).as_posix()
        if rel not in faces:
            raise ValueError(f"{layout.folder}/landmarks.json has no keypoints for {rel}: export again")
        out.append(faces[rel])
    return out


@torch.no_grad()
def evaluate(net: Callable[[torch.Tensor], torch.Tensor], dataset, *, direction: str = "AtoB",
             place: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
             autocast: Callable[[], AbstractContextManager] = nullcontext,
             faces: list[ExportedFace] | None = None, landmarker: Landmarker | None = None,
             detector: str = "", note: str | None = None, batch_size: int = 4) -> Evaluation:
    """Validation L1 of `net` (the inference form of a generator) over `dataset` (no augmentation), and the
    landmark figure when `faces` (in dataset order) and a `landmarker` are given and the direction is
    keypoints → face."""
    want_landmarks = faces is not None and landmarker is not None and direction == "AtoB"
    if faces is not None and direction != "AtoB":
        note = note or "the landmark figure is for keypoints → face (direction AtoB)"
    total, count = 0.0, 0
    generated: list[np.ndarray] = []
    real: list[np.ndarray] = []
    for _, out, target in _outputs(net, dataset, direction, place, autocast, batch_size):
        total += (out - target).abs().mean(dim=(1, 2, 3)).sum().item()
        count += out.shape[0]
        if want_landmarks:
            generated.extend(to_uint8(o) for o in out)
            real.extend(to_uint8(t) for t in target)
    val_l1 = total / max(count, 1)
    if not want_landmarks:
        return Evaluation(val_l1, count, None, note)
    assert faces is not None and landmarker is not None
    if len(faces) != count:
        raise ValueError(f"{len(faces)} keypoint records for {count} validation pairs")
    if count < 2:
        return Evaluation(val_l1, count, None, "the landmark figure needs at least 2 validation pairs")
    model_err, floor_err, ceil_err = [], [], []
    shuffled = derangement(count)
    truths = []
    predictions = []
    for i, face in enumerate(faces):
        side = generated[i].shape[0]
        # landmarks.json is in export pixels; the nets see the pair resized to the crop size
        truth, box = _scaled(face, side / _export_side(dataset, i))
        truths.append(truth)
        predictions.append(np.asarray(landmarker(generated[i], box, face.p_female), np.float64))
        floor_err.append(nme(landmarker(real[i], box, face.p_female), truth))
    for i in range(count):
        model_err.append(nme(predictions[i], truths[i]))
        ceil_err.append(nme(predictions[i], truths[shuffled[i]]))
    figure = LandmarkFigure(float(np.mean(model_err)), float(np.mean(floor_err)), float(np.mean(ceil_err)),
                            count, detector)
    if not all(math.isfinite(v) for v in (figure.model, figure.floor, figure.ceiling)):
        raise ValueError(f"the landmark detector {detector!r} gave non-finite points")
    return Evaluation(val_l1, count, figure, None)


def _export_side(dataset, index: int) -> int:
    """The side of pair `index`'s halves as exported (the frame of its landmarks.json record)."""
    from PIL import Image

    with Image.open(dataset.layout.a[index]) as im:
        return im.height
