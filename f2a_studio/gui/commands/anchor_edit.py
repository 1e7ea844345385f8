"""AnchorEdit: one anchor click stored as a person's edit whose provenance is exactly what the anchors set.

A plain EditFace with actor "human" marks every moved point human; an anchor refit moves all 68 but a
person placed only the anchors (detect.anchors.anchor_indices). So the provenance to write comes with the
command (`after_provenance`, from detect.anchors.corrected_face) and the store is told to restore it. The
clicks of one anchor session share a gesture and merge into one undo step (see gui/anchor_mode.py).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from f2a_studio.core.models import Face
from f2a_studio.core.provenance import Provenance
from f2a_studio.gui.commands.edit_face import EditFace
from f2a_studio.gui.session import Session


class AnchorEdit(EditFace):
    def __init__(self, session: Session, face_id: int, before: dict[str, Any], after: dict[str, Any], text: str,
                 gesture: object, after_provenance: Provenance) -> None:
        super().__init__(session, face_id, before, after, text, gesture)
        self.after_provenance = after_provenance

    @classmethod
    def anchored(cls, session: Session, face: Face, text: str, gesture: object, after_provenance: Provenance,
                 **after: Any) -> AnchorEdit:
        """The command that changes `face` (as stored now) to `after`, with `after_provenance` stored."""
        assert face.id is not None
        before = {name: getattr(face, name) for name in after}
        command = cls(session, face.id, before, after, text, gesture, after_provenance)
        command.provenance = Provenance.of(face)
        return command

    def _redo(self) -> None:
        self.session.update(self.face_id, self.after, actor="human", provenance=self.after_provenance)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, AnchorEdit):
            return False
        after_provenance = other.after_provenance
        if not super().mergeWith(other):
            return False
        self.after_provenance = after_provenance
        return True
