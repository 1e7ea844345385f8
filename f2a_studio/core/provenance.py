"""Provenance: which fields of a face a person set or confirmed, as opposed to what a model predicted.

Per face the store keeps `human_fields` (a subset of HUMAN_FIELDS) and `human_points` (the landmark
indices a person placed). They are written by the store's edit methods from the actor of each edit, never
inferred from the revision: only the actor "human" makes fields human; a detector, a model or an importer
writing a prediction (a sex probability, refitted landmarks) leaves them as they were.

What counts, for a human edit:

* a field the edit changes is set: box, landmarks (and the moved points), sex (the label or its
  probability: choosing "female" on a face the model thought 80 % female sets the probability to 1, so it
  counts), colours, status;
* accepting or rejecting a face also *confirms its box*: the reviewer judged that box to be (or not to be)
  a face, which is the label a face finder learns from. It confirms nothing else: accepting a face does not
  mean its landmarks, sex or colours were checked;
* setting the status back to unreviewed withdraws the review: status leaves the human fields (the box stays
  confirmed when it was);
* a face added with source "human" (drawn in the studio, or imported human annotations) has a human box,
  and human status, sex, colours and landmarks where it comes with them (status unless unreviewed, sex
  unless unknown); a face added by a detector or model (any other source) starts with none;
* `confirm=` on an edit marks named fields human without changing them (an explicit "this is right").

Projects from before provenance was recorded get it by replaying their edit log with these same rules
(schema migration 4), so every human edit there stays human.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from f2a_studio.core.models import HUMAN_FIELDS, Box, Colors, Domain, Face, FaceSource, FaceStatus, Landmark, Sex

HUMAN_ACTOR = "human"

# The visibility rule of the studio (threshold slider, browser counts, review queue), in SQL and Python:
# faces with human work always show; untouched detector/model faces only at or above the threshold.
VISIBLE_SQL = "(source = 'human' OR human_fields != '[]' OR score >= ?)"


def is_human_work(face: Face) -> bool:
    """A person drew this face or set/confirmed one of its fields: re-detection keeps it whole."""
    return face.source is FaceSource.HUMAN or bool(face.human_fields)


def is_visible(face: Face, threshold: float) -> bool:
    return is_human_work(face) or face.score >= threshold


@dataclass(frozen=True)
class Provenance:
    fields: frozenset[str] = frozenset()
    points: frozenset[int] = frozenset()

    @classmethod
    def of(cls, face: Face) -> Provenance:
        return cls(face.human_fields, face.human_points)


def _changed(before: Face, after: Face) -> set[str]:
    out = set()
    if before.box != after.box:
        out.add("box")
    if before.landmarks != after.landmarks:
        out.add("landmarks")
    if (before.sex, before.sex_prob) != (after.sex, after.sex_prob):
        out.add("sex")
    if before.colors != after.colors:
        out.add("colors")
    if before.status is not after.status:
        out.add("status")
    return out


def _moved_points(before: tuple[Landmark, ...], after: tuple[Landmark, ...]) -> set[int]:
    if len(before) != len(after):
        return set(range(len(after)))
    return {i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}


def next_provenance(
    base: Provenance, before: Face | None, after: Face, actor: str, confirm: Iterable[str] = ()
) -> Provenance:
    """The provenance after one edit (`before` None: the face is being added). See the module docstring."""
    fields, points = set(base.fields), set(base.points)
    if before is None:
        # Added: what a face drawn by a person came with is theirs (whoever writes it: the studio, an
        # importer of human annotations); a detector's or model's face starts with no human field.
        if after.source is FaceSource.HUMAN:
            fields.add("box")
            fields |= {"status"} if after.status is not FaceStatus.UNREVIEWED else set()
            fields |= {"sex"} if after.sex is not Sex.UNKNOWN else set()
            fields |= {"colors"} if after.colors != Colors() else set()
            if after.landmarks:
                fields.add("landmarks")
                points |= set(range(len(after.landmarks)))
    elif actor == HUMAN_ACTOR:
        changed = _changed(before, after)
        fields |= changed - {"status"}
        if "landmarks" in changed:
            points |= _moved_points(before.landmarks, after.landmarks)
        if "status" in changed:
            if after.status is FaceStatus.UNREVIEWED:
                fields.discard("status")
            else:
                fields |= {"status", "box"}
    if actor == HUMAN_ACTOR and confirm:
        fields |= set(confirm)
        if "landmarks" in set(confirm):
            points |= set(range(len(after.landmarks)))
    if not after.landmarks:
        fields.discard("landmarks")
        points.clear()
    points = {i for i in points if i < len(after.landmarks)}
    unknown = fields - set(HUMAN_FIELDS)
    if unknown:
        raise ValueError(f"unknown provenance field(s) {sorted(unknown)}; known: {', '.join(HUMAN_FIELDS)}")
    return Provenance(frozenset(fields), frozenset(points))


def replay(edits: Iterable[tuple[str, str, dict | None, dict | None]]) -> Provenance:
    """The provenance of one face from its edit log, oldest first: (op, actor, before, after) with the
    faces as the log's JSON. A delete then restore (undo) keeps what the face had."""
    prov = Provenance()
    for op, actor, before, after in edits:
        if after is None:
            continue  # a delete: a later restore brings the face back with its provenance
        after_face = Face.from_json(after)
        if op == "add":
            prov = next_provenance(Provenance(), None, after_face, actor)
        elif op == "update" and before is not None:
            prov = next_provenance(prov, Face.from_json(before), after_face, actor)
    return prov


