"""`f2a detect` adapts the landmark model to the project by itself, so landmarks follow a new title's
faces before anyone corrects one.

Why: the shipped model, trained on synthetic faces, places real faces' points at 0.75× the error of the
mean face dropped into the box; adapted to a project's own faces without any label (landmarks.adapt: two
views of a face must give the same points) it reaches 0.53× (devset/README.md, landmarks_devset). That
costs 300 training steps (30–130 s on 2 cores, by machine) once per doubling of the project's faces, against
minutes of dragging points per face.

When (``adaptation_due``): the project has at least MIN_ADAPT_FACES faces to adapt to
(learned_train.adaptable_faces: a person's faces and likely detections) and either no landmark model of
its own yet, or one that adapted to at most half as many faces as it has now (a project that doubled is
adapted again). A model trained with ``f2a train-landmarks --no-adapt`` is the person's choice and is
left alone, as is one whose card cannot be read. The run (``adapt_after_detect``) is train_project
itself, so corrections a person made are learned too; then the unreviewed faces' landmarks are
re-predicted with the new model (never a field a person set: detect.repredict) and the review queue's
landmark disagreement is measured afresh. Plain Python, no Qt; torch loads only when it runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.cropnet import model_paths
from f2a_studio.detect.landmarks.learned import STEM
from f2a_studio.detect.landmarks.learned_train import MIN_ADAPT_FACES, adaptable_faces

COMMAND = "f2a detect"  # what the card and a resume note name as the run that adapted
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class AdaptDecision:
    due: bool
    why: str
    faces: int  # faces the model may adapt to now


@dataclass
class AdaptReport:
    adapted_faces: int = 0
    seconds: float = 0.0
    repredicted: list[int] = field(default_factory=list)  # face ids whose landmarks changed
    kept_human: int = 0
    view_disagreement: tuple[float | None, float | None] = (None, None)  # held-back, before → after
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        before, after = self.view_disagreement
        moved = (f"; held-back view disagreement {before:.3f} → {after:.3f}"
                 if before is not None and after is not None else "")
        return (f"adapted the landmark model to the project's {self.adapted_faces} faces in {self.seconds:.0f} s"
                f"{moved}; re-placed the landmarks of {len(self.repredicted)} unreviewed face(s)")


def _project_card(store: ProjectStore) -> dict | str | None:
    """The project's landmark card; None when it has no model, "unreadable" when it cannot be read."""
    weights, card = model_paths(store.checkpoints_dir, STEM)
    if not (weights.is_file() and card.is_file()):
        return None
    try:
        value = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"
    return value if isinstance(value, dict) else "unreadable"


def adaptation_due(store: ProjectStore, min_faces: int = MIN_ADAPT_FACES) -> AdaptDecision:
    """Whether `f2a detect` should adapt the landmark model now, and why (or why not). Reads the store and
    the card only: cheap after every detection run."""
    faces = len(adaptable_faces(store))
    if faces < min_faces:
        return AdaptDecision(False, f"{faces} likely face(s): the landmark model adapts to the project once it "
                                    f"has {min_faces}", faces)
    card = _project_card(store)
    if card is None:
        return AdaptDecision(True, f"no landmark model of the project's own yet; {faces} faces to adapt to", faces)
    if card == "unreadable":
        return AdaptDecision(False, f"{model_paths(store.checkpoints_dir, STEM)[1]} cannot be read: left alone "
                                    "(f2a train-landmarks writes a new one)", faces)
    assert isinstance(card, dict)
    if "adapt" not in card.get("train", {}):
        return AdaptDecision(False, "the project's landmark model was trained without adapting "
                                    "(f2a train-landmarks --no-adapt): left as it is", faces)
    data = card.get("data", {})
    seen = int(data.get("adapted_faces", 0)) + int(data.get("held_back_unlabelled_faces", 0))
    if faces < 2 * seen:
        return AdaptDecision(False, f"adapted to {seen} faces; adapts again when the project has {2 * seen}", faces)
    return AdaptDecision(True, f"adapted to {seen} faces, the project now has {faces}", faces)


