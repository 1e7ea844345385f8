"""Tiny synthetic projects for the learning tests: one character per cut, imported through the importer,
faces added by a "detector" with landmarks, then labelled by a "human" through the store's edit methods."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from f2a_studio.core.imageio import content_hash, save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face, FaceSource, Parts, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.synth.scene import make_character_image
from f2a_studio.synth.truth import FaceTruth


def parts_of(truth: FaceTruth) -> Parts:
    p = truth.parts()
    return Parts.from_json({k: list(v) for k, v in p.items()})


def synthetic_project(root: Path, n: int, *, label_sex: int = 0, label_points: int = 0, seed: int = 0,
                      style: str = "round_simple", size: int = 128,
                      landmarks=None) -> tuple[ProjectStore, list[FaceTruth]]:
    """``n`` cuts of one face each; the first ``label_sex`` get their true sex set by a person, the first
    ``label_points`` their true landmarks. ``landmarks(truth) -> (68, 2)`` gives the model's landmarks
    (default: the truth moved by a few pixels)."""
    store = ProjectStore.create(root)
    truths = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        panel = make_character_image(rng, size, style=style)
        path = root / "sources" / f"900001_1_{i:03d}.png"
        save_png_atomic(path, panel.image)
        import_sources(store, [path], workers=1)
        record = store.image_by_hash(content_hash(panel.image))
        assert record is not None
        t = panel.faces[0]
        truths.append(t)
        pts = landmarks(t) if landmarks else t.points() + rng.normal(0, 1.5, (68, 2))
        face = store.add_face(Face(record.id, Box(*t.box), source=FaceSource.DETECTOR, parts=parts_of(t),
                                   landmarks=tuple((float(x), float(y), 2) for x, y in pts)), actor="detector")
        if i < label_sex:
            face = store.update_face(replace(face, sex=Sex(t.sex), sex_prob=1.0), actor="human")
        if i < label_points:
            store.update_face(replace(face, landmarks=tuple((float(x), float(y), int(v)) for (x, y), v in
                                                            zip(t.points(), t.visibility, strict=True))),
                              actor="human")
    return store, truths
