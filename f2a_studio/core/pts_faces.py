"""A human photo's iBUG `.pts` file → its face, at import: a person's 68 landmarks win over detection.

The face is marked as a person's (source human: box and landmarks are human fields; finder PTS_FINDER),
so detection never replaces it; `f2a detect` does not search such a photo at all (detect.pipeline), since
a detected box around the same face may overlap the landmarks' extent too little to count as a duplicate.
Its status stays unreviewed, as for every imported annotation (import-coco does the same): accepting it is
the reviewer's.
"""

from __future__ import annotations

import os
from pathlib import Path

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.files import regular_file_problem
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus, ImageRecord
from f2a_studio.core.pts import read_pts

PTS_FINDER = "pts"  # the `finder` of a face read from a .pts file


def pts_face(photo: Path, image: ImageRecord) -> tuple[Face | None, str | None]:
    """(the face, None), (None, None) when no `.pts` lies beside `photo`, or (None, why it was not used)."""
    pts_file = photo.with_suffix(".pts")
    if not os.path.lexists(pts_file):
        return None, None
    if (why := regular_file_problem(pts_file)) is not None:
        return None, f"{pts_file.name} {why}; the photo was imported without its landmarks"
    try:
        points = read_pts(pts_file)
    except ValidationError as exc:
        return None, f"{exc}; the photo was imported without its landmarks"
    xs, ys = points[:, 0], points[:, 1]
    x0, y0 = max(0.0, float(xs.min())), max(0.0, float(ys.min()))
    x1, y1 = min(float(image.width), float(xs.max())), min(float(image.height), float(ys.max()))
    if x1 <= x0 or y1 <= y0:
        return None, f"{pts_file.name}: its landmarks lie outside the photo; the photo was imported without them"
    landmarks = tuple((float(x), float(y), 2) for x, y, _ in points)
    face = Face(image_id=image.id, box=Box(x0, y0, x1 - x0, y1 - y0), score=1.0, source=FaceSource.HUMAN,
                status=FaceStatus.UNREVIEWED, landmarks=landmarks, finder=PTS_FINDER)
    return face, None
