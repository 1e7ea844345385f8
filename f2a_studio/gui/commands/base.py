"""Base of every studio command: runs one store write and turns a failure into a message, not a crash."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from f2a_studio.core.errors import F2AError
from f2a_studio.gui.session import Session


class StoreCommand(QUndoCommand):
    """Subclasses implement `_redo`/`_undo`, each one store transaction through the session.

    A write that fails (face deleted by a detection run meanwhile, disk full) marks the command obsolete,
    so QUndoStack drops it instead of keeping a step that cannot be replayed.
    """

    def __init__(self, session: Session, face_id: int | None, text: str) -> None:
        super().__init__(text)
        self.session = session
        self.face_id = face_id

    def redo(self) -> None:
        self._run(self._redo)

    def undo(self) -> None:
        self._run(self._undo)

    def _run(self, step) -> None:
        try:
            step()
        except F2AError as exc:
            self.setObsolete(True)
            self.session.report(f"{self.text()} failed: {exc}")

    def _redo(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError
