"""Where the user is: the open cut, the selected face and points. Keeps the scene in step with the store.

Every store change the session announces is re-read from the store and shown; the navigator never
keeps a face of its own. Cuts open at once with their faces; pixels arrive from the image cache
(decoded off the GUI thread), and neighbours in browsing order are decoded ahead.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Signal

from f2a_studio.core.errors import NotFoundError
from f2a_studio.core.models import ImageRecord
from f2a_studio.core.review_queue import REVIEWED_ENOUGH, remaining_below
from f2a_studio.gui.canvas import CanvasView, CutScene
from f2a_studio.gui.image_cache import ImageCache
from f2a_studio.gui.queries import FaceReader, review_items
from f2a_studio.gui.session import Session

PREFETCH_AHEAD = 2


class Navigator(QObject):
    cutChanged = Signal(object)  # ImageRecord or None
    selectionChanged = Signal(int, object)  # face id (-1: none), landmark indices
    imageProblem = Signal(str)  # why the open cut cannot be shown ("" once it shows)
    message = Signal(str)

    def __init__(self, session: Session, scene: CutScene, view: CanvasView, cache: ImageCache) -> None:
        super().__init__(session)
        self.session = session
        self.store = session.reads  # reads only: writes go through commands
        self.scene = scene
        self.view = view
        self.cache = cache
        self.record: ImageRecord | None = None
        self.reader = FaceReader(session.reads)
        self.order: list[int] = []  # image ids in browsing order (for PgUp/PgDn and prefetch)
        self.face_fill = 0.0  # Space zooms the face to this fraction of the view's shorter side (0: off)
        session.faceChanged.connect(self._refresh_face)
        session.faceAdded.connect(self._refresh_face)
        session.faceRemoved.connect(self._face_removed)
        session.imageFacesReset.connect(self._image_reset)
        scene.faceSelected.connect(lambda fid: self.selectionChanged.emit(fid, tuple(sorted(scene.selected_points))))
        scene.pointsSelected.connect(lambda fid, pts: self.selectionChanged.emit(fid, tuple(pts)))
        cache.loaded.connect(self._image_loaded)

    def disconnect_all(self) -> None:
        for signal, slot in (
            (self.session.faceChanged, self._refresh_face),
            (self.session.faceAdded, self._refresh_face),
            (self.session.faceRemoved, self._face_removed),
            (self.session.imageFacesReset, self._image_reset),
            (self.cache.loaded, self._image_loaded),
        ):
            signal.disconnect(slot)

    # ------------------------------------------------------------ selection state

    @property
    def face_id(self) -> int | None:
        return self.scene.selected_face

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(sorted(self.scene.selected_points))

    # ------------------------------------------------------------ cuts

    def open_cut(self, image_id: int, *, force: bool = False) -> bool:
        if self.record is not None and self.record.id == image_id and not force:
            return True
        try:
            record = self.store.image(image_id)
        except NotFoundError as exc:
            self.message.emit(str(exc))
            return False
        self.record = record
        entry = self.cache.request(record.id, self.store.cut_file(record))
        self.scene.show_cut(record, self.reader.faces(record.id), entry)
        self.view.fit_cut()
        self._show_problem(entry.error if entry is not None else None)
        self.cutChanged.emit(record)
        self.selectionChanged.emit(-1, ())
        self._prefetch()
        if damaged := self.reader.store.damaged_faces(record.id):  # skipped, not a crash: say so
            self.message.emit(f"face(s) {', '.join(map(str, damaged))} on this cut are damaged in the project "
                              "database and are not shown")
        return True

    def close_cut(self) -> None:
        self.record = None
        self.scene.clear_cut()
        self.view.show_notice(None)
        self.cutChanged.emit(None)
        self.selectionChanged.emit(-1, ())

    def step_cut(self, step: int) -> None:
        if not self.order:
            return
        if self.record is None or self.record.id not in self.order:
            self.open_cut(self.order[0])
            return
        k = self.order.index(self.record.id) + step
        if 0 <= k < len(self.order):
            self.open_cut(self.order[k])
        else:
            self.message.emit("last cut" if step > 0 else "first cut")

    def _prefetch(self) -> None:
        if self.record is None or self.record.id not in self.order:
            return
        k = self.order.index(self.record.id)
        ids = self.order[k + 1 : k + 1 + PREFETCH_AHEAD] + self.order[max(0, k - 1) : k]
        for image_id in ids:
            try:
                record = self.store.image(image_id)
            except NotFoundError:
                continue
            self.cache.request(record.id, self.store.cut_file(record))

    def _image_loaded(self, image_id: int) -> None:
        if self.record is not None and self.record.id == image_id:
            entry = self.cache.get(image_id)
            self.scene.set_entry(entry)
            self._show_problem(entry.error if entry is not None else None)

    def _show_problem(self, error: str | None) -> None:
        if error and self.record is not None:
            text = f"Cannot show {self.record.name}: {error}\n{self.store.cut_file(self.record)}"
            self.view.show_notice(text)
            self.imageProblem.emit(text)
        else:
            self.view.show_notice(None)
            self.imageProblem.emit("")

    # ------------------------------------------------------------ faces

    def select_face(
        self, face_id: int | None, points: tuple[int, ...] = (), *, reveal: bool = True, focus: bool = False
    ) -> bool:
        """Select a face (opening its cut) and scroll it into view; `focus`: zoom to it (Space)."""
        if face_id is None:
            self.scene.select(None)
            self.view.leave_focus()
            return True
        try:
            face = self.store.face(face_id)
        except NotFoundError:
            return False
        if self.record is None or face.image_id != self.record.id:
            self.open_cut(face.image_id)
        if face_id not in self.scene.items_by_id:
            return False
        self.scene.select(face_id, points)
        self.selectionChanged.emit(face_id, tuple(points))
        rect = self.scene.face_rect(face_id) if reveal else None
        if rect is not None and focus and self.face_fill > 0:
            # The box itself: the item's bounding rect holds labels and handles sized for the old zoom.
            self.view.focus_on(QRectF(face.box.x, face.box.y, face.box.w, face.box.h), self.face_fill)
        elif rect is not None:
            self.view.reveal(rect)
        return True

    def step_face(self, step: int) -> None:
        """Tab / Shift+Tab: the next visible face on this cut in reading order, wrapping around."""
        ids = self.scene.visible_face_ids()
        if not ids:
            self.message.emit("no faces on this cut")
            return
        if self.face_id in ids:
            target = ids[(ids.index(self.face_id) + step) % len(ids)]
        else:
            target = ids[0] if step > 0 else ids[-1]
        self.select_face(target)

    def review_next(self) -> bool:
        """Space: the least confident unreviewed visible face in the whole project."""
        items = review_items(self.store, self.scene.threshold, exclude=self.face_id)
        if not items:
            self.message.emit("review queue empty: every visible face is reviewed")
            return False
        item = items[0][0]
        selected = self.select_face(item.face_id, focus=True)
        if selected:  # why this face, and how many are still unsure (the "reviewed enough" estimate)
            self.message.emit(f"next: {item.explain()} · {remaining_below(it for it, _ in items)} face(s) below "
                              f"{REVIEWED_ENOUGH:.0%} confidence")
        return selected

    def set_threshold(self, threshold: float) -> None:
        self.scene.set_threshold(threshold)

    # ------------------------------------------------------------ store changes

    def _refresh_face(self, face_id: int) -> None:
        if self.record is None:
            return
        try:
            face = self.store.face(face_id)
        except NotFoundError:
            return
        if face.image_id == self.record.id:
            self.scene.upsert_face(face)
            if face_id == self.face_id:
                self.selectionChanged.emit(face_id, self.points)

    def _face_removed(self, face_id: int, image_id: int) -> None:
        if self.record is not None and image_id == self.record.id:
            self.scene.remove_face(face_id)

    def _image_reset(self, image_id: int) -> None:
        if self.record is None or image_id != self.record.id:
            return
        selected, points = self.face_id, self.points
        faces = self.reader.faces(image_id)
        kept = {f.id for f in faces}
        for face_id in list(self.scene.items_by_id):
            if face_id not in kept:
                self.scene.remove_face(face_id)
        for face in faces:
            self.scene.upsert_face(face)
        if selected in kept:
            self.scene.select(selected, points)
