"""Measure the review queue's landmark signal for a whole project and write it beside the checkpoints
(core.review_signals): for every unreviewed face whose landmarks no person set, how far the learned
landmark model and the template fit disagree (detect.disagreement). Run by the studio's retrain after the
landmark model is trained, or by hand: ``python -m f2a_studio.detect.review_signals PROJECT``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from f2a_studio.core.imageio import load_image
from f2a_studio.core.models import Domain, FaceStatus
from f2a_studio.core.review_signals import FaceSignal, write_signals
from f2a_studio.core.search_path import model_search_path
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.disagreement import landmark_disagreement

Progress = Callable[[int, int, str], None]


def open_faces(store: ProjectStore):
    """(record, faces) per cut for the faces the landmark signal is for: unreviewed, landmarks not human,
    on anime images (the learned landmark model serves anime only; on photos its disagreement means nothing)."""
    for record in store.images(domain=Domain.ANIME):
        faces = [f for f in store.faces(record.id)
                 if f.status is FaceStatus.UNREVIEWED and "landmarks" not in f.human_fields]
        if faces:
            yield record, faces


def measure_project(store: ProjectStore, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> dict:
    """Measure and write PROJECT/checkpoints/review-signals.json; returns counts. Without a learned
    landmark model there is nothing to disagree with: the file is written empty (old entries would lie)."""
    from f2a_studio.detect.landmarks import LearnedLandmarkBackend

    path = model_search_path(store.root)
    work = list(open_faces(store))
    signals: dict[int, FaceSignal] = {}
    model = "none"
    if LearnedLandmarkBackend.available(path):
        model = "learned"
        for i, (record, faces) in enumerate(work):
            if should_stop is not None and should_stop():
                return {"faces": len(signals), "model": model, "stopped": True}
            pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
            for face_id, nme in landmark_disagreement(pixels, faces, path).items():
                b = next(f.box for f in faces if f.id == face_id)
                signals[face_id] = FaceSignal((b.x, b.y, b.w, b.h), round(nme, 6))
            if progress is not None:
                progress(i + 1, len(work), record.name)
    write_signals(store.root, signals, model)
    return {"faces": len(signals), "model": model, "stopped": False}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m f2a_studio.detect.review_signals", description=__doc__)
    parser.add_argument("project", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    from f2a_studio.core.errors import F2AError

    try:
        with ProjectStore.open(args.project, read_only=True) as store:
            report = measure_project(store)
    except F2AError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"landmark disagreement measured on {report['faces']} face(s) ({report['model']} model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