def adapt_after_detect(store: ProjectStore, *, steps: int | None = None, base: Sequence[Path] | None = None,
                       min_faces: int = MIN_ADAPT_FACES, progress: Progress | None = None,
                       should_stop: Callable[[], bool] | None = None) -> AdaptReport:
    """Adapt (learned_train.train_project, as `f2a detect`), re-place the unreviewed faces' landmarks and
    measure the review queue's disagreement. Raises TrainingStopped when asked to stop while training
    (the resume file keeps the finished steps; the next `f2a detect` continues)."""
    from f2a_studio.core.jobs import CancelToken, JobCancelled
    from f2a_studio.core.models import Domain
    from f2a_studio.detect.landmarks.learned_train import train_project
    from f2a_studio.detect.repredict import repredict_faces
    from f2a_studio.detect.review_signals import measure_project

    t0 = time.monotonic()
    card = train_project(store, steps=steps, base=base, progress=progress, should_stop=should_stop,
                         min_adapt_faces=min_faces, command=COMMAND)
    report = AdaptReport(adapted_faces=int(card["data"].get("adapted_faces", 0)), notes=list(card.get("notes", [])))
    metrics = card.get("metrics", {})
    report.view_disagreement = (metrics.get("held_back_before", {}).get("view_disagreement"),
                                metrics.get("held_back_after", {}).get("view_disagreement"))
    cancel = CancelToken()
    ids = [r.id for r in store.images(domain=Domain.ANIME)]  # photos' landmarks come from the human backends

    def on_faces(done: int, total: int, text: str) -> None:
        if should_stop is not None and should_stop():
            cancel.cancel("stopped")
        if progress is not None:
            progress(done, total, text)

    try:
        done = repredict_faces(store, ids, on_faces, cancel, sex=False, landmarks=True)
        report.repredicted, report.kept_human = done.changed, done.kept_human
    except JobCancelled:
        report.notes.append("stopped while re-placing landmarks: faces done so far keep their new points; "
                            "f2a train-landmarks or the studio's Retrain re-places the rest")
        report.seconds = time.monotonic() - t0
        return report
    measure_project(store, should_stop=should_stop)
    report.seconds = time.monotonic() - t0
    return report


def adapt_if_due(store: ProjectStore, *, threads: int | None = None, progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None, min_faces: int = MIN_ADAPT_FACES,
                 steps: int | None = None, base: Sequence[Path] | None = None,
                 on_start: Callable[[AdaptDecision], None] | None = None) -> dict:
    """What `f2a detect` and the studio's detection do last: adapt when ``adaptation_due`` says so, with
    ``threads`` torch threads (None: as they are; restored after). Returns the run report's
    ``landmark_adaptation``: adapted or not and why, and when adapted the time, the faces re-placed and the
    card's notes. A run asked to stop returns ``stopped`` (the resume file keeps the finished steps; the
    next detection continues it). ``on_start(decision)``: called before training starts, when it does."""
    from f2a_studio.detect.small_train import TrainingStopped

    decision = adaptation_due(store, min_faces)
    out: dict = {"adapted": False, "why": decision.why, "faces": decision.faces}
    if not decision.due:
        return out
    if on_start is not None:
        on_start(decision)
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    try:
        report = adapt_after_detect(store, steps=steps, base=base, min_faces=min_faces, progress=progress,
                                    should_stop=should_stop)
    except TrainingStopped as exc:
        return out | {"stopped": True, "why": f"stopped while adapting the landmark model: {exc}"}
    finally:
        torch.set_num_threads(before)
    return out | {"adapted": True, "text": report.text(), "seconds": round(report.seconds, 1),
                  "repredicted_faces": len(report.repredicted), "kept_human": report.kept_human,
                  "view_disagreement": list(report.view_disagreement), "notes": report.notes}
