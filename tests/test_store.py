from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from f2a_studio.core.errors import NotFoundError, ProjectError, ReadOnlyProjectError, StaleEditError
from f2a_studio.core.models import Box, Colors, Face, FaceSource, FaceStatus, Sex
from f2a_studio.core.schema import SCHEMA_VERSION
from f2a_studio.core.store import DB_NAME, ProjectStore


def add_image(store: ProjectStore, n: int = 1, title: str = "111", episode: str = "1") -> list[int]:
    ids = []
    for i in range(n):
        record, _ = store.add_image(
            hash=f"{title}-{episode}-{i}", cut_path=f"cuts/x/{i}.png", source_path="src.png",
            title_id=title, episode=episode, width=100, height=200,
        )
        ids.append(record.id)
    return ids


def test_create_sets_wal_foreign_keys_and_schema(store: ProjectStore) -> None:
    conn = sqlite3.connect(store.root / DB_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert (store.root / "cuts").is_dir() and (store.root / "checkpoints").is_dir()


def test_face_lifecycle_and_edit_log(store: ProjectStore) -> None:
    (image_id,) = add_image(store)
    face = store.add_face(Face(image_id=image_id, box=Box(1, 2, 30, 40), score=0.7))
    assert face.id is not None and face.revision == 1
    edited = store.update_face(replace(face, sex=Sex.FEMALE, colors=Colors(hair="#ff0000")))
    assert edited.revision == 2
    assert store.face(face.id).sex is Sex.FEMALE
    deleted = store.delete_face(face.id)
    with pytest.raises(NotFoundError):
        store.face(face.id)
    restored = store.restore_face(deleted)
    assert restored.id == face.id and store.face(face.id).colors.hair == "#ff0000"
    log = store.edits(face_id=face.id)
    assert [e.op for e in log] == ["add", "update", "delete", "restore"]
    assert log[1].before["sex"] == "unknown" and log[1].after["sex"] == "female"
    assert log[2].after is None


def test_stale_edit_is_refused(store: ProjectStore) -> None:
    (image_id,) = add_image(store)
    face = store.add_face(Face(image_id=image_id, box=Box(0, 0, 10, 10)))
    store.update_face(replace(face, score=0.5))
    with pytest.raises(StaleEditError, match="revision 1"):
        store.update_face(replace(face, score=0.2))
    assert store.face(face.id).score == 0.5


def test_replace_detections_keeps_human_work(store: ProjectStore) -> None:
    (image_id,) = add_image(store)
    auto = store.add_face(Face(image_id=image_id, box=Box(0, 0, 10, 10), score=0.6))
    human = store.add_face(Face(image_id=image_id, box=Box(50, 50, 20, 20), source=FaceSource.HUMAN))
    reviewed = store.update_face(
        replace(store.add_face(Face(image_id=image_id, box=Box(80, 0, 10, 10))), status=FaceStatus.ACCEPTED)
    )
    new = [
        Face(image_id=image_id, box=Box(51, 51, 20, 20), score=0.9),
        Face(image_id=image_id, box=Box(0, 100, 9, 9)),
    ]
    result = store.replace_detections(image_id, new, detector="test")
    ids = {f.id for f in store.faces(image_id)}
    assert auto.id not in ids
    assert {human.id, reviewed.id} <= ids
    # the detection overlapping the human face was not added twice
    assert len(result) == 3 and len(store.faces(image_id)) == 3
    assert store.detected_image_ids() == {image_id}


def test_deleting_an_image_cascades_to_its_faces(store: ProjectStore) -> None:
    (image_id,) = add_image(store)
    store.add_face(Face(image_id=image_id, box=Box(0, 0, 10, 10)))
    with store._write() as conn:
        conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
    assert store.face_count() == 0


def test_face_on_missing_image_is_refused(store: ProjectStore) -> None:
    with pytest.raises(ProjectError, match="image 999"):
        store.add_face(Face(image_id=999, box=Box(0, 0, 1, 1)))


def test_second_program_gets_read_only_notice(store: ProjectStore) -> None:
    (image_id,) = add_image(store)
    with ProjectStore.open(store.root) as second:
        assert second.read_only
        assert "open in another F2A Studio" in second.read_only_reason
        with pytest.raises(ReadOnlyProjectError, match="read-only"):
            second.add_face(Face(image_id=image_id, box=Box(0, 0, 1, 1)))
        # the reader sees what the writer commits afterwards
        store.add_face(Face(image_id=image_id, box=Box(0, 0, 5, 5)))
        assert len(second.faces(image_id)) == 1
    assert store.integrity_check() == "ok"


def test_lock_is_released_on_close(tmp_path: Path) -> None:
    first = ProjectStore.create(tmp_path / "p")
    first.close()
    with ProjectStore.open(tmp_path / "p") as again:
        assert not again.read_only


def test_newer_schema_is_refused(store: ProjectStore) -> None:
    with store._write() as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'x')", (SCHEMA_VERSION + 5,))
    root = store.root
    store.close()
    with pytest.raises(ProjectError, match="newer F2A Studio"):
        ProjectStore.open(root)


def test_not_a_project(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_text("this is not sqlite")
    with pytest.raises(ProjectError, match="not a readable F2A project"):
        ProjectStore.open(tmp_path)
    with pytest.raises(ProjectError, match="already holds a project"):
        ProjectStore.create(tmp_path)
    with pytest.raises(ProjectError, match="not a folder"):
        ProjectStore.open(tmp_path / "missing")


def test_cut_indices_continue_per_episode(store: ProjectStore) -> None:
    add_image(store, 3, "777", "2")
    add_image(store, 1, "777", "3")
    names = [i.name for i in store.images()]
    assert names == ["777_2_cut_001", "777_2_cut_002", "777_2_cut_003", "777_3_cut_001"]


def test_stats(store: ProjectStore) -> None:
    a, _ = add_image(store, 2)
    store.add_face(Face(image_id=a, box=Box(0, 0, 1, 1), sex=Sex.MALE, status=FaceStatus.ACCEPTED))
    stats = store.stats().to_json()
    assert stats["images"] == 2 and stats["faces"] == 1 and stats["images_without_faces"] == 1
    assert stats["faces_by_status"]["accepted"] == 1 and stats["faces_by_sex"]["male"] == 1
    assert stats["titles"] == ["111"]


def test_query_is_read_only(store: ProjectStore) -> None:
    add_image(store, 2)
    assert store.query("SELECT count(*) FROM images")[0][0] == 2
    for sql in ("DELETE FROM images", "  update images set width = 1", "PRAGMA writable_schema = 1", ""):
        with pytest.raises(ProjectError, match="SELECT statement only"):
            store.query(sql)
    assert store.image_count() == 2


def test_old_projects_are_migrated(tmp_path: Path) -> None:
    """A project at schema 1 opens at the current schema with its data and the new index."""
    root = tmp_path / "old"
    root.mkdir()
    from f2a_studio.core.schema import MIGRATIONS

    conn = sqlite3.connect(root / DB_NAME)
    conn.executescript(MIGRATIONS[0])
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    conn.execute(
        "INSERT INTO images VALUES (1, 'h', 'c.png', 's', '9', '1', 1, 10, 10, 0, 'then')"
    )
    conn.commit()
    conn.close()
    with ProjectStore.open(root) as store:
        assert store.image(1).name == "9_1_cut_001"
        versions = [r[0] for r in store.query("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        indexes = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "faces_review" in indexes
