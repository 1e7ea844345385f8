"""The studio's one door to the project: a ProjectStore plus the one QUndoStack every edit goes through.

Each write is one store transaction, committed before the signal that tells the widgets to redraw; the
widgets then read the face back from the store, so nothing on screen is a state the store lacks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Face
from f2a_studio.core.provenance import Provenance
from f2a_studio.core.store import ProjectStore


class Session(QObject):
    faceChanged = Signal(int)  # face id, updated in the store
    faceAdded = Signal(int)  # face id, now in the store
    faceRemoved = Signal(int, int)  # face id, image id
    imageFacesReset = Signal(int)  # image id whose faces were replaced wholesale (detection)
    imagesAdded = Signal()  # import finished: the browser reloads
    errorRaised = Signal(str)

    def __init__(self, store: ProjectStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        # What the widgets read through: a second, read-only connection. In WAL mode it sees every
        # committed write at once, and it never waits behind a background writer's transaction (a
        # detection run committing with fsync), so drawing never blocks on the store's write lock.
        self.reads = store if store.read_only else ProjectStore.open(store.root, read_only=True)
        self.undo_stack = QUndoStack(self)

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    @property
    def read_only_reason(self) -> str | None:
        return self.store.read_only_reason

    # ------------------------------------------------------------ writes (one transaction each)

    def update(
        self, face_id: int, changes: dict[str, Any], *, actor: str = "human", provenance: Provenance | None = None
    ) -> Face:
        """Store the face with `changes` applied (absolute values, so applying twice is harmless). `actor`
        "model" for predictions (a refit), which never count as human work; `provenance` restores the
        recorded provenance exactly (undo)."""
        current = self.store.face(face_id)
        stored = self.store.update_face(replace(current, **changes), actor=actor, restore=provenance)
        self.faceChanged.emit(face_id)
        return stored

    def add(self, face: Face) -> Face:
        stored = self.store.add_face(face)
        assert stored.id is not None
        self.faceAdded.emit(stored.id)
        return stored

    def restore(self, face: Face) -> Face:
        stored = self.store.restore_face(face)
        assert stored.id is not None
        self.faceAdded.emit(stored.id)
        return stored

    def delete(self, face_id: int) -> Face:
        before = self.store.delete_face(face_id)
        self.faceRemoved.emit(face_id, before.image_id)
        return before

    # ------------------------------------------------------------ undo stack

    def push(self, command: QUndoCommand) -> bool:
        """Run and record one edit. Refused (with a message) when the project is read-only."""
        if self.read_only:
            self.errorRaised.emit(f"read-only project: {self.read_only_reason}")
            return False
        self.undo_stack.push(command)
        return True

    def report(self, message: str) -> None:
        self.errorRaised.emit(message)

    def close(self) -> None:
        self.undo_stack.clear()
        if self.reads is not self.store:
            self.reads.close()
        self.store.close()


def describe_error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, F2AError) else f"{type(exc).__name__}: {exc}"
