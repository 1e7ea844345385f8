"""Training the sex classifier: on labelled aligned crops, from synthetic faces (the shipped default) or
from a project's faces whose sex a person set (``f2a train-sex``).

A fixed part of the labelled faces (a hash of cut and face id below HELD_BACK) is never trained on; the
card's metrics are measured there, for the starting model and the trained one.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.align import AlignmentError
from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Domain, Sex
from f2a_studio.core.provenance import human_faces
from f2a_studio.detect.cropnet import aligned_crop, held_back_key, photometric, save_model
from f2a_studio.detect.sex.backends import STEM
from f2a_studio.detect.sex.net import SexNet, SexNetConfig
from f2a_studio.detect.small_train import Schedule, TrainResult, resume_path, train_resumable, train_steps

MIN_FACES = 20  # fewer labelled faces (both sexes) and a trained model would only be noise
MIN_PER_SEX = 3
HELD_BACK = 0.2

Progress = Callable[[int, int, str], None]


class NotEnoughLabels(F2AError):
    """Too few faces whose sex a person set; the message says what is needed."""


@dataclass(frozen=True)
class SexData:
    crops: np.ndarray  # N×S×S×3 uint8 aligned crops
    female: np.ndarray  # N float 0/1

    def __len__(self) -> int:
        return len(self.crops)


@dataclass(frozen=True)
class SexTrainConfig:
    steps: int = 600
    batch: int = 32
    lr: float = 3e-3
    seed: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def data_key(data: SexData) -> str:
    """A digest of the training crops and labels: a resume file continues only the run it was written by."""
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(data.crops).tobytes())
    h.update(np.asarray(data.female, np.float64).tobytes())
    return h.hexdigest()[:16]


def train_sex(net: SexNet, data: SexData, cfg: SexTrainConfig, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None, resume: Path | None = None) -> TrainResult:
    """Train in place (detect.small_train: with ``resume``, an interrupted run continues exactly)."""
    import json

    import torch
    import torch.nn.functional as F

    from f2a_studio.detect.cropnet import to_tensor

    if len(data) == 0:
        raise ValueError("no training faces")
    torch.manual_seed(cfg.seed)

    def batches(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        idx = rng.integers(0, len(data), cfg.batch)
        crops = photometric(data.crops[idx], rng)
        flip = rng.random(cfg.batch) < 0.5
        crops[flip] = crops[flip][:, :, ::-1]
        return to_tensor(list(crops)), torch.from_numpy(data.female[idx].astype(np.float32))

    def loss_fn(n, batch):
        x, y = batch
        return F.binary_cross_entropy_with_logits(n(x), y)

    run = f"sex:{json.dumps(net.cfg.to_json(), sort_keys=True)}:{cfg.seed}:{cfg.batch}:{data_key(data)}"
    return train_steps(net, batches, loss_fn, Schedule(cfg.steps, cfg.lr), resume=resume, run=run,
                       progress=progress, should_stop=should_stop)


def predict_p(net: SexNet, crops: np.ndarray, chunk: int = 256) -> np.ndarray:
    import torch

    from f2a_studio.detect.cropnet import to_tensor

    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), chunk):
            out.append(torch.sigmoid(net(to_tensor(list(crops[i:i + chunk])))).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def metrics(net: SexNet, data: SexData) -> dict:
    if len(data) == 0:
        return {}
    p = predict_p(net, data.crops)
    y = data.female > 0.5
    acc = float(np.mean((p >= 0.5) == y))
    eps = 1e-6
    nll = float(-np.mean(np.where(y, np.log(p + eps), np.log(1 - p + eps))))
    return {"faces": len(data), "accuracy": round(acc, 4), "log_loss": round(nll, 4),
            "female": int(y.sum()), "male": int((~y).sum())}


def card_for(net: SexNet, cfg: SexTrainConfig, data: dict, metrics_: dict, seconds: float, command: str) -> dict:
    return {
        "kind": "sex classifier",
        "net": net.cfg.to_json(),
        "train": cfg.to_json() | {"seconds": round(seconds, 1), "command": command,
                                  "python": platform.python_version()},
        "data": data,
        "metrics": metrics_,
        "output": "p(female) of an aligned face crop (core.align, the face's landmarks)",
    }


# -- a project's labels ------------------------------------------------------------------------------------


def project_data(store) -> tuple[SexData, SexData, dict]:  # store: core.store.ProjectStore
    """(train, held back, counts) from faces whose sex a person set (core.provenance.human_faces); the
    crop is aligned by the face's landmarks, whoever placed them (they are the input, not the label).
    Anime faces only: the classifier is for characters; a labelled photo would teach it photos."""
    labelled = [h for h in human_faces(store, Domain.ANIME) if h.sex in (Sex.FEMALE, Sex.MALE)]
    by_image: dict[int, list] = {}
    for h in labelled:
        by_image.setdefault(h.image_id, []).append(h)
    cfg = SexNetConfig()
    train_c, train_y, held_c, held_y = [], [], [], []
    skipped = 0
    for image_id, hs in sorted(by_image.items()):
        record = store.image(image_id)
        pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
        faces = {f.id: f for f in store.faces(image_id)}
        for h in hs:
            face = faces.get(h.face_id)
            try:
                crop = aligned_crop(pixels, face.landmarks, cfg.size, cfg.margin) if face else None
            except AlignmentError:
                crop = None
            if crop is None:
                skipped += 1
                continue
            y = 1.0 if h.sex is Sex.FEMALE else 0.0
            if held_back_key(f"{record.hash}:{h.face_id}") < HELD_BACK:
                held_c.append(crop)
                held_y.append(y)
            else:
                train_c.append(crop)
                train_y.append(y)

    def data(c, y) -> SexData:
        return SexData(np.stack(c) if c else np.zeros((0, cfg.size, cfg.size, 3), np.uint8), np.array(y))

    counts = {"labelled_faces": len(labelled), "without_landmarks": skipped, "train_faces": len(train_c),
              "held_back_faces": len(held_c)}
    return data(train_c, train_y), data(held_c, held_y), counts


def check_enough(train: SexData, held: SexData, counts: dict, min_faces: int = MIN_FACES) -> None:
    n = len(train) + len(held)
    y = np.concatenate([train.female, held.female]) if n else np.zeros(0)
    n_f, n_m = int((y > 0.5).sum()), int((y <= 0.5).sum())
    if n < min_faces or n_f < MIN_PER_SEX or n_m < MIN_PER_SEX:
        raise NotEnoughLabels(
            f"the sex classifier learns from faces whose sex a person set: this project has {n} "
            f"({n_f} female, {n_m} male; {counts.get('without_landmarks', 0)} more without landmarks). "
            f"Label at least {min_faces} faces, {MIN_PER_SEX} or more of each sex (studio: F / M on a face, "
            "or the inspector's sex buttons), then run f2a train-sex again. Until then the shipped default "
            "classifier predicts sex."
        )


def start_net(search_path: Sequence[Path]) -> tuple[SexNet, str]:
    """The first loadable learned model on the search path (fine-tuned further), else a new network."""
    from f2a_studio.detect.sex import choose_sex_backend

    chosen = choose_sex_backend(search_path)
    if chosen.backend.name == "learned":
        return chosen.backend.net, str(chosen.backend.folder)
    return SexNet(SexNetConfig()), "new network"


def train_project(store, *, steps: int | None = None, min_faces: int = MIN_FACES, base: Sequence[Path] | None = None,
                  progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """Train on the project's labels and write PROJECT/checkpoints/sex-learned.*; returns the card."""
    from f2a_studio.core.search_path import model_search_path

    train, held, counts = project_data(store)
    check_enough(train, held, counts, min_faces)
    if len(held) == 0:  # tiny projects: measure on the training faces rather than on nothing
        held = train
        counts["held_back_faces"] = 0
    # the start model comes from beyond the project (its own earlier model would compound its mistakes)
    path = list(base) if base is not None else model_search_path()
    net, started = start_net([p for p in path if Path(p) != store.checkpoints_dir])
    before = metrics(net, held)
    cfg = SexTrainConfig(steps=steps or int(np.clip(200 + len(train) // 2, 200, 800)), lr=1e-3)
    t0 = time.monotonic()
    notes: list[str] = []
    result = train_resumable(net, lambda r: train_sex(net, train, cfg, progress, should_stop, r),
                             resume_path(store.checkpoints_dir, STEM), notes, "f2a train-sex")
    after = metrics(net, held)
    card = card_for(net, cfg, counts | {"started_from": started}, {"held_back_before": before,
                    "held_back_after": after}, time.monotonic() - t0, "f2a train-sex")
    card["train"]["resumed_from"] = result.resumed_from
    weights = save_model(store.checkpoints_dir, STEM, net.state_dict(), card)
    return card | {"files": [str(weights)], "notes": notes}


def predict_project(store, search_path: Sequence[Path] | None = None, progress: Progress | None = None) -> dict:
    """Predict the sex of every face whose sex no person set, with the first sex backend on the project's
    search path, written with actor "model" (a prediction: it never becomes a human field); returns counts
    and the notes of any model file that could not be loaded. Anime images only, as in detection: the
    classifier knows characters, and its guess on a photo would be noise shown as a prediction."""
    from dataclasses import replace

    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.sex import apply_prediction, choose_sex_backend

    path = list(search_path) if search_path is not None else model_search_path(store.root)
    chosen = choose_sex_backend(path)
    images = store.images(domain=Domain.ANIME)
    changed = kept = 0
    for i, record in enumerate(images):
        faces = [f for f in store.faces(record.id) if "sex" not in f.human_fields]
        if faces:
            pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
            for face, pred in zip(faces, chosen.backend.predict_many(pixels, faces), strict=True):
                new = apply_prediction(face, pred)
                if (new.sex, new.sex_prob) != (face.sex, face.sex_prob):
                    store.update_face(replace(new), actor="model")
                    changed += 1
        kept += sum(1 for f in store.faces(record.id) if "sex" in f.human_fields)
        if progress is not None:
            progress(i + 1, len(images), record.name)
    return {"backend": chosen.backend.name, "predicted": changed, "kept_human": kept, "notes": chosen.notes}
