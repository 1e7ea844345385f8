"""The uncertainty-first review queue: which faces a person is most needed on, and why.

Each face gets a need in 0..1 from the parts no person has settled yet: its box (a calibrated finder
score near 0.5 is a coin toss: need 1 - |2s - 1|), its sex (the same of p(female)) and its landmarks (the
learned model and the template fit disagreeing by ``d`` NME: need d / LANDMARK_FULL). The queue is ordered
by need, highest first, then by finder score (lowest first, as the queue was before), then by face id, so
it is the same for the same project state. A face's
confidence is 1 - need; "reviewed enough" counts the faces still below a chosen confidence.
Qt-free and model-free: the landmark disagreement is measured elsewhere (detect.disagreement) and passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from f2a_studio.core.models import Face, FaceStatus, Sex

LANDMARK_FULL = 0.2  # NME between the two landmark fits at which the landmarks surely need a person
REVIEWED_ENOUGH = 0.9  # the default confidence of the "reviewed enough" estimate
SEX_SURE = 0.9  # p(the predicted sex) from which the queue calls it "predicted" rather than "uncertain"


@dataclass(frozen=True)
class QueueItem:
    face_id: int
    need: float
    score: float  # 0..1, the largest of the reasons' needs
    reasons: tuple[tuple[str, float], ...]  # (explanation, need), largest first

    @property
    def confidence(self) -> float:
        return 1.0 - self.need

    def explain(self) -> str:
        return ", ".join(text for text, _ in self.reasons) or "nothing uncertain"


def _p_female(face: Face) -> float | None:
    if face.sex is Sex.UNKNOWN or face.sex_prob is None:
        return None
    return face.sex_prob if face.sex is Sex.FEMALE else 1.0 - face.sex_prob


def face_needs(face: Face, disagreement: float | None = None) -> list[tuple[str, float]]:
    """What about this face a person should settle, each with its need; empty when nothing is open."""
    human = face.human_fields
    if face.status is FaceStatus.REJECTED and "status" in human:
        return []
    out = []
    if "status" not in human and "box" not in human:
        need = 1.0 - abs(2.0 * face.score - 1.0)
        out.append((f"is it a face? score {face.score:.2f}", need))
    if "sex" not in human:
        p = _p_female(face)
        if p is None:
            out.append(("sex unknown", 1.0))
        else:
            sure = max(p, 1 - p)  # "uncertain 1.00" would read as a contradiction: a sure guess is "predicted"
            word = "uncertain" if sure < SEX_SURE else "predicted"
            out.append((f"sex {word} {sure:.2f}", 1.0 - abs(2.0 * p - 1.0)))
    if "landmarks" not in human and disagreement is not None:
        out.append((f"landmarks disagree {disagreement:.2f} NME", min(1.0, disagreement / LANDMARK_FULL)))
    return sorted(out, key=lambda r: -r[1])


def review_order(faces: Iterable[Face], disagreement: Mapping[int, float] | None = None) -> list[QueueItem]:
    """Every face with something open, most needed first (deterministic: need, then face id)."""
    dis = disagreement or {}
    items = []
    for face in faces:
        assert face.id is not None
        reasons = face_needs(face, dis.get(face.id))
        if reasons:
            items.append(QueueItem(face.id, round(reasons[0][1], 6), float(face.score),
                                   tuple((t, round(n, 6)) for t, n in reasons)))
    return sorted(items, key=lambda it: (-it.need, it.score, it.face_id))


def remaining_below(items: Iterable[QueueItem], confidence: float = REVIEWED_ENOUGH) -> int:
    """How many faces are still below ``confidence`` (the "reviewed enough" estimate: 0 means done)."""
    return sum(1 for it in items if it.confidence < confidence)
