"""EditFace: set some fields of one face (status, sex, colours, box, landmarks...) to absolute values.

Absolute values make `redo()` idempotent, which matters because QUndoStack.push() runs it right after a
live drag already showed the new position. Commands of one gesture (one drag, one burst of arrow-key
nudges) share a gesture key and merge into one undo step, as in Qt's undo framework example.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from f2a_studio.core.models import Face
from f2a_studio.core.provenance import Provenance
from f2a_studio.gui.commands.base import StoreCommand
from f2a_studio.gui.session import Session

MERGE_ID = 1001


class EditFace(StoreCommand):
    def __init__(
        self,
        session: Session,
        face_id: int,
        before: dict[str, Any],
        after: dict[str, Any],
        text: str,
        gesture: object | None = None,
    ) -> None:
        super().__init__(session, face_id, text)
        if set(before) != set(after):
            raise ValueError(f"before and after must name the same fields: {sorted(before)} vs {sorted(after)}")
        self.before = dict(before)
        self.after = dict(after)
        self.gesture = gesture
        self.provenance: Provenance | None = None  # what undo puts back (None: recomputed, as for a redo)
        self.actor = "human"  # "model" for a prediction applied as a step (a refit): never human work

    @classmethod
    def of(cls, session: Session, face: Face, text: str, gesture: object | None = None, **after: Any) -> EditFace:
        """The command that changes `face` (as stored now) to have the fields in `after`."""
        assert face.id is not None
        before = {name: getattr(face, name) for name in after}
        command = cls(session, face.id, before, after, text, gesture)
        command.provenance = Provenance.of(face)
        return command

    def _redo(self) -> None:
        self.session.update(self.face_id, self.after, actor=self.actor)

    def _undo(self) -> None:
        self.session.update(self.face_id, self.before, provenance=self.provenance)

    def id(self) -> int:
        return MERGE_ID if self.gesture is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditFace) or other.face_id != self.face_id or other.gesture != self.gesture:
            return False
        if other.actor != self.actor:
            return False
        for name, value in other.before.items():
            self.before.setdefault(name, value)
        self.after.update(other.after)
        if self.before == self.after:  # the gesture came back to where it started: no step, and no trace
            self._run(lambda: self.session.update(self.face_id, self.before, provenance=self.provenance))
            self.setObsolete(True)
        return True
