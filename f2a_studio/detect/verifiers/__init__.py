"""Crop verifiers: a second look at each candidate before the NMS (registry of backends).

A finder proposes boxes from the whole picture; a verifier looks at one candidate's crop only and says
how likely it is a face. On real pages the finders' candidates hold most faces but their scores do not
tell faces from false alarms (balloons, hair, hands); a verifier trained on the title's own reviewed
cuts re-ranks them (benchmarks/verifier_devset.py). detect/analyze.py rescores every anime candidate
with the first verifier `choose_verifier` returns (none: scores stay as the finders gave them) and keeps
``("verifier_p", p)`` and the score before it in the face's score_features; a verifier with a box head
also moves each box onto the face its crop shows (verifiers/refine.py), judges the moved box again from its
own crop when the card says "rejudge", and keeps ``("refined_iou", iou)``. Each answer is the mean over
the card's views of the crop (its mirror, zoomed crops: learned.VIEWS).

A backend class is built as ``cls(folder)``; ``cls.folders(search_path)`` says where its files are (a
cheap file check), ``load()`` raises F2AError with the file and the reason, ``on_by_default`` is the
card's word on whether it helped, and ``verify(pixels, boxes)`` / ``rescore(p, score)`` do the work
(``refines``: whether verify moves boxes; ``rejudges``: whether it judges moved boxes again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from f2a_studio.core.errors import F2AError
from f2a_studio.detect.verifiers.learned import LearnedVerifier

VERIFIERS: dict[str, type] = {"learned": LearnedVerifier}
VERIFIER_FEATURE = "verifier_p"
UNVERIFIED_FEATURE = "unverified_score"
REFINED_FEATURE = "refined_iou"  # IoU of the finder's box with the box the verifier moved it to


@dataclass
class ChosenVerifier:
    verifier: LearnedVerifier | None
    notes: list[str] = field(default_factory=list)


def choose_verifier(search_path: Sequence[Path], name: str | None = None) -> ChosenVerifier:
    """The first verifier, in registry then search-path order, that loads and whose card says it helped
    (named: the first that loads, helped or not). A file that fails to load is passed over with a note;
    none at all is the normal case (no project verifier trained yet) and says nothing."""
    if name is not None and name not in VERIFIERS:
        raise F2AError(f"unknown verifier {name!r}; known: {', '.join(VERIFIERS)}")
    notes: list[str] = []
    for key, cls in VERIFIERS.items():
        if name is not None and key != name:
            continue
        for folder in cls.folders(search_path):
            verifier = cls(folder)
            try:
                verifier.load()
            except F2AError as exc:
                notes.append(f"crop verifier skipped: {exc}")
                continue
            if name is None and not verifier.on_by_default:
                continue  # its card says it did not help on the held-back cuts
            return ChosenVerifier(verifier, notes)
    if name is not None:
        raise F2AError(f"no loadable {name} verifier on the search path" + ("; " + "; ".join(notes) if notes else ""))
    return ChosenVerifier(None, notes)


__all__ = ["REFINED_FEATURE", "UNVERIFIED_FEATURE", "VERIFIERS", "VERIFIER_FEATURE", "ChosenVerifier",
           "LearnedVerifier", "choose_verifier"]
