"""Turns what the user does (keys, buttons, drags on the canvas) into undo commands on the session.

Nothing here writes to the store directly: each intent becomes one command, and the command's redo()
does the one write. A drag is committed once, on release, as one command; a burst of arrow-key
nudges on the same target within a second merges into one undo step.
"""

from __future__ import annotations

import itertools
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from f2a_studio.core.errors import NotFoundError
from f2a_studio.core.models import Box, Colors, Face, FaceSource, FaceStatus, Sex
from f2a_studio.gui.canvas.view import CanvasView, Tool
from f2a_studio.gui.commands import AddFace, DeleteFace, EditFace
from f2a_studio.gui.navigator import Navigator
from f2a_studio.gui.refit import Refit, Refitter
from f2a_studio.gui.session import Session

NUDGE_MERGE_S = 1.0
COLOR_FIELDS = ("skin", "hair", "left_eye", "right_eye")


class Editor(QObject):
    message = Signal(str)

    def __init__(self, session: Session, navigator: Navigator, view: CanvasView) -> None:
        super().__init__(session)
        self.session = session
        self.navigator = navigator
        self.view = view
        self._serial = itertools.count(1)
        self._nudge: tuple[object, object, float] | None = None  # (target, gesture, last time)
        self._pick_target: str | None = None
        navigator.scene.boxEdited.connect(self.set_box)
        navigator.scene.landmarksEdited.connect(self.set_landmarks)
        view.boxDrawn.connect(self.add_box)
        view.colorPicked.connect(self._color_picked)
        self.refitter = Refitter(session, self)
        self.refitter.fitted.connect(self._refitted)
        self.refitter.failed.connect(self.message)

    def disconnect_all(self) -> None:
        self.refitter.shutdown()
        self.navigator.scene.boxEdited.disconnect(self.set_box)
        self.navigator.scene.landmarksEdited.disconnect(self.set_landmarks)
        self.view.boxDrawn.disconnect(self.add_box)
        self.view.colorPicked.disconnect(self._color_picked)

    def current(self) -> Face | None:
        face_id = self.navigator.face_id
        if face_id is None:
            return None
        try:
            return self.session.reads.face(face_id)
        except NotFoundError:
            return None

    def _face_or_say(self) -> Face | None:
        face = self.current()
        if face is None:
            self.message.emit("select a face first (Tab, Space or a click)")
        return face

    def _gesture(self) -> tuple[str, int]:
        return ("gesture", next(self._serial))

    # ------------------------------------------------------------ review fields

    def set_status(self, status: FaceStatus) -> bool:
        face = self._face_or_say()
        if face is None or face.status is status:
            return face is not None
        verb = {FaceStatus.ACCEPTED: "Accept", FaceStatus.REJECTED: "Reject"}.get(status, "Unreview")
        return self.session.push(EditFace.of(self.session, face, f"{verb} face {face.id}", status=status))

    def set_sex(self, sex: Sex) -> bool:
        face = self._face_or_say()
        if face is None or face.sex is sex:
            return face is not None
        # A person's answer is certain: the probability goes to 1 (or is cleared for "unknown").
        prob = None if sex is Sex.UNKNOWN else 1.0
        pushed = self.session.push(
            EditFace.of(self.session, face, f"Sex {sex.value} for face {face.id}", sex=sex, sex_prob=prob)
        )
        if pushed and face.landmarks and face.id is not None:  # the new sex is the fit's prior
            self.refitter.request(self.session.reads.face(face.id), sex, purpose="sex")
        return pushed

    # ------------------------------------------------------------ landmark refits (off the GUI thread)

    def refit_landmarks(self) -> bool:
        face = self._face_or_say()
        if face is None:
            return False
        self.refitter.request(face, purpose="action")
        self.message.emit(f"refitting the landmarks of face {face.id}…")
        return True

    def _refitted(self, refit: Refit) -> None:
        """A fit came back. A drawn box's first landmarks join its add step (undoing the add removes both);
        a refit on request or after a sex change is its own step. Written as the model's: never human work."""
        try:
            face = self.session.reads.face(refit.face_id)
        except NotFoundError:
            return  # deleted (or its add undone) meanwhile
        if self.session.read_only:
            return
        if not refit.applies_to(face):
            if refit.purpose == "drawn" and not face.landmarks:  # moved or labelled before its first fit
                self.refitter.request(face, purpose="drawn")
            return  # otherwise the box or sex changed since: that edit's own refit (if any) wins
        landmarks = refit.merged(face)
        if refit.purpose == "drawn":
            if not face.landmarks:
                self.session.update(face.id, {"landmarks": landmarks, "pose": refit.pose}, actor="model")  # type: ignore[arg-type]
            return
        if landmarks == face.landmarks and refit.pose == face.pose:
            return
        text = f"Refit landmarks of face {face.id}" + (f" ({face.sex.value})" if refit.purpose == "sex" else "")
        command = EditFace.of(self.session, face, text, landmarks=landmarks, pose=refit.pose)
        command.actor = "model"
        self.session.push(command)

    def set_color(self, which: str, value: str | None) -> bool:
        if which not in COLOR_FIELDS:
            raise ValueError(f"unknown colour {which!r}; one of {COLOR_FIELDS}")
        face = self._face_or_say()
        if face is None:
            return False
        colors = Colors(**{**face.colors.to_json(), which: value})
        if colors == face.colors:
            return True
        label = which.replace("_", " ")
        text = f"Set {label} colour of face {face.id}"
        return self.session.push(EditFace.of(self.session, face, text, colors=colors))

    def start_eyedropper(self, which: str) -> None:
        if self._face_or_say() is None:
            return
        self._pick_target = which
        self.view.set_tool(Tool.EYEDROPPER)
        self.message.emit(f"click on the image to pick the {which.replace('_', ' ')} colour")

    def _color_picked(self, color: QColor) -> None:
        which, self._pick_target = self._pick_target, None
        if which is not None:
            self.set_color(which, color.name())

    # ------------------------------------------------------------ geometry

    def set_box(self, face_id: int, box: Box) -> bool:
        face = self.session.reads.face(face_id)
        text = f"Move box of face {face_id}"
        return self.session.push(EditFace.of(self.session, face, text, self._gesture(), box=box))

    def set_landmarks(self, face_id: int, points: tuple) -> bool:
        face = self.session.reads.face(face_id)
        text = f"Move landmarks of face {face_id}"
        return self.session.push(EditFace.of(self.session, face, text, self._gesture(), landmarks=tuple(points)))

    def nudge(self, dx: float, dy: float) -> bool:
        face = self._face_or_say()
        if face is None:
            return False
        points = self.navigator.points
        target = (face.id, points or "box")
        now = time.monotonic()
        if self._nudge is not None and self._nudge[0] == target and now - self._nudge[2] < NUDGE_MERGE_S:
            gesture = self._nudge[1]
        else:
            gesture = self._gesture()
        self._nudge = (target, gesture, now)
        if points and face.landmarks:
            moved = list(face.landmarks)
            for i in points:
                x, y, v = moved[i]
                moved[i] = (x + dx, y + dy, v)
            text = f"Nudge landmarks of face {face.id}"
            cmd = EditFace.of(self.session, face, text, gesture, landmarks=tuple(moved))
        else:
            text = f"Nudge box of face {face.id}"
            cmd = EditFace.of(self.session, face, text, gesture, box=face.box.translated(dx, dy))
        return self.session.push(cmd)

    def toggle_visibility(self) -> bool:
        face = self._face_or_say()
        points = self.navigator.points
        if face is None or not face.landmarks:
            return False
        if not points:
            self.message.emit("select landmarks first (click a point; Shift+click for its group)")
            return False
        # All selected visible → all occluded; otherwise → all visible.
        target = 1 if all(face.landmarks[i][2] == 2 for i in points) else 2
        moved = list(face.landmarks)
        for i in points:
            x, y, _ = moved[i]
            moved[i] = (x, y, target)
        word = "occluded" if target == 1 else "visible"
        text = f"Mark {len(points)} point(s) {word} on face {face.id}"
        return self.session.push(EditFace.of(self.session, face, text, landmarks=tuple(moved)))

    # ------------------------------------------------------------ add / delete

    def add_box(self, box: Box) -> int | None:
        record = self.navigator.record
        if record is None:
            return None
        box = box.clipped(record.width, record.height)
        if box.w < 2 or box.h < 2:
            self.message.emit("the box is outside the image")
            return None
        face = Face(image_id=record.id, box=box, score=1.0, source=FaceSource.HUMAN, status=FaceStatus.ACCEPTED)
        command = AddFace(self.session, face, f"Add face on {record.name}")
        if not self.session.push(command) or command.face_id is None:
            return None
        self.navigator.select_face(command.face_id, reveal=False)
        self.refitter.request(self.session.reads.face(command.face_id), purpose="drawn")  # 68 points + pose
        return command.face_id

    def delete(self) -> bool:
        face = self._face_or_say()
        if face is None:
            return False
        ids = self.navigator.scene.visible_face_ids()
        pushed = self.session.push(DeleteFace(self.session, face.id))  # type: ignore[arg-type]
        if pushed and face.id in ids and len(ids) > 1:  # keep reviewing: select the next face
            self.navigator.select_face(ids[(ids.index(face.id) + 1) % len(ids)], reveal=False)
        return pushed
