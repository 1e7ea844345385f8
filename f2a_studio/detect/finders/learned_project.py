"""Fine-tune the learned finder on one project's corrections (``f2a train-finder``).

What a person decided is the only truth used:
* a *reviewed* cut has at least one face a person decided on (accepted, rejected or drawn) and no face
  still waiting for review; only reviewed cuts are used, since elsewhere an unboxed face may be a miss;
* faces: accepted ones and hand-drawn ones a person did not reject; negatives: rejected detections
  (weighted 3x in the loss), the starting model's own confident false alarms on the training cuts (hard
  negatives, weighted as rejected ones; detect/finders/hard_negatives.py) and every unboxed area of a
  reviewed cut;
* a fixed part of the reviewed cuts (those whose content hash falls in the lowest 20%: the same cut
  stays held back however often one retrains) is never trained on; the metrics are measured there,
  before and after fine-tuning.
The checkpoint goes to PROJECT/checkpoints/ (with ``--title``: checkpoints/titles/<title>/), the first
folder of the model search path; an interrupted run resumes from the resume file beside it.
Then the crop verifier is trained on the same cuts with the new finder's proposals (detect/verifiers/
project.py) and written beside it; the finder's card says what became of it ("verifier"). Stopped
during the verifier, a second call finds the finder written by the same run (its card's run key) and
trains the verifier only.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Domain, Face, FaceSource, FaceStatus, ImageRecord
from f2a_studio.core.search_path import model_search_path
from f2a_studio.core.store import ProjectStore

MIN_FACES = 20  # fewer and the fine-tuned finder does not beat the pretrained one (finder_bench, 25 faces)
HELD_BACK = 0.2
RESUME_NAME = "finder-learned.resume.pt"
# How a project's own finder reads pages: each tile and its mirror, heatmaps averaged (learned.mirrored_outputs).
# Real devset, recall at precision 0.85 behind the verifier, 5 seeds x 2 folds: 0.577 vs 0.546 (better on 8
# runs, worse on 2) for 1.5x a finder that costs ~0.01 s/MP (devset/README.md). The held-back calibration,
# the verifier's proposals and the card are all made with it.
TUNED_INFERENCE = {"mirror": True}

Progress = Callable[[int, int, str], None]


class NotEnoughFaces(F2AError):
    """The project has too few faces a person confirmed to fine-tune on."""


@dataclass(frozen=True)
class ReviewedCut:
    image: ImageRecord
    faces: tuple[tuple[float, float, float, float], ...]
    rejected: tuple[tuple[float, float, float, float], ...]


def is_positive(face: Face) -> bool:
    return face.status is FaceStatus.ACCEPTED or (
        face.source is FaceSource.HUMAN and face.status is not FaceStatus.REJECTED
    )


def reviewed_cuts(store: ProjectStore, title: str | None = None) -> list[ReviewedCut]:
    out = []
    for image in store.images(title_id=title, domain=Domain.ANIME):  # an anime finder: photos never train it
        faces = store.faces(image.id)
        pending = [f for f in faces if f.status is FaceStatus.UNREVIEWED and f.source is not FaceSource.HUMAN]
        pos = [f for f in faces if is_positive(f)]
        rej = [f for f in faces if f.status is FaceStatus.REJECTED]
        if pending or not (pos or rej):
            continue
        out.append(
            ReviewedCut(
                image,
                tuple((f.box.x, f.box.y, f.box.w, f.box.h) for f in pos),
                tuple((f.box.x, f.box.y, f.box.w, f.box.h) for f in rej),
            )
        )
    return out


def held_back_key(cut: ReviewedCut) -> float:
    """A number in [0, 1) fixed by the cut's content: the split never moves a cut between the parts."""
    return int(hashlib.sha256(("finder-split:" + cut.image.hash).encode()).hexdigest()[:12], 16) / 16**12


def split_cuts(cuts: Sequence[ReviewedCut]) -> tuple[list[ReviewedCut], list[ReviewedCut]]:
    """(train, held back). At least one cut with a face is held back when there are two or more."""
    held = [c for c in cuts if held_back_key(c) < HELD_BACK]
    if not any(c.faces for c in held):
        with_faces = sorted((c for c in cuts if c.faces), key=held_back_key)
        if len(with_faces) >= 2:
            held.append(with_faces[0])
    ids = {c.image.id for c in held}
    return [c for c in cuts if c.image.id not in ids], held


