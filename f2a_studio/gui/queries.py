"""Aggregate reads the browser and the review queue need, done in SQL so 10,000 cuts stay instant.

They go through ProjectStore.query (SELECT only, same connection and lock); nothing else in gui/ touches SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from f2a_studio.core.models import Box, Face, Sex, cut_name
from f2a_studio.core.provenance import VISIBLE_SQL, is_visible
from f2a_studio.core.review_queue import QueueItem, face_needs, review_order
from f2a_studio.core.review_signals import disagreement_for, read_signals
from f2a_studio.core.store import ProjectStore

LOW_CONFIDENCE = 0.8  # detector scores below this are "low confidence" in the browser filter

# The visibility rule lives in core (provenance.py): faces with human work always show, the rest only at
# or above the threshold.
_VISIBLE = VISIBLE_SQL
__all__ = ["is_visible"]  # the canvas's per-face test, the same rule in Python


class CutRow(NamedTuple):
    """What the browser needs of a cut: light enough to hold 10,000 of them from one query."""

    id: int
    title_id: str
    episode: str
    cut_index: int
    width: int
    height: int
    source_path: str

    @property
    def name(self) -> str:
        return cut_name(self.title_id, self.episode, self.cut_index)


def cut_rows(store: ProjectStore) -> list[CutRow]:
    """Every cut in browsing order (title, episode as a number, cut index), like ProjectStore.images()."""
    rows = store.query(
        "SELECT id, title_id, episode, cut_index, width, height, source_path FROM images "
        "ORDER BY title_id, CAST(episode AS INTEGER), episode, cut_index"
    )
    return [CutRow(*r) for r in rows]


def first_cut_with_faces(store: ProjectStore, order: list[int]) -> int:
    """The cut to open a project on: the first in browsing order that has a face (a project often starts with
    a title card or an establishing shot), else the first cut."""
    with_faces = {int(r[0]) for r in store.query("SELECT DISTINCT image_id FROM faces")}
    return next((image_id for image_id in order if image_id in with_faces), order[0])


@dataclass(frozen=True)
class CutSummary:
    faces: int = 0
    unreviewed: int = 0
    accepted: int = 0
    rejected: int = 0
    sex_unknown: int = 0
    min_unreviewed_score: float | None = None

    @property
    def reviewed(self) -> int:
        return self.accepted + self.rejected

    @property
    def low_confidence(self) -> bool:
        return self.min_unreviewed_score is not None and self.min_unreviewed_score < LOW_CONFIDENCE

    def __add__(self, other: CutSummary) -> CutSummary:
        scores = [s for s in (self.min_unreviewed_score, other.min_unreviewed_score) if s is not None]
        return CutSummary(
            self.faces + other.faces,
            self.unreviewed + other.unreviewed,
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.sex_unknown + other.sex_unknown,
            min(scores) if scores else None,
        )


_SUMMARY_SQL = (
    "SELECT image_id, count(*), sum(status = 'unreviewed'), sum(status = 'accepted'), "
    "sum(status = 'rejected'), sum(sex = 'unknown' AND status != 'rejected'), "
    "min(CASE WHEN status = 'unreviewed' THEN score END) FROM faces WHERE " + _VISIBLE
)


def _row_summary(row: tuple) -> CutSummary:
    return CutSummary(int(row[1]), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0), int(row[5] or 0), row[6])


def cut_summaries(store: ProjectStore, threshold: float) -> dict[int, CutSummary]:
    """Per cut, counts of the faces visible at `threshold`. Cuts without visible faces are absent."""
    rows = store.query(_SUMMARY_SQL + " GROUP BY image_id", (threshold,))
    return {int(r[0]): _row_summary(tuple(r)) for r in rows}


def cut_summary(store: ProjectStore, image_id: int, threshold: float) -> CutSummary:
    rows = store.query(_SUMMARY_SQL + " AND image_id = ? GROUP BY image_id", (threshold, image_id))
    return _row_summary(tuple(rows[0])) if rows else CutSummary()


_NO_BOX = Box(0, 0, 1, 1)  # the order needs no geometry


def review_items(store: ProjectStore, threshold: float, exclude: int | None = None) -> list[tuple[QueueItem, int]]:
    """The visible unreviewed faces in review order (core.review_queue: most needed first, then lowest
    score), each with its image id; the landmark disagreement measured for the project (core.review_signals)
    counts where it still holds for the face's box. Only the columns the order needs are read."""
    import json

    rows = store.query(
        "SELECT id, image_id, score, sex, sex_prob, human_fields, x, y, w, h FROM faces WHERE status = 'unreviewed' "
        "AND " + _VISIBLE + " AND id != ?",
        (threshold, -1 if exclude is None else exclude),
    )
    faces, images, boxes = [], {}, {}
    for r in rows:
        fid, image_id = int(r[0]), int(r[1])
        images[fid] = image_id
        boxes[fid] = Box(float(r[6]), float(r[7]), float(r[8]), float(r[9]))
        faces.append(Face(image_id, _NO_BOX, id=fid, score=float(r[2]), sex=Sex(r[3]), sex_prob=r[4],
                          human_fields=frozenset(json.loads(r[5] or "[]"))))
    disagreement = disagreement_for(read_signals(store.root), boxes)
    return [(it, images[it.face_id]) for it in review_order(faces, disagreement)]


