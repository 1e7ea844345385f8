"""The project store: one SQLite file in WAL mode, one transaction per edit, an append-only edit log.

Every write method commits before it returns, so whatever the caller showed as done survives a kill.
One program writes; a second one opens the same project read-only and is told why.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from f2a_studio.core.errors import NotFoundError, ProjectError, ReadOnlyProjectError, StaleEditError
from f2a_studio.core.files import remove_stale_temp_files
from f2a_studio.core.lock import LOCK_NAME, LockHeld, ProjectLock
from f2a_studio.core.models import Domain, Face, FaceStatus, ImageRecord, Landmark, Pose
from f2a_studio.core.provenance import Provenance, is_human_work, next_provenance
from f2a_studio.core.rows import (
    FACE_COLUMNS,
    IMAGE_COLUMNS,
    N_FACE_COLUMNS,
    face_from_row,
    face_values,
    image_from_row,
)
from f2a_studio.core.schema import MIGRATIONS, SCHEMA_VERSION
from f2a_studio.core.stats import EpisodeCount, ProjectStats, project_stats

__all__ = ["EditRecord", "EpisodeCount", "ProjectStats", "ProjectStore", "is_project", "remove_new_project"]

_log = logging.getLogger(__name__)

DB_NAME = "project.f2a.sqlite"
CUTS_DIR = "cuts"
CHECKPOINTS_DIR = "checkpoints"

Durability = Literal["full", "normal"]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def is_project(folder: Path | str) -> bool:
    return (Path(folder) / DB_NAME).is_file()


def remove_new_project(folder: Path | str, *, remove_folder: bool) -> None:
    """Undo `ProjectStore.create` for a project that got nothing (an import of only bad files): remove the
    database, its WAL files, the lock and the empty folders it made; never anything else in the folder."""
    root = Path(folder)
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME):
        with contextlib.suppress(OSError):
            (root / name).unlink()
    for sub in (CUTS_DIR, CHECKPOINTS_DIR):
        with contextlib.suppress(OSError):
            (root / sub).rmdir()  # only when empty
    if remove_folder:
        with contextlib.suppress(OSError):
            root.rmdir()


@dataclass(frozen=True)
class EditRecord:
    id: int
    at: str
    face_id: int | None
    image_id: int | None
    op: str
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ProjectStore:
    """Open with `ProjectStore.create(folder)` or `ProjectStore.open(folder)`; use as a context manager."""

    def __init__(
        self,
        root: Path,
        conn: sqlite3.Connection,
        lock: ProjectLock | None,
        read_only_reason: str | None,
    ) -> None:
        self.root = root
        self._conn = conn
        self._lock = lock
        self.read_only_reason = read_only_reason
        self._mutex = threading.RLock()
        self.broken_faces: dict[int, str] = {}  # damaged face rows met so far: id → reason
        self._broken_on: dict[int, int] = {}  # and the image each is on

    # ---------------------------------------------------------------- open / close

    @classmethod
    def create(cls, folder: Path | str, *, durability: Durability = "full") -> ProjectStore:
        root = Path(folder)
        if is_project(root):
            raise ProjectError(f"{root} already holds a project")
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / CUTS_DIR).mkdir(exist_ok=True)
            (root / CHECKPOINTS_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create project folder {root}: {exc.strerror or exc}") from exc
        return cls.open(root, durability=durability)

    @classmethod
    def open(
        cls, folder: Path | str, *, read_only: bool = False, durability: Durability = "full"
    ) -> ProjectStore:
        root = Path(folder)
        db_path = root / DB_NAME
        if not root.is_dir():
            raise ProjectError(f"{root} is not a folder")
        exists = db_path.is_file()
        if exists and db_path.stat().st_size == 0:
            # SQLite would take a zero-byte file as a new database and set it up: a truncated project would
            # silently become an empty one.
            raise ProjectError(f"{db_path} is empty: not an F2A project; remove it to start a new project")
        lock: ProjectLock | None = None
        reason: str | None = "opened read-only on request" if read_only else None
        if not read_only:
            got = ProjectLock.acquire(root)
            if isinstance(got, LockHeld):
                reason = got.reason
            else:
                lock = got
        if reason is not None and not exists:
            raise ProjectError(f"{root} holds no project ({DB_NAME} missing) and cannot be created: {reason}")
        try:
            conn = cls._connect(db_path, read_only=reason is not None, durability=durability)
            store = cls(root, conn, lock, reason)
            if reason is None:
                store._migrate()
                remove_stale_temp_files(root / CUTS_DIR)  # what an import killed outright left behind
            else:
                store._check_version()
        except sqlite3.DatabaseError as exc:
            if lock:
                lock.release()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code == sqlite3.SQLITE_FULL:
                raise ProjectError(f"cannot open {db_path}: the disk holding {root} is full") from exc
            if code == sqlite3.SQLITE_READONLY:
                raise ProjectError(f"cannot open {db_path}: the project database is read-only") from exc
            raise ProjectError(f"{db_path} is not a readable F2A project database: {exc}") from exc
        except BaseException:
            if lock:
                lock.release()
            raise
        return store

    @staticmethod
    def _connect(db_path: Path, *, read_only: bool, durability: Durability) -> sqlite3.Connection:
        if read_only:
            uri = f"{db_path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # WAL needs a writable -shm; without write access fall back to an immutable snapshot.
                conn.close()
                uri = f"{db_path.resolve().as_uri()}?immutable=1"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False, timeout=10)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "schema_version" not in tables:  # another program's database: change nothing in it
                conn.close()
                raise ProjectError(f"{db_path} is not an F2A project database (it holds tables "
                                   f"{', '.join(sorted(tables)[:5])} but no schema_version)")
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed edit survives power loss, not just a killed process (~1 fsync per edit).
            conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.row_factory = sqlite3.Row
        return conn

    def _check_version(self) -> int:
        try:
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError as exc:
            raise ProjectError(f"{self.root} is not an F2A project (no schema_version table)") from exc
        version = int(row[0] or 0)
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.root} was written by a newer F2A Studio (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        return version

    def _migrate(self) -> None:
        with self._mutex:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = self._check_version()
            for version in range(current + 1, SCHEMA_VERSION + 1):
                script = MIGRATIONS[version - 1]
                if callable(script):  # a Python migration (schema.py): one transaction too
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        script(self._conn)
                        self._conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, utc_now()))
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                    continue
                # executescript commits first; wrap the migration itself in one transaction.
                self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\n"
                    f"INSERT INTO schema_version VALUES ({version}, '{utc_now()}');\nCOMMIT;"
                )

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed on success, rolled back on any error."""
        if self.read_only:
            raise ReadOnlyProjectError(f"{self.root} is read-only: {self.read_only_reason}")
        with self._mutex:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._write_error(exc) from exc
            try:
                yield self._conn
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.OperationalError):
                    raise self._write_error(exc) from exc
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._write_error(exc) from exc

    def _rollback(self) -> None:
        """Roll back if a transaction is still open: SQLite ends it by itself on some errors (a full disk),
        and a second ROLLBACK would raise "cannot rollback - no transaction is active" over the real cause."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _write_error(self, exc: sqlite3.Error) -> ProjectError:
        """A write that SQLite refused, as a ProjectError naming the cause (never a raw sqlite message alone)."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            why = f"the disk holding {self.root} is full"
        elif code == sqlite3.SQLITE_READONLY:
            why = "the project database is read-only (no write permission, or a read-only file system)"
        elif code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            why = "the database is busy (another program is writing to it)"
        elif code == sqlite3.SQLITE_IOERR:
            why = f"an input/output error on the disk holding {self.root} ({exc})"
        else:
            why = str(exc)
        return ProjectError(f"cannot write to {self.root / DB_NAME}: {why}")

    def _read(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return self._conn.execute(sql, params).fetchall()

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        """A read-only SQL query, for aggregate views (browser counts, review queue) that would be slow
        through the dataclasses. Writes must go through the edit methods, so anything but a SELECT is refused."""
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head not in ("SELECT", "WITH"):
            raise ProjectError(f"query() takes a SELECT statement only, not {head or 'an empty statement'}")
        return self._read(sql, params)

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])

    # ---------------------------------------------------------------- paths

    def cut_file(self, image: ImageRecord) -> Path:
        return self.root / image.cut_path

    @property
    def cuts_dir(self) -> Path:
        return self.root / CUTS_DIR

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / CHECKPOINTS_DIR

    # ---------------------------------------------------------------- images

    def add_image(
        self,
        *,
        hash: str,
        cut_path: str,
        source_path: str,
        title_id: str,
        episode: str,
        width: int,
        height: int,
        has_alpha: bool = False,
        cut_index: int | None = None,
        domain: Domain | str = Domain.ANIME,
    ) -> tuple[ImageRecord, bool]:
        """Insert a cut (or return the existing one with the same content hash). -> (record, created).
        An existing cut keeps its domain: importing the same pixels again never re-labels them."""
        domain = Domain.parse(domain)
        with self._write() as conn:
            row = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM images WHERE hash = ?", (hash,)).fetchone()
            if row is not None:
                return image_from_row(row), False
            if cut_index is None or conn.execute(
                "SELECT 1 FROM images WHERE title_id = ? AND episode = ? AND cut_index = ?",
                (title_id, episode, cut_index),
            ).fetchone():
                cut_index = self._next_cut_index(conn, title_id, episode)
            cur = conn.execute(
                f"INSERT INTO images ({IMAGE_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (hash, cut_path, source_path, title_id, episode, cut_index, width, height, int(has_alpha), utc_now(),
                 domain.value),
            )
            row = conn.execute(f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?", (cur.lastrowid,)).fetchone()
            return image_from_row(row), True

    @staticmethod
    def _next_cut_index(conn: sqlite3.Connection, title_id: str, episode: str) -> int:
        row = conn.execute(
            "SELECT max(cut_index) FROM images WHERE title_id = ? AND episode = ?", (title_id, episode)
        ).fetchone()
        return int(row[0] or 0) + 1

    def image(self, image_id: int) -> ImageRecord:
        rows = self._read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise NotFoundError(f"no image with id {image_id}")
        return image_from_row(rows[0])

    def image_by_hash(self, hash: str) -> ImageRecord | None:
        rows = self._read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE hash = ?", (hash,))
        return image_from_row(rows[0]) if rows else None

    def images(self, *, title_id: str | None = None, episode: str | None = None,
               domain: Domain | str | None = None) -> list[ImageRecord]:
        sql = f"SELECT {IMAGE_COLUMNS} FROM images"
        where, params = [], []
        if domain is not None:
            where.append("domain = ?")
            params.append(Domain.parse(domain).value)
        if title_id is not None:
            where.append("title_id = ?")
            params.append(title_id)
        if episode is not None:
            where.append("episode = ?")
            params.append(episode)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY title_id, CAST(episode AS INTEGER), episode, cut_index"
        return [image_from_row(r) for r in self._read(sql, params)]

    def image_count(self) -> int:
        return int(self._read("SELECT count(*) FROM images")[0][0])

    def source_seen(self, sha256: str) -> bool:
        return bool(self._read("SELECT 1 FROM sources WHERE sha256 = ?", (sha256,)))

    def record_source(self, sha256: str, path: str, n_cuts: int) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)", (sha256, path, n_cuts, utc_now())
            )

    # ---------------------------------------------------------------- faces: reads

    def face(self, face_id: int) -> Face:
        rows = self._read(f"SELECT {FACE_COLUMNS} FROM faces WHERE id = ?", (face_id,))
        if not rows:
            raise NotFoundError(f"no face with id {face_id}")
        try:
            return face_from_row(rows[0])
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ProjectError(f"face {face_id} in {self.root / DB_NAME} is damaged: {exc}") from exc

    def _damaged_or_face(self, row: sqlite3.Row) -> Face:
        try:
            return face_from_row(row)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ProjectError(f"face {row['id']} in {self.root / DB_NAME} is damaged: {exc}") from exc

    def _faces_from_rows(self, rows: list[sqlite3.Row]) -> list[Face]:
        """Rows → faces; a damaged row (broken JSON, a bad value) is skipped and remembered in
        `broken_faces` (id → reason) for the caller to report, so one bad row never stops a whole view."""
        faces = []
        for row in rows:
            try:
                faces.append(face_from_row(row))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                reason = f"damaged row skipped: {exc}"
                if self.broken_faces.get(row["id"]) != reason:
                    _log.warning("face %s in %s: %s", row["id"], self.root / DB_NAME, reason)
                self.broken_faces[row["id"]] = reason
                self._broken_on[row["id"]] = row["image_id"]
        return faces

    def damaged_faces(self, image_id: int) -> list[int]:
        """Ids of the damaged face rows met so far on this image (skipped by every read)."""
        return sorted(fid for fid, img in self._broken_on.items() if img == image_id)

    def faces(self, image_id: int) -> list[Face]:
        rows = self._read(f"SELECT {FACE_COLUMNS} FROM faces WHERE image_id = ? ORDER BY id", (image_id,))
        return self._faces_from_rows(rows)

    def all_faces(self, *, status: FaceStatus | str | None = None) -> list[Face]:
        if status is None:
            rows = self._read(f"SELECT {FACE_COLUMNS} FROM faces ORDER BY image_id, id")
        else:
            rows = self._read(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE status = ? ORDER BY image_id, id",
                (FaceStatus(status).value,),
            )
        return self._faces_from_rows(rows)

    def face_count(self) -> int:
        return int(self._read("SELECT count(*) FROM faces")[0][0])

    # ---------------------------------------------------------------- faces: writes (one transaction each)

    def add_face(self, face: Face, *, actor: str = "human") -> Face:
        with self._write() as conn:
            return self._insert_face(conn, face, actor=actor, op="add")

    def add_faces(self, faces: list[Face], *, actor: str = "detector") -> list[Face]:
        """Several faces in one transaction (a detector's result for one image)."""
        with self._write() as conn:
            return [self._insert_face(conn, f, actor=actor, op="add") for f in faces]

    def update_face(
        self,
        face: Face,
        *,
        actor: str = "human",
        check_revision: bool = True,
        confirm: tuple[str, ...] = (),
        restore: Provenance | None = None,
    ) -> Face:
        """Store `face` as the new state of face `face.id`; its revision goes up by one.

        With check_revision, `face.revision` must be the stored one (the edit was made on what is stored).
        Provenance (`human_fields`, `human_points`) is worked out here from `actor` (core/provenance.py);
        whatever `face` carries there is ignored. `confirm`: fields a human edit confirms unchanged.
        `restore`: put back exactly this provenance (an undo returns the face to its earlier state, who set
        what included; a redo then computes the same provenance again from the same edit).
        """
        if face.id is None:
            raise NotFoundError("cannot update a face that has no id")
        with self._write() as conn:
            row = conn.execute(f"SELECT {FACE_COLUMNS} FROM faces WHERE id = ?", (face.id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no face with id {face.id}")
            before = self._damaged_or_face(row)
            if check_revision and face.revision != before.revision:
                raise StaleEditError(
                    f"face {face.id} changed meanwhile (edit based on revision {face.revision}, "
                    f"stored revision {before.revision})"
                )
            return self._update_row(conn, before, face, actor=actor, confirm=confirm, restore=restore)

    def _update_row(self, conn: sqlite3.Connection, before: Face, face: Face, *, actor: str,
                    confirm: tuple[str, ...] = (), restore: Provenance | None = None) -> Face:
        prov = restore
        if prov is None:
            prov = next_provenance(Provenance.of(before), before, face, actor, confirm)
        after = replace(face, id=before.id, image_id=before.image_id, revision=before.revision + 1,
                        updated_at=utc_now(), human_fields=prov.fields, human_points=prov.points)
        conn.execute(
            "UPDATE faces SET x=?, y=?, w=?, h=?, score=?, source=?, status=?, sex=?, sex_prob=?, skin=?, "
            "hair=?, left_eye=?, right_eye=?, parts=?, landmarks=?, yaw=?, pitch=?, roll=?, revision=?, "
            "updated_at=?, finder=?, finder_model=?, finder_sha256=?, raw_score=?, score_features=?, "
            "human_fields=?, human_points=? WHERE id=?",
            (*face_values(after)[2:], after.id),
        )
        self._log(conn, "update", actor, before, after)
        return after

    def add_labelled_faces(self, faces: list[Face], fits: list[tuple[tuple[Landmark, ...], Pose | None]], *,
                           actor: str, fit_actor: str = "model", supersede: Iterable[int] = ()) -> list[Face]:
        """Boxes a person drew in another tool, each with the landmarks and pose a model fitted to it, all in
        one transaction. Logged as the studio logs a box drawn by hand: the add (the box and status are the
        person's) and then an update by `fit_actor` with the fitted points, so the landmarks stay a
        prediction (also when provenance is replayed from the log) and a later refit may replace them.
        `supersede`: ids of model-only faces the new boxes stand for (a detection of the same face); they
        are deleted, unless someone has worked on one meanwhile."""
        if len(faces) != len(fits):
            raise ValueError(f"{len(faces)} faces but {len(fits)} fits")
        out: list[Face] = []
        with self._write() as conn:
            for face_id in supersede:
                row = conn.execute(f"SELECT {FACE_COLUMNS} FROM faces WHERE id = ?", (face_id,)).fetchone()
                if row is None:
                    continue
                old = self._damaged_or_face(row)
                if not is_human_work(old):
                    conn.execute("DELETE FROM faces WHERE id = ?", (face_id,))
                    self._log(conn, "delete", actor, old, None)
            for face, (landmarks, pose) in zip(faces, fits, strict=True):
                added = self._insert_face(conn, replace(face, landmarks=(), pose=None), actor=actor, op="add")
                if landmarks:
                    added = self._update_row(conn, added, replace(added, landmarks=landmarks, pose=pose),
                                             actor=fit_actor)
                out.append(added)
        return out

    def delete_face(self, face_id: int, *, actor: str = "human") -> Face:
        with self._write() as conn:
            row = conn.execute(f"SELECT {FACE_COLUMNS} FROM faces WHERE id = ?", (face_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no face with id {face_id}")
            before = self._damaged_or_face(row)
            conn.execute("DELETE FROM faces WHERE id = ?", (face_id,))
            self._log(conn, "delete", actor, before, None)
            return before

    def restore_face(self, face: Face, *, actor: str = "human") -> Face:
        """Put a deleted face back under its old id (undo of a delete)."""
        if face.id is None:
            raise NotFoundError("cannot restore a face that has no id")
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM faces WHERE id = ?", (face.id,)).fetchone():
                raise ProjectError(f"face {face.id} exists already")
            return self._insert_face(conn, face, actor=actor, op="restore", keep_id=True)

    def replace_detections(
        self, image_id: int, faces: list[Face], *, detector: str, error: str | None = None
    ) -> list[Face]:
        """Swap the model-only faces of an image for a new result, in one transaction.

        A face with any human work (provenance.is_human_work: drawn by a person, or any field a person
        set or confirmed) is kept whole, model-written fields included; new detections overlapping it
        (IoU ≥ 0.5) are dropped so a re-run never duplicates a corrected face. Faces only detectors and
        models wrote (however often revised) are replaced.
        """
        with self._write() as conn:
            rows = conn.execute(f"SELECT {FACE_COLUMNS} FROM faces WHERE image_id = ?", (image_id,)).fetchall()
            existing = self._faces_from_rows(rows)  # a damaged row is left as it is, never deleted
            kept = [f for f in existing if is_human_work(f)]
            for old in existing:
                if not is_human_work(old):
                    conn.execute("DELETE FROM faces WHERE id = ?", (old.id,))
                    self._log(conn, "delete", detector, old, None)
            added = [
                self._insert_face(conn, replace(f, image_id=image_id, id=None), actor=detector, op="add")
                for f in faces
                if all(f.box.iou(k.box) < 0.5 for k in kept)
            ]
            conn.execute(
                "INSERT OR REPLACE INTO detection_runs VALUES (?, ?, ?, ?, ?)",
                (image_id, detector, utc_now(), len(added), error),
            )
            return kept + added

    def detected_image_ids(self) -> set[int]:
        return {int(r[0]) for r in self._read("SELECT image_id FROM detection_runs")}

    def _insert_face(
        self, conn: sqlite3.Connection, face: Face, *, actor: str, op: str, keep_id: bool = False
    ) -> Face:
        stored = replace(face, revision=face.revision if keep_id else 1, updated_at=utc_now())
        # A restore (undo of a delete) keeps the provenance the face had. An add starts from what the face
        # carries (import-coco brings an F2A export's provenance back) plus what its source implies.
        if op == "add":
            prov = next_provenance(Provenance.of(face), None, face, actor)
            stored = replace(stored, human_fields=prov.fields, human_points=prov.points)
        values = face_values(stored)
        if not keep_id:
            values = (None, *values[1:])
        try:
            cur = conn.execute(f"INSERT INTO faces ({FACE_COLUMNS}) VALUES ({', '.join('?' * N_FACE_COLUMNS)})", values)
        except sqlite3.IntegrityError as exc:
            raise ProjectError(f"cannot add face to image {face.image_id}: {exc}") from exc
        stored = replace(stored, id=int(cur.lastrowid))
        self._log(conn, op, actor, None, stored)
        return stored

    @staticmethod
    def _log(conn: sqlite3.Connection, op: str, actor: str, before: Face | None, after: Face | None) -> None:
        face = after or before
        assert face is not None
        conn.execute(
            "INSERT INTO edits (at, face_id, image_id, op, actor, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                utc_now(),
                face.id,
                face.image_id,
                op,
                actor,
                json.dumps(before.to_json()) if before else None,
                json.dumps(after.to_json()) if after else None,
            ),
        )

    # ---------------------------------------------------------------- log and statistics

    def edits(self, *, face_id: int | None = None, limit: int | None = None) -> list[EditRecord]:
        sql = "SELECT id, at, face_id, image_id, op, actor, before, after FROM edits"
        params: list[Any] = []
        if face_id is not None:
            sql += " WHERE face_id = ?"
            params.append(face_id)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            EditRecord(
                r["id"], r["at"], r["face_id"], r["image_id"], r["op"], r["actor"],
                json.loads(r["before"]) if r["before"] else None,
                json.loads(r["after"]) if r["after"] else None,
            )
            for r in self._read(sql, params)
        ]

    def stats(self) -> ProjectStats:
        return project_stats(self)
