"""Place Anchors mode: fast correction of one face with a few clicks (issue 12).

The person clicks the anchors in order (eye centres, nose tip, mouth corners, chin; detect.anchors) and
after each click the face's 68 points are refitted to the anchors placed so far (detect.anchors.corrected_face)
and stored at once, as a person's edit whose human points are only the anchors. Keys while the mode is on:
1–6 choose which anchor the next click places, Tab / Shift+Tab skip, Backspace removes the last placed,
Esc / Enter end (what was placed stays). Anchors placed on the face in an earlier session (read back from
its human points, detect.anchors.anchors_of) are shown too, in a dashed ring: placing that anchor again
moves it, and Backspace on it puts it back where it was. Leaving the face (Tab is taken, but Space, PgDn, a click on
another face in the browser), undo or redo, or another tool ends the mode too.

Undo: one anchor session is one undo step. Each click is its own store transaction (saved as it happens,
so a crash loses at most the click in flight), but the clicks share a gesture and merge on the undo
stack, as a drag's moves do: Backspace is the per-anchor undo inside a session, and Ctrl+Z afterwards
takes the whole correction back instead of leaving six steps per face on the History list.

The fit runs on one worker thread: it takes 25–50 ms per click (the first ~1 s, reading the mean face, is
done when the mode starts), which would stall a click-by-click workflow on the GUI thread. Fits run and
are stored in click order; each is made from the face as it was when the mode started plus the anchors
of that click, so removing an anchor gives back exactly what the remaining ones say.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit

from f2a_studio.core.errors import NotFoundError
from f2a_studio.core.models import Face, Landmark
from f2a_studio.core.provenance import Provenance
from f2a_studio.detect.anchors import ANCHORS, anchors_of, corrected_face
from f2a_studio.gui.canvas.anchor_marks import AnchorMark
from f2a_studio.gui.canvas.view import CanvasView
from f2a_studio.gui.commands import AnchorEdit
from f2a_studio.gui.navigator import Navigator
from f2a_studio.gui.session import Session

LABELS = {"left_eye": "left eye centre", "right_eye": "right eye centre", "nose": "nose tip",
          "mouth_left": "left mouth corner", "mouth_right": "right mouth corner", "chin": "chin"}
TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)  # keys typed there stay there
LEFT = Qt.MouseButton.LeftButton


@dataclass(frozen=True)
class AnchorFit:
    face_id: int
    landmarks: tuple[Landmark, ...]
    provenance: Provenance  # what the store keeps: the anchors (and earlier human points) as human points
    count: int  # anchors it was fitted to


class AnchorMode(QObject):
    hintChanged = Signal(str)  # what to do next ("" once the mode ends)
    message = Signal(str)
    undoRequested = Signal(int)  # -1 undo, +1 redo: the mode has ended and stored its clicks first
    _arrived = Signal(object)  # a Future, from the worker thread: queued to the GUI thread

    def __init__(self, session: Session, navigator: Navigator, view: CanvasView) -> None:
        super().__init__(session)
        self.session = session
        self.navigator = navigator
        self.view = view
        self.face_id: int | None = None
        self.base: Face | None = None  # the face when the mode started: every fit starts from it
        self.anchors: dict[str, tuple[float, float]] = {}  # earlier anchors, then this session's over them
        self.earlier: dict[str, tuple[float, float]] = {}  # the anchors the face had when the mode started
        self.placed: list[str] = []  # placement order in this session, for Backspace
        self.next: str | None = None  # the anchor the next click places (None: all placed)
        self._gesture: object = None
        self._serial = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2a-anchors")
        self._pending: list[Future] = []
        self._marks: list[AnchorMark] = []
        self._arrived.connect(self._deliver)
        navigator.selectionChanged.connect(self._selection_changed)
        navigator.cutChanged.connect(self._cut_changed)
        session.faceRemoved.connect(self._face_removed)
        view.toolChanged.connect(self._tool_changed)

    @property
    def active(self) -> bool:
        return self.face_id is not None

    # ------------------------------------------------------------ start / end

    def toggle(self) -> bool:
        if self.active:
            self.end()
            return False
        return self.start()

    def start(self) -> bool:
        if self.session.read_only:
            self.message.emit(f"read-only project: {self.session.read_only_reason}")
            return False
        face = None
        if self.navigator.face_id is not None:
            try:
                face = self.session.reads.face(self.navigator.face_id)
            except NotFoundError:
                face = None
        if face is None or face.id is None:
            self.message.emit("select a face first, then Place Anchors (P)")
            return False
        self.face_id, self.base = face.id, face
        self.earlier = anchors_of(face)
        self.anchors, self.placed = dict(self.earlier), []
        self.next = next((a for a in ANCHORS if a not in self.anchors), None)
        self._gesture = ("anchors", face.id, next(self._serial))
        self._pool.submit(_warm_up)  # the first fit reads the mean face: do it now, not on the first click
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)
        self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self._show()
        return True

    def end(self) -> None:
        """Leave the mode; what was placed stays stored (fits still running are waited for and stored)."""
        if not self.active:
            return
        self.flush()
        face_id, count = self.face_id, len(self.placed)
        self.face_id = self.base = None
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.view.set_tool(self.view.tool)  # its cursor back
        self._clear_marks()
        self.view.show_notice(None)
        self.hintChanged.emit("")
        self.message.emit(f"{count} anchor(s) placed on face {face_id}" if count else "no anchors placed")

    def flush(self) -> None:
        """Store every fit requested so far, now (before an undo, or when the mode ends)."""
        while self._pending:
            self._apply(self._pending.pop(0))

    def idle(self) -> bool:
        return not self._pending

    def shutdown(self) -> None:
        self.end()
        self.navigator.selectionChanged.disconnect(self._selection_changed)
        self.navigator.cutChanged.disconnect(self._cut_changed)
        self.session.faceRemoved.disconnect(self._face_removed)
        self.view.toolChanged.disconnect(self._tool_changed)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ what the person does

    def place(self, x: float, y: float) -> bool:
        if not self.active:
            return False
        record = self.navigator.record
        if record is not None and not (0 <= x < record.width and 0 <= y < record.height):
            self.message.emit("that click is outside the image")
            return False
        if self.next is None:
            self.message.emit("all six anchors are placed: 1–6 to place one again, Esc or Enter to end")
            return False
        name = self.next
        self.anchors[name] = (float(x), float(y))
        if name in self.placed:
            self.placed.remove(name)
        self.placed.append(name)
        self.next = self._following(name)
        self._submit()
        self._show()
        return True

    def choose(self, index: int) -> None:
        if 0 <= index < len(ANCHORS):
            self.next = ANCHORS[index]
            self._show()

    def skip(self, step: int = 1) -> None:
        current = ANCHORS.index(self.next) if self.next is not None else (-1 if step > 0 else 0)
        self.next = ANCHORS[(current + step) % len(ANCHORS)]
        self._show()

    def remove_last(self) -> None:
        if not self.placed:
            self.message.emit("no anchor to remove")
            return
        name = self.placed.pop()
        if name in self.earlier:  # it was moved in this session: back to where it was before
            self.anchors[name] = self.earlier[name]
        else:
            del self.anchors[name]
        self.next = name
        self._submit()
        self._show()

    def _following(self, name: str) -> str | None:
        """The next anchor not placed yet, after `name` in the usual order (wrapping round)."""
        start = ANCHORS.index(name)
        for k in range(1, len(ANCHORS) + 1):
            candidate = ANCHORS[(start + k) % len(ANCHORS)]
            if candidate not in self.anchors:
                return candidate
        return None

    # ------------------------------------------------------------ fits, stored in click order

    def _submit(self) -> None:
        assert self.base is not None and self.face_id is not None
        future = self._pool.submit(_fit, self.face_id, self.base, dict(self.anchors), bool(self.placed))
        self._pending.append(future)
        future.add_done_callback(self._arrived.emit)

    def _deliver(self, future: Future) -> None:
        # In order: a fit that finished is stored only after those requested before it.
        while self._pending and self._pending[0].done():
            done = self._pending.pop(0)
            self._apply(done)
            if done is future:
                break

    def _apply(self, future: Future) -> None:
        try:
            fit: AnchorFit = future.result()
        except Exception as exc:  # a fit that fails is said, never a crash; the next click tries again
            self.message.emit(f"fitting to the anchors failed: {type(exc).__name__}: {exc}")
            return
        try:
            face = self.session.reads.face(fit.face_id)
        except NotFoundError:
            return  # deleted meanwhile
        text = f"Place anchors on face {fit.face_id}"
        command = AnchorEdit.anchored(self.session, face, text, self._gesture, fit.provenance,
                                      landmarks=fit.landmarks)
        self.session.push(command)

    # ------------------------------------------------------------ what it shows

    def hint(self) -> str:
        if not self.active:
            return ""
        tail = "Tab skips · 1–6 choose · Backspace removes the last · Esc/Enter ends"
        before = len(self.earlier)
        head = f"Anchors on face {self.face_id}" + (f" ({before} placed before)" if before else "")
        if self.next is None:
            return f"{head}: all 6 placed — 1–6 place one again · {tail}"
        number = ANCHORS.index(self.next) + 1
        again = " again" if self.next in self.anchors else ""
        return f"{head}: click the {LABELS[self.next]}{again} ({number}/6) — {tail}"

    def _show(self) -> None:
        self._clear_marks()
        scene = self.view.cut_scene
        for name, pos in self.anchors.items():
            earlier = name not in self.placed  # shown as placed before, not in this session
            mark = AnchorMark(ANCHORS.index(name) + 1, pos, earlier=earlier)
            scene.addItem(mark)
            self._marks.append(mark)
        text = self.hint()
        self.view.show_notice(text, "hint")
        self.hintChanged.emit(text)

    def _clear_marks(self) -> None:
        for mark in self._marks:
            if shiboken6.isValid(mark) and mark.scene() is not None:  # a new cut clears the scene itself
                mark.scene().removeItem(mark)
        self._marks = []

    @property
    def marks(self) -> list[AnchorMark]:
        return list(self._marks)

    # ------------------------------------------------------------ events while the mode is on

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if not self.active:
            return False
        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent):
            handler = self._key_handler(event)
            if handler is None or isinstance(QApplication.focusWidget(), TEXT_INPUTS):
                return False
            if kind == QEvent.Type.ShortcutOverride:
                event.accept()  # the key comes to us as a key press instead of firing the window's shortcut
            else:
                handler()
            return True
        if obj is self.view.viewport() and isinstance(event, QMouseEvent) and event.button() == LEFT:
            if kind == QEvent.Type.MouseButtonPress:
                point: QPointF = self.view.scene_at(event.position())
                self.place(point.x(), point.y())
                return True
            return kind in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick)
        return False

    def _key_handler(self, event: QKeyEvent) -> Callable[[], None] | None:
        if event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo):
            # the window's Undo may still be disabled while the first click's fit is under way: end first
            step = -1 if event.matches(QKeySequence.StandardKey.Undo) else 1
            return lambda: (self.end(), self.undoRequested.emit(step))
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        k = Qt.Key
        if plain and k.Key_1.value <= key <= k.Key_6.value:
            return lambda: self.choose(key - k.Key_1.value)
        if plain and key == k.Key_Tab:
            return lambda: self.skip(1)
        if key == k.Key_Backtab or (key == k.Key_Tab and mods == Qt.KeyboardModifier.ShiftModifier):
            return lambda: self.skip(-1)
        if plain and key == k.Key_Backspace:
            return self.remove_last
        if plain and key in (k.Key_Escape, k.Key_Return, k.Key_Enter):
            return self.end
        return None

    # ------------------------------------------------------------ the world changed under the mode

    def _selection_changed(self, face_id: int, _points: object) -> None:
        if self.active and face_id != self.face_id:
            self.end()

    def _cut_changed(self, _record: object) -> None:
        self.end()

    def _face_removed(self, face_id: int, _image_id: int) -> None:
        if face_id == self.face_id:
            self._pending.clear()
            self.end()

    def _tool_changed(self, tool: str) -> None:
        if self.active and tool != "edit":
            self.end()


def _warm_up() -> None:
    from f2a_studio.detect.face_model import load_face_model

    load_face_model()


def _fit(face_id: int, base: Face, anchors: dict[str, tuple[float, float]], placed: bool = True) -> AnchorFit:
    """On the worker thread: the base face refitted to these anchors (the earlier ones included); nothing
    placed in this session (all taken back): the base face as it was."""
    if not anchors or not placed:
        return AnchorFit(face_id, base.landmarks, Provenance.of(base), 0)
    fixed, provenance = corrected_face(base, anchors)
    return AnchorFit(face_id, fixed.landmarks, provenance, len(anchors))