def migrate_from_edit_log(conn: sqlite3.Connection) -> None:
    """Schema 4: fill human_fields / human_points of every face from the edit log (inside the migration's
    transaction). One pass over the log in (face, id) order; faces without human work are left as they are."""
    faces = {int(r[0]): r[1] for r in conn.execute("SELECT id, source FROM faces")}
    log = conn.execute(
        "SELECT face_id, op, actor, before, after FROM edits WHERE face_id IS NOT NULL ORDER BY face_id, id"
    )
    by_face: dict[int, list[tuple[str, str, dict | None, dict | None]]] = {}
    for face_id, op, actor, before, after in log:
        if int(face_id) in faces:
            by_face.setdefault(int(face_id), []).append(
                (op, actor, json.loads(before) if before else None, json.loads(after) if after else None))
    for face_id, source in faces.items():
        prov = replay(by_face.get(face_id, ()))
        fields = set(prov.fields)
        if source == FaceSource.HUMAN.value:  # drawn by a person even when the log lacks its add
            fields.add("box")
        if fields or prov.points:
            conn.execute(
                "UPDATE faces SET human_fields = ?, human_points = ? WHERE id = ?",
                (json.dumps(sorted(fields)), json.dumps(sorted(prov.points)), face_id),
            )


@dataclass(frozen=True)
class HumanFace:
    """Only what a person set or confirmed on one face (None: not a human label); what trainers read."""

    face_id: int
    image_id: int
    revision: int
    box: Box | None
    status: FaceStatus | None
    sex: Sex | None
    colors: Colors | None
    landmarks: tuple[Landmark, ...] | None  # all 68 when landmarks are human; see `points` for which
    points: frozenset[int]  # indices a person placed (the rest came with the face)


def human_view(face: Face) -> HumanFace:
    f = set(face.human_fields)
    if face.source is FaceSource.HUMAN:
        f.add("box")
    assert face.id is not None
    return HumanFace(
        face.id, face.image_id, face.revision,
        face.box if "box" in f else None,
        face.status if "status" in f else None,
        face.sex if "sex" in f else None,
        face.colors if "colors" in f else None,
        face.landmarks if "landmarks" in f else None,
        face.human_points if "landmarks" in f else frozenset(),
    )


def human_faces(store, domain: Domain | str | None = None) -> list[HumanFace]:  # store: core.store.ProjectStore
    """Every face with human work, reduced to its human fields: the training readers' one source. With
    `domain`, only faces on images of that domain: the anime models (sex, landmarks, finder) learn from
    anime faces only, never from the human photos (CycleGAN's domain A) in the same project."""
    faces = store.all_faces()
    if domain is not None:
        ids = {r.id for r in store.images(domain=domain)}
        faces = [f for f in faces if f.image_id in ids]
    return [human_view(f) for f in faces if is_human_work(f)]
