"""The store's smaller promises, one test each, found by `make mutate` (tools/mutate.py): each mutant of
core/store.py named in a test's docstring passed the rest of the suite before that test was written."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from f2a_studio.core.errors import NotFoundError
from f2a_studio.core.models import Box, Face, FaceSource
from f2a_studio.core.store import CHECKPOINTS_DIR, CUTS_DIR, DB_NAME, ProjectStore


def image(store: ProjectStore, name: str, title: str = "7", episode: str = "1") -> int:
    record, created = store.add_image(hash=name, cut_path=f"cuts/{name}.png", source_path=f"{name}.png",
                                      title_id=title, episode=episode, width=40, height=30)
    assert created
    return record.id


def test_create_works_in_a_folder_that_already_has_the_project_folders(tmp_path: Path) -> None:
    """A project folder whose database was removed (or a half-created one) can be created again.
    Guards `mkdir(exist_ok=True)` → False for cuts/ and checkpoints/."""
    root = tmp_path / "p"
    (root / CUTS_DIR).mkdir(parents=True)
    (root / CHECKPOINTS_DIR).mkdir()
    with ProjectStore.create(root) as store:
        assert store.cuts_dir == root / CUTS_DIR and store.cuts_dir.is_dir()
        assert store.checkpoints_dir == root / CHECKPOINTS_DIR and store.checkpoints_dir.is_dir()


def test_close_leaves_one_self_contained_file(tmp_path: Path) -> None:
    """After close the WAL is checkpointed into the database and removed: a copy of the .sqlite file alone
    holds every edit. Guards "close() skips closing the connection" (`is not None` → `is None`)."""
    root = tmp_path / "p"
    store = ProjectStore.create(root)
    image_id = image(store, "a")
    store.add_face(Face(image_id=image_id, box=Box(1, 2, 3, 4)))
    assert (root / f"{DB_NAME}-wal").exists()
    store.close()
    store.close()  # twice is harmless
    assert not (root / f"{DB_NAME}-wal").exists()
    alone = tmp_path / "copy"
    alone.mkdir()
    (alone / DB_NAME).write_bytes((root / DB_NAME).read_bytes())
    with ProjectStore.open(alone, read_only=True) as copy:
        assert copy.face_count() == 1


def test_the_store_can_be_used_from_another_thread(store: ProjectStore) -> None:
    """The studio's job threads share the session's store. Guards check_same_thread=False → True."""
    image_id = image(store, "a")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            store.add_face(Face(image_id=image_id, box=Box(0, 0, 5, 5)))
            assert store.face_count() == 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == [] and store.face_count() == 1


def test_add_image_says_whether_it_created_the_cut(store: ProjectStore) -> None:
    """Guards `return image_from_row(row), True` → False."""
    first, created = store.add_image(hash="h", cut_path="cuts/h.png", source_path="s", title_id="1",
                                     episode="1", width=10, height=10)
    again, created_again = store.add_image(hash="h", cut_path="cuts/other.png", source_path="t", title_id="1",
                                           episode="1", width=10, height=10)
    assert created is True and created_again is False and again == first


def test_images_filter_by_title_and_episode_in_browsing_order(store: ProjectStore) -> None:
    """Episodes sort as numbers (2 before 10). Guards the deleted `params.append(episode)`, `sql += WHERE`,
    and `ORDER BY` lines of images()."""
    ids = {(t, e): image(store, f"{t}-{e}", t, e) for t, e in [("9", "10"), ("9", "2"), ("3", "1"), ("9", "1")]}
    assert [i.id for i in store.images()] == [ids["3", "1"], ids["9", "1"], ids["9", "2"], ids["9", "10"]]
    assert [i.id for i in store.images(title_id="9")] == [ids["9", "1"], ids["9", "2"], ids["9", "10"]]
    assert [i.id for i in store.images(title_id="9", episode="2")] == [ids["9", "2"]]
    assert [i.id for i in store.images(episode="1")] == [ids["3", "1"], ids["9", "1"]]
    assert store.images(title_id="nope") == []


def test_missing_ids_raise_not_found(store: ProjectStore) -> None:
    """Guards the deleted `raise NotFoundError` lines of image(), update_face() and restore_face()."""
    image_id = image(store, "a")
    with pytest.raises(NotFoundError, match="no image with id 99"):
        store.image(99)
    with pytest.raises(NotFoundError, match="no face with id 42"):
        store.update_face(Face(image_id=image_id, box=Box(0, 0, 1, 1), id=42))
    with pytest.raises(NotFoundError, match="has no id"):
        store.restore_face(Face(image_id=image_id, box=Box(0, 0, 1, 1)))
    assert store.face_count() == 0 and store.edits() == []


def test_sources_seen_are_remembered(store: ProjectStore) -> None:
    """Guards the deleted INSERT of record_source() (a re-import would decode every file again)."""
    assert not store.source_seen("abc")
    store.record_source("abc", "strip.png", 3)
    assert store.source_seen("abc") and not store.source_seen("abd")


def test_faces_of_an_image_and_add_faces_return_the_stored_faces(store: ProjectStore) -> None:
    """Guards `return [...]` → `return None` in faces() and add_faces()."""
    a, b = image(store, "a"), image(store, "b")
    added = store.add_faces([Face(image_id=a, box=Box(0, 0, 4, 4)), Face(image_id=a, box=Box(9, 9, 4, 4))])
    store.add_face(Face(image_id=b, box=Box(1, 1, 2, 2)))
    assert [f.box for f in added] == [Box(0, 0, 4, 4), Box(9, 9, 4, 4)] and all(f.id for f in added)
    assert store.faces(a) == added


@pytest.mark.parametrize(("shift", "kept_twice"), [(2, False), (6, True)])
def test_re_detection_drops_only_boxes_overlapping_human_work_by_half(store: ProjectStore, shift: int,
                                                                    kept_twice: bool) -> None:
    """A detection over a face a person made is dropped from IoU 0.5 up. Boxes 10×10 moved by 2 px:
    IoU 80/120 = 0.67 (dropped); by 6 px: 40/160 = 0.25 (added). Guards the 0.5 → 0.75 constant."""
    image_id = image(store, "a")
    human = store.add_face(Face(image_id=image_id, box=Box(0, 0, 10, 10), source=FaceSource.HUMAN))
    result = store.replace_detections(image_id, [Face(image_id=image_id, box=Box(shift, 0, 10, 10))],
                                      detector="test")
    assert result[0] == human and len(result) == (2 if kept_twice else 1)
    if shift == 2:  # IoU 0.67 would survive a 0.75 threshold: this case is the one that tells
        assert Box(0, 0, 10, 10).iou(Box(2, 0, 10, 10)) == pytest.approx(80 / 120)


def test_all_faces_by_image_then_id_and_by_status(store: ProjectStore) -> None:
    """Guards `return [...]` → `return None` in all_faces() (found by the mutation run after the others)."""
    from dataclasses import replace

    from f2a_studio.core.models import FaceStatus

    b, a = image(store, "b"), image(store, "a")
    late = store.add_face(Face(image_id=a, box=Box(0, 0, 4, 4)))
    early = store.add_face(Face(image_id=b, box=Box(1, 1, 4, 4)))
    accepted = store.update_face(replace(late, status=FaceStatus.ACCEPTED))
    assert [f.id for f in store.all_faces()] == [early.id, late.id]  # image b was added first
    assert store.all_faces(status="accepted") == [accepted] and store.all_faces(status=FaceStatus.REJECTED) == []
