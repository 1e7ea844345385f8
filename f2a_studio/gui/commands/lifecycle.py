"""AddFace (a box drawn by hand) and DeleteFace. Undo of a delete restores the face under its old id,
so later commands on the stack that name that id still apply."""

from __future__ import annotations

from f2a_studio.core.models import Face
from f2a_studio.gui.commands.base import StoreCommand
from f2a_studio.gui.session import Session


class AddFace(StoreCommand):
    def __init__(self, session: Session, face: Face, text: str = "Add face") -> None:
        super().__init__(session, None, text)
        self.template = face
        self.snapshot: Face | None = None

    def _redo(self) -> None:
        if self.snapshot is None:
            self.face_id = self.session.add(self.template).id
        else:
            self.session.restore(self.snapshot)

    def _undo(self) -> None:
        assert self.face_id is not None
        self.snapshot = self.session.delete(self.face_id)


class DeleteFace(StoreCommand):
    def __init__(self, session: Session, face_id: int, text: str | None = None) -> None:
        super().__init__(session, face_id, text or f"Delete face {face_id}")
        self.snapshot: Face | None = None

    def _redo(self) -> None:
        assert self.face_id is not None
        self.snapshot = self.session.delete(self.face_id)

    def _undo(self) -> None:
        assert self.snapshot is not None
        self.session.restore(self.snapshot)