@dataclass(frozen=True)
class FinetuneOptions:
    title: str | None = None
    steps: int | None = None  # default: grows with the number of faces (see default_steps)
    min_faces: int = MIN_FACES
    seed: int = 0
    batch: int = 8
    crop: int = 256
    lr: float = 1e-3
    base: Sequence[Path] | None = None  # where the pretrained finder is looked for (default search path)
    net: object | None = None  # a NetConfig to start from scratch when no pretrained finder is found
    hard_negatives: bool = True  # train on the starting model's confident false alarms as negatives
    verifier: bool = True  # then train the crop verifier on the same cuts (detect/verifiers/project.py)
    verifier_steps: int | None = None  # default: `steps` when given, else the verifier's own default


def default_steps(n_faces: int) -> int:
    return int(np.clip(250 + 3 * n_faces, 300, 900))


def output_dir(store: ProjectStore, title: str | None) -> Path:
    from f2a_studio.core.search_path import title_models_dir

    return title_models_dir(store.root, title) if title else store.checkpoints_dir


def held_back_calibration(scored) -> tuple[dict | None, str]:
    """The raw peak → "is a face" map fitted on the held-back cuts' proposals (each matched or not to a face
    a person confirmed), so the studio's one threshold means the same for this finder as for animeface.
    Without enough held-back proposals of each kind: no map (raw peaks, which run high on real pages) and
    a note saying why; `f2a calibrate` fits one from review decisions later."""
    from f2a_studio.detect.finders.score_fit import isotonic_fit

    if scored is None or not len(scored.scores):
        return None, "no held-back proposals to fit a score calibration on"
    try:
        fit = isotonic_fit(scored.scores, scored.true, source="held-back cuts")
    except F2AError as exc:
        return None, str(exc)
    return {**fit.to_json(), "fitted_on": "held-back cuts (IoU 0.3)"}, ""


def _load_cut(store: ProjectStore, cut: ReviewedCut) -> np.ndarray:
    return load_image(store.cut_file(cut.image)).pixels[:, :, :3]


def finetune_project(
    store: ProjectStore,
    options: FinetuneOptions = FinetuneOptions(),
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Fine-tune and write the checkpoint; returns the card written (with its metrics)."""
    import torch

    from f2a_studio.detect.finders.hard_negatives import with_hard_negatives
    from f2a_studio.detect.finders.learned import LearnedFinder
    from f2a_studio.detect.finders.learned_io import (
        InferenceConfig,
        find_model,
        load_state,
        model_paths,
        read_card,
        save_model,
    )
    from f2a_studio.detect.finders.learned_net import FaceNet, NetConfig
    from f2a_studio.detect.finders.learned_train import TrainConfig, score_predictions, to_network_scale, train

    cuts = reviewed_cuts(store, options.title)
    train_cuts, held = split_cuts(cuts)
    n_train = sum(len(c.faces) for c in train_cuts)
    n_all = sum(len(c.faces) for c in cuts)
    if n_train < options.min_faces:
        where = f" of title {options.title}" if options.title else ""
        raise NotEnoughFaces(
            f"{store.root}: {n_all} accepted or hand-drawn faces on fully reviewed cuts{where}, {n_train} of them "
            f"for training after holding back {len(held)} cut(s) for the metrics; train-finder needs at least "
            f"{options.min_faces} for training: review or draw about {options.min_faces - n_train + 1} more "
            "(a cut counts once none of its faces is left unreviewed)"
        )
    base_dir = find_model(options.base if options.base is not None else model_search_path())
    start = LearnedFinder(search_path=[])
    if base_dir is not None:
        start.load_from(base_dir)
        net = start.net
        base_card = read_card(base_dir)
        inf = start.inference
    else:
        net = FaceNet(options.net if isinstance(options.net, NetConfig) else NetConfig())
        base_card = {}
        inf = InferenceConfig()
    assert net is not None
    samples = [
        to_network_scale(_load_cut(store, c), np.array(c.faces), np.array(c.rejected), inf) for c in train_cuts
    ]
    held_px = [(_load_cut(store, c), c.faces) for c in held]
    mined = 0
    if options.hard_negatives:
        samples, mined = with_hard_negatives(LearnedFinder.from_network(net, inf), samples)

    def held_back_scores(finder: LearnedFinder):
        return score_predictions([(finder.find_boxes(px, threshold=0.05), faces) for px, faces in held_px])

    def evaluate(scored) -> dict:
        return scored.at(0.3) | {"threshold_p85": scored.threshold_for_precision(0.85)}

    before = evaluate(held_back_scores(LearnedFinder.from_network(net, inf))) if held_px else None
    steps = options.steps or default_steps(n_train)
    cfg = TrainConfig(
        steps=steps, batch=options.batch, crop=options.crop, lr=options.lr, seed=options.seed, save_every=25
    )
    out = output_dir(store, options.title)
    out.mkdir(parents=True, exist_ok=True)
    mined_key = [np.round(s.rejected, 2).tolist() for s in samples]  # the mined boxes are part of the data
    run = hashlib.sha256(
        repr((sorted((c.image.hash, c.faces, c.rejected) for c in train_cuts), cfg, str(base_dir),
              mined_key)).encode()
    ).hexdigest()[:16]
    torch.manual_seed(options.seed)
    t0 = time.monotonic()
    if _trained_by_this_run(out, run):  # an earlier call finished the finder and stopped in the verifier
        net.load_state_dict(load_state(out), strict=True)
        resumed_from = "finished before"
    else:
        result = train(net, samples, cfg, resume=out / RESUME_NAME, progress=progress, should_stop=should_stop,
                       run=run)
        if result.steps_done < cfg.steps:
            return {"interrupted": True, "steps_done": result.steps_done, "steps": cfg.steps}
        resumed_from = result.resumed_from
    inf = replace(inf, **TUNED_INFERENCE)
    scored_after = held_back_scores(LearnedFinder.from_network(net, inf)) if held_px else None
    after = evaluate(scored_after) if scored_after is not None else None
    calibration, calibration_note = held_back_calibration(scored_after)
    card = {
        "name": "learned",
        "net": net.cfg.to_json(),
        "license": "Apache-2.0",
        "intended_use": f"face proposals for project {store.root.name}"
        + (f", title {options.title}" if options.title else ""),
        "base_model": (
            {"folder": str(base_dir), "weights_sha256": base_card.get("weights_sha256")} if base_dir else None
        ),
        "data": {
            "reviewed_cuts": len(cuts),
            "train_cuts": len(train_cuts),
            "train_faces": n_train,
            "train_rejected": sum(len(c.rejected) for c in train_cuts),
            "train_hard_negatives": mined,
            "held_back_cuts": [c.image.name for c in held],
            "held_back_faces": sum(len(c.faces) for c in held),
            "title": options.title,
        },
        "train": cfg.to_json() | {"seconds": round(time.monotonic() - t0, 1), "resumed_from": resumed_from,
                                  "run": run},
        "metrics_iou_0.3": {"held_back_before": before, "held_back_after": after},
        "on_by_default": True,  # the project's own model: f2a detect and the studio use it beside animeface
    }
    if calibration is not None:
        card["calibration"] = calibration
    else:
        card["calibration_note"] = calibration_note
    save_model(out, net.state_dict(), card, inf)
    verifier = _train_verifier(store, train_cuts, held, LearnedFinder.from_network(net, inf), out, options,
                               progress, should_stop)
    if verifier.get("interrupted"):  # the finder is written; running again trains the verifier only
        return {"interrupted": True, "stage": "verifier", "steps_done": verifier["steps_done"],
                "steps": verifier["steps"]}
    card = _with_verifier(out, verifier)
    card["files"] = [str(p) for p in model_paths(out)]
    return card


def _trained_by_this_run(out: Path, run: str) -> bool:
    """Whether the finder in ``out`` was written by a run of these very data and settings (its card's
    run key, and weights that are the ones the card names)."""
    from f2a_studio.detect.finders.learned_io import FinderModelError, model_paths, read_card, sha256_file

    weights, card_path = model_paths(out)
    if not (weights.is_file() and card_path.is_file()):
        return False
    try:
        card = read_card(out)
    except FinderModelError:
        return False
    return card.get("train", {}).get("run") == run and card.get("weights_sha256") == sha256_file(weights)


def _train_verifier(store, train_cuts, held, finder, out: Path, options: FinetuneOptions,
                    progress: Progress | None, should_stop: Callable[[], bool] | None) -> dict:
    from f2a_studio.detect.finders.learned_io import read_card
    from f2a_studio.detect.verifiers.project import VerifierOptions, train_project_verifier

    # the analysis' models with the new finder first: the held-back candidates are scored as detection will
    search_path = list(dict.fromkeys([out, *model_search_path(store.root)]))
    steps = options.verifier_steps or options.steps
    stage = (lambda done, total, text: progress(done, total, f"verifier {text}")) if progress else None
    return train_project_verifier(store, train_cuts, held, finder, search_path, read_card(out)["weights_sha256"],
                                  out, VerifierOptions(options.verifier, steps, options.seed), stage, should_stop)


def _with_verifier(out: Path, verifier: dict) -> dict:
    """The finder's card with what became of the verifier, rewritten in place (the weights are unchanged)."""
    import json

    from f2a_studio.core.files import write_bytes_atomic
    from f2a_studio.detect.finders.learned_io import model_paths, read_card

    card = read_card(out) | {"verifier": verifier}
    write_bytes_atomic(model_paths(out)[1], (json.dumps(card, indent=1) + "\n").encode("utf-8"))
    return card
