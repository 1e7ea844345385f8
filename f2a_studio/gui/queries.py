"""Aggregate reads the browser and the review queue need, done in SQL so 10,000 cuts stay instant.

ProjectStore has no per-cut summary or review-queue query yet; these go through its locked `_read`
(read-only SQL, same connection and mutex) rather than a second connection. If core grows public
equivalents, swap them in here: nothing else in gui/ touches SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from f2a_studio.core.models import Face
from f2a_studio.core.store import ProjectStore

LOW_CONFIDENCE = 0.8  # detector scores below this are "low confidence" in the browser filter

# A detector/model face nobody touched yet is hidden below the threshold; human-made or edited faces never are.
_VISIBLE = "(source = 'human' OR revision > 1 OR score >= ?)"


def is_visible(face: Face, threshold: float) -> bool:
    return face.edited_by_human or face.score >= threshold


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
    rows = store._read(_SUMMARY_SQL + " GROUP BY image_id", (threshold,))
    return {int(r[0]): _row_summary(tuple(r)) for r in rows}


def cut_summary(store: ProjectStore, image_id: int, threshold: float) -> CutSummary:
    rows = store._read(_SUMMARY_SQL + " AND image_id = ? GROUP BY image_id", (threshold, image_id))
    return _row_summary(tuple(rows[0])) if rows else CutSummary()


def next_in_review_queue(store: ProjectStore, threshold: float, exclude: int | None = None) -> tuple[int, int] | None:
    """(face id, image id) of the visible unreviewed face with the lowest score, ties by id; None when done."""
    rows = store._read(
        "SELECT id, image_id FROM faces WHERE status = 'unreviewed' AND " + _VISIBLE
        + " AND id != ? ORDER BY score, id LIMIT 1",
        (threshold, -1 if exclude is None else exclude),
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def review_totals(store: ProjectStore, threshold: float) -> CutSummary:
    rows = store._read(_SUMMARY_SQL.replace("image_id, ", "0, ", 1), (threshold,))
    return _row_summary(tuple(rows[0])) if rows and rows[0][1] else CutSummary()
