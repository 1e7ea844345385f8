"""Provenance: which fields a person set or confirmed is recorded by the edit methods, migrated from the
edit log for older projects, and decides what re-detection may replace and what training reads."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from f2a_studio.core.models import Box, Colors, Face, FaceSource, FaceStatus, Sex
from f2a_studio.core.provenance import VISIBLE_SQL, human_faces, is_human_work
from f2a_studio.core.schema import MIGRATIONS
from f2a_studio.core.store import DB_NAME, ProjectStore

LANDMARKS = tuple((10.0 + i, 20.0 + i % 7, 2) for i in range(68))


def _image(store: ProjectStore) -> int:
    record, _ = store.add_image(hash="h1", cut_path="cuts/h/1.png", source_path="s.png", title_id="1",
                                episode="1", width=200, height=200)
    return record.id


def _detected(store: ProjectStore, image_id: int, box: Box, score: float = 0.9) -> Face:
    [face] = store.add_faces([Face(image_id=image_id, box=box, score=score, landmarks=LANDMARKS)],
                             actor="animeface+template")
    return face


def test_a_model_sex_probability_leaves_a_face_replaceable_and_a_human_label_does_not(store: ProjectStore) -> None:
    image_id = _image(store)
    predicted = _detected(store, image_id, Box(0, 0, 40, 40))
    labelled = _detected(store, image_id, Box(100, 100, 40, 40))
    predicted = store.update_face(replace(predicted, sex=Sex.FEMALE, sex_prob=0.83), actor="model")
    labelled = store.update_face(replace(labelled, sex=Sex.MALE, sex_prob=1.0))  # the studio's actor: human
    assert predicted.revision == 2 and not predicted.human_fields and not is_human_work(predicted)
    assert labelled.human_fields == {"sex"} and is_human_work(labelled)

    new = [Face(image_id=image_id, box=Box(2, 2, 40, 40), score=0.95), Face(image_id=image_id,
                                                                               box=Box(101, 99, 40, 40))]
    store.replace_detections(image_id, new, detector="animeface+template")
    after = store.faces(image_id)
    assert predicted.id not in {f.id for f in after}  # the model's face was replaced by the new detection
    assert labelled.id in {f.id for f in after} and store.face(labelled.id).sex is Sex.MALE
    assert [f.box for f in after if f.id != labelled.id] == [Box(2, 2, 40, 40)]  # no duplicate of the kept face


def test_edits_record_what_a_person_set_and_what_accepting_confirms(store: ProjectStore) -> None:
    image_id = _image(store)
    face = _detected(store, image_id, Box(0, 0, 40, 40))
    moved = list(face.landmarks)
    moved[5] = (50.0, 60.0, 2)
    face = store.update_face(replace(face, landmarks=tuple(moved)))
    assert face.human_fields == {"landmarks"} and face.human_points == {5}
    face = store.update_face(replace(face, status=FaceStatus.ACCEPTED))
    assert face.human_fields == {"landmarks", "status", "box"}  # accepting confirms the box, nothing else
    face = store.update_face(replace(face, landmarks=LANDMARKS), actor="model")  # a refit: still human points
    assert face.human_fields == {"landmarks", "status", "box"} and face.human_points == {5}
    face = store.update_face(replace(face, status=FaceStatus.UNREVIEWED))
    assert face.human_fields == {"landmarks", "box"}  # the review is withdrawn, the box stays confirmed
    face = store.update_face(face, confirm=("colors",))
    assert "colors" in face.human_fields
    drawn = store.add_face(Face(image_id=image_id, box=Box(150, 150, 30, 30), source=FaceSource.HUMAN,
                                status=FaceStatus.ACCEPTED))
    assert drawn.human_fields == {"box", "status"}
    deleted = store.delete_face(drawn.id)
    assert store.restore_face(deleted).human_fields == {"box", "status"}  # undo keeps the provenance


def test_training_reads_only_human_fields(store: ProjectStore) -> None:
    image_id = _image(store)
    face = _detected(store, image_id, Box(0, 0, 40, 40))
    store.update_face(replace(face, sex=Sex.FEMALE, sex_prob=0.7, colors=Colors(hair="#112233")), actor="model")
    _detected(store, image_id, Box(100, 0, 40, 40))  # untouched: not read at all
    store.update_face(replace(store.face(face.id), status=FaceStatus.ACCEPTED))
    [view] = human_faces(store)
    assert view.face_id == face.id and view.box == face.box and view.status is FaceStatus.ACCEPTED
    assert view.sex is None and view.colors is None and view.landmarks is None  # the model's, not a person's


def test_visibility_follows_provenance_not_the_revision(store: ProjectStore) -> None:
    image_id = _image(store)
    low = _detected(store, image_id, Box(0, 0, 40, 40), score=0.2)
    store.update_face(replace(low, sex_prob=0.6), actor="model")  # revision 2, still only model work
    reviewed = _detected(store, image_id, Box(100, 0, 40, 40), score=0.1)
    store.update_face(replace(reviewed, status=FaceStatus.REJECTED))
    rows = store.query(f"SELECT id FROM faces WHERE {VISIBLE_SQL} ORDER BY id", (0.5,))
    assert [r[0] for r in rows] == [reviewed.id]


def _old_json(face: Face) -> str:
    """A face as the schema-2 code logged it (none of the later keys)."""
    data = face.to_json()
    for key in ("finder", "finder_model", "finder_sha256", "raw_score", "score_features", "human_fields",
                "human_points"):
        data.pop(key)
    return json.dumps(data)


def _schema2_project(folder: Path) -> dict[str, int]:
    """A project as schema 2 wrote it: its tables (migrations 1-2), faces and their edit log, raw SQL."""
    folder.mkdir()
    (folder / "cuts").mkdir()
    conn = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for version in (1, 2):
        conn.executescript(MIGRATIONS[version - 1])
        conn.execute("INSERT INTO schema_version VALUES (?, 't')", (version,))
    conn.execute("INSERT INTO images VALUES (1, 'h', 'cuts/h.png', 's.png', '1', '1', 1, 400, 400, 0, 't')")
    ids: dict[str, int] = {}
    next_id = iter(range(1, 100))

    def face(name: str, box: Box, source: FaceSource = FaceSource.DETECTOR, actor: str = "animeface-tiled") -> Face:
        landmarks = () if source is FaceSource.HUMAN else LANDMARKS  # a drawn box had none in schema 2
        f = Face(id=next(next_id), image_id=1, box=box, score=0.5, source=source, landmarks=landmarks,
                 revision=1)
        cols = "id, image_id, x, y, w, h, score, source, status, sex, landmarks, revision, updated_at"
        conn.execute(f"INSERT INTO faces ({cols}) VALUES (?, 1, ?, ?, ?, ?, 0.5, ?, 'unreviewed', 'unknown', ?, 1, "
                     "'t')", (f.id, box.x, box.y, box.w, box.h, source.value,
                              json.dumps([list(p) for p in landmarks])))
        conn.execute("INSERT INTO edits (at, face_id, image_id, op, actor, before, after) "
                     "VALUES ('t', ?, 1, 'add', ?, NULL, ?)", (f.id, actor, _old_json(f)))
        ids[name] = f.id  # type: ignore[assignment]
        return f

    def edit(before: Face, actor: str = "human", **changes) -> Face:
        after = replace(before, revision=before.revision + 1, **changes)
        conn.execute("INSERT INTO edits (at, face_id, image_id, op, actor, before, after) "
                     "VALUES ('t', ?, 1, 'update', ?, ?, ?)", (before.id, actor, _old_json(before), _old_json(after)))
        sets = {"status": after.status.value, "sex": after.sex.value, "sex_prob": after.sex_prob,
                "x": after.box.x, "y": after.box.y, "landmarks": json.dumps([list(p) for p in after.landmarks]),
                "skin": after.colors.skin, "revision": after.revision}
        assignments = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE faces SET {assignments} WHERE id = ?", (*sets.values(), before.id))
        return after

    edit(face("accepted", Box(0, 0, 40, 40)), status=FaceStatus.ACCEPTED)
    edit(face("moved", Box(50, 0, 40, 40)), box=Box(52, 3, 40, 40))
    edit(face("sexed", Box(100, 0, 40, 40)), sex=Sex.FEMALE, sex_prob=1.0)
    points = list(LANDMARKS)
    points[30] = (99.0, 99.0, 1)
    edit(face("point", Box(150, 0, 40, 40)), landmarks=tuple(points))
    edit(face("coloured", Box(200, 0, 40, 40)), colors=Colors(skin="#ffeedd"))
    withdrawn = edit(face("withdrawn", Box(250, 0, 40, 40)), status=FaceStatus.ACCEPTED)
    edit(withdrawn, status=FaceStatus.UNREVIEWED)
    drawn = face("drawn", Box(300, 0, 40, 40), source=FaceSource.HUMAN, actor="human")
    deleted_then_restored = drawn  # an undo of a delete in the log: delete, then restore
    conn.execute("INSERT INTO edits (at, face_id, image_id, op, actor, before, after) "
                 "VALUES ('t', ?, 1, 'delete', 'human', ?, NULL)", (drawn.id, _old_json(drawn)))
    conn.execute("INSERT INTO edits (at, face_id, image_id, op, actor, before, after) "
                 "VALUES ('t', ?, 1, 'restore', 'human', NULL, ?)", (drawn.id, _old_json(deleted_then_restored)))
    edit(face("model_only", Box(0, 100, 40, 40)), actor="model", sex=Sex.MALE, sex_prob=0.7)  # revision 2
    face("untouched", Box(100, 100, 40, 40))
    conn.close()
    return ids


def test_migrating_a_schema2_project_keeps_every_human_edit_human(tmp_path: Path) -> None:
    ids = _schema2_project(tmp_path / "old")
    with ProjectStore.open(tmp_path / "old") as store:
        fields = {name: store.face(i).human_fields for name, i in ids.items()}
        assert fields == {
            "accepted": {"status", "box"},
            "moved": {"box"},
            "sexed": {"sex"},
            "point": {"landmarks"},
            "coloured": {"colors"},
            "withdrawn": {"box"},
            "drawn": {"box"},
            "model_only": set(),
            "untouched": set(),
        }
        assert store.face(ids["point"]).human_points == {30}
        store.replace_detections(1, [], detector="animeface+template")
        left = {f.id for f in store.faces(1)}
    assert left == {i for name, i in ids.items() if name not in ("model_only", "untouched")}
