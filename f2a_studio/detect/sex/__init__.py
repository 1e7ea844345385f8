"""Sex classifiers, best first: the learned CNN (a project's own, then the shipped default), then the
template fit's p(female). A model file that cannot be loaded is skipped with a message, never fatal.

Predictions are written as predictions: `apply_prediction` fills sex and its probability only where no
person set the sex (provenance, core/provenance.py), and the store's edit methods, called with a model
actor, leave `human_fields` alone, so a prediction never counts as human work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Face, Sex
from f2a_studio.detect.sex.backends import STEM, LearnedSexBackend, SexPrediction, TemplateSexBackend

REGISTRY: dict[str, type] = {"learned": LearnedSexBackend, "template": TemplateSexBackend}


@dataclass
class Chosen:
    backend: LearnedSexBackend | TemplateSexBackend
    notes: list[str]


def choose_sex_backend(search_path: Sequence[Path], name: str | None = None) -> Chosen:
    """The first backend that loads: each folder's learned model in search-path order, then the template.
    Files that fail to load are reported in ``notes`` and passed over."""
    from f2a_studio.detect.cropnet import model_folders

    if name is not None and name not in REGISTRY:
        raise F2AError(f"unknown sex backend {name!r}; known: {', '.join(REGISTRY)}")
    notes: list[str] = []
    if name in (None, "learned"):
        for folder in model_folders(search_path, STEM):
            backend = LearnedSexBackend(folder)
            try:
                backend.load()
                if notes:
                    notes.append(f"sex classifier: using {folder / (STEM + '.safetensors')} instead")
                return Chosen(backend, notes)
            except F2AError as exc:
                notes.append(f"sex classifier skipped: {exc}")
        if name == "learned":
            raise F2AError("no loadable learned sex classifier on the search path; " + "; ".join(notes))
    template = TemplateSexBackend()
    template.load()
    if notes:
        notes.append("sex classifier: falling back to the template fit's p(female)")
    return Chosen(template, notes)


def apply_prediction(face: Face, prediction: SexPrediction | None) -> Face:
    """``face`` with the predicted sex and the label's probability, unless a person set its sex."""
    if prediction is None or "sex" in face.human_fields:
        return face
    p = min(max(prediction.p_female, 0.0), 1.0)
    sex = Sex.FEMALE if p >= 0.5 else Sex.MALE
    return replace(face, sex=sex, sex_prob=round(max(p, 1.0 - p), 4))


def p_female_of(face: Face) -> float:
    """The face's sex as P(female) (0.5 when unknown)."""
    if face.sex is Sex.UNKNOWN:
        return 0.5
    prob = 1.0 if face.sex_prob is None else float(face.sex_prob)
    return prob if face.sex is Sex.FEMALE else 1.0 - prob


__all__ = ["REGISTRY", "SexPrediction", "apply_prediction", "choose_sex_backend", "p_female_of"]
