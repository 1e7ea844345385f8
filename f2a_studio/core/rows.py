"""Mapping between SQLite rows and the domain dataclasses (one place that knows the column order)."""

from __future__ import annotations

import json
import sqlite3

from f2a_studio.core.models import (
    Box,
    Colors,
    Domain,
    Face,
    FaceSource,
    FaceStatus,
    ImageRecord,
    Parts,
    Pose,
    Sex,
    parse_score_features,
)

FACE_COLUMNS = (
    "id, image_id, x, y, w, h, score, source, status, sex, sex_prob, skin, hair, left_eye, right_eye, "
    "parts, landmarks, yaw, pitch, roll, revision, updated_at, "
    "finder, finder_model, finder_sha256, raw_score, score_features, human_fields, human_points"
)
N_FACE_COLUMNS = FACE_COLUMNS.count(",") + 1
IMAGE_COLUMNS = (
    "id, hash, cut_path, source_path, title_id, episode, cut_index, width, height, has_alpha, imported_at, domain"
)


def image_from_row(row: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"],
        hash=row["hash"],
        cut_path=row["cut_path"],
        source_path=row["source_path"],
        title_id=row["title_id"],
        episode=row["episode"],
        cut_index=row["cut_index"],
        width=row["width"],
        height=row["height"],
        has_alpha=bool(row["has_alpha"]),
        imported_at=row["imported_at"],
        domain=Domain(row["domain"]),
    )


def face_from_row(row: sqlite3.Row) -> Face:
    pose = None if row["yaw"] is None else Pose(row["yaw"], row["pitch"], row["roll"])
    return Face(
        id=row["id"],
        image_id=row["image_id"],
        box=Box(row["x"], row["y"], row["w"], row["h"]),
        score=row["score"],
        source=FaceSource(row["source"]),
        status=FaceStatus(row["status"]),
        sex=Sex(row["sex"]),
        sex_prob=row["sex_prob"],
        colors=Colors(row["skin"], row["hair"], row["left_eye"], row["right_eye"]),
        parts=Parts.from_json(json.loads(row["parts"])),
        landmarks=tuple(tuple(p) for p in json.loads(row["landmarks"])),
        pose=pose,
        revision=row["revision"],
        updated_at=row["updated_at"],
        finder=row["finder"] or "",
        finder_model=row["finder_model"] or "",
        finder_sha256=row["finder_sha256"] or "",
        raw_score=row["raw_score"],
        score_features=parse_score_features(_loads(row["score_features"])),
        human_fields=frozenset(_loads(row["human_fields"])),
        human_points=frozenset(_loads(row["human_points"])),
    )


def _loads(text: str | None):
    """JSON of the small optional columns; most rows hold the empty value, skipped without parsing (the
    studio parses every face of a cut on each redraw)."""
    return () if text in (None, "", "[]", "{}") else json.loads(text)


def _dumps(values) -> str:
    return json.dumps(sorted(values)) if values else "[]"


def face_values(face: Face) -> tuple:
    pose = face.pose
    return (
        face.id,
        face.image_id,
        face.box.x,
        face.box.y,
        face.box.w,
        face.box.h,
        float(face.score),
        face.source.value,
        face.status.value,
        face.sex.value,
        face.sex_prob,
        face.colors.skin,
        face.colors.hair,
        face.colors.left_eye,
        face.colors.right_eye,
        json.dumps(face.parts.to_json()),
        json.dumps([list(p) for p in face.landmarks]),
        pose.yaw if pose else None,
        pose.pitch if pose else None,
        pose.roll if pose else None,
        face.revision,
        face.updated_at,
        face.finder,
        face.finder_model,
        face.finder_sha256,
        face.raw_score,
        json.dumps(dict(face.score_features)) if face.score_features else "{}",
        _dumps(face.human_fields),
        _dumps(face.human_points),
    )