def review_reasons(store: ProjectStore, face: Face) -> list[tuple[str, float]]:
    """Why the queue wants a person on this face (the inspector shows it), most needed first; empty when
    nothing about it is open."""
    assert face.id is not None
    disagreement = disagreement_for(read_signals(store.root), {face.id: face.box}).get(face.id)
    return face_needs(face, disagreement)


def next_in_review_queue(store: ProjectStore, threshold: float, exclude: int | None = None) -> tuple[int, int] | None:
    """(face id, image id) of the first face of the review queue (review_items); None when done."""
    items = review_items(store, threshold, exclude)
    return (items[0][0].face_id, items[0][1]) if items else None


def sum_summaries(summaries: Iterable[CutSummary]) -> CutSummary:
    """Totals of many cuts (plain integer sums: fast enough for 10,000 cuts on every edit)."""
    faces = unreviewed = accepted = rejected = unknown = 0
    lowest: float | None = None
    for s in summaries:
        faces += s.faces
        unreviewed += s.unreviewed
        accepted += s.accepted
        rejected += s.rejected
        unknown += s.sex_unknown
        if s.min_unreviewed_score is not None and (lowest is None or s.min_unreviewed_score < lowest):
            lowest = s.min_unreviewed_score
    return CutSummary(faces, unreviewed, accepted, rejected, unknown, lowest)


class FaceReader:
    """A cut's faces exactly as stored, without re-parsing unchanged rows.

    Turning a row into a Face (JSON landmarks, validation) costs about a millisecond; one indexed query
    for (id, revision, updated_at) says whether the rows read last time are still the stored ones
    (every write bumps revision and updated_at). Only then are the parsed faces reused.
    """

    def __init__(self, store: ProjectStore, max_cuts: int = 64) -> None:
        self.store = store
        self.max_cuts = max_cuts
        self._cache: OrderedDict[int, tuple[tuple, list[Face]]] = OrderedDict()

    def faces(self, image_id: int) -> list[Face]:
        rows = self.store.query(
            "SELECT id, revision, updated_at FROM faces WHERE image_id = ? ORDER BY id", (image_id,)
        )
        stamp = tuple((int(r[0]), int(r[1]), str(r[2])) for r in rows)
        hit = self._cache.get(image_id)
        if hit is not None and hit[0] == stamp:
            self._cache.move_to_end(image_id)
            return list(hit[1])
        faces = self.store.faces(image_id)
        self._cache[image_id] = (tuple((f.id, f.revision, f.updated_at) for f in faces), faces)
        self._cache.move_to_end(image_id)
        while len(self._cache) > self.max_cuts:
            self._cache.popitem(last=False)
        return list(faces)
