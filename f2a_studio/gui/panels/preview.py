"""The Preview dock: the studio's one adapter to f2a_studio.preview (which knows nothing of Qt).

Shows, for the selected face, the keypoint drawing (A), what one or two generators make of it (B, B′) and
the aligned crop from the cut (C), following a landmark drag live. Each generator is a `_Slot`: it loads
in a background thread and renders through a LatestWinsWorker, whose results cross back to the GUI thread
as queued signals; a result older than the one shown, or for another face, is dropped.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.align import AlignmentError
from f2a_studio.core.errors import F2AError, NotFoundError
from f2a_studio.core.imageio import read_image
from f2a_studio.core.models import FaceStatus
from f2a_studio.preview import Engine, GeneratorKind, InputSpec, LatestWinsWorker, PreviewRequest, PreviewResult
from f2a_studio.preview.catalog import CatalogEntry, default_entry, find_generators
from f2a_studio.preview.frames import aligned_face, keypoint_drawing, square_photo
from f2a_studio.preview.translate import TranslateItem, translate_to_folder

if TYPE_CHECKING:
    from f2a_studio.gui.settings import StudioSettings

TILE = 120  # on-screen size of each picture: two side by side fit a 300 px dock
SHOWN = 128  # resolution of A and C when no generator fixes it
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
NONE_LABEL = "— none —"


def to_qimage(pixels: np.ndarray) -> QImage:
    """H×W×3 uint8 RGB → a QImage that owns its pixels (copy: the array may be reused)."""
    rgb = np.ascontiguousarray(pixels[..., :3])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def tile_pixmap(pixels: np.ndarray) -> QPixmap:
    """A picture as the dock shows it: TILE×TILE, smoothly scaled."""
    return QPixmap.fromImage(to_qimage(pixels)).scaled(TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.SmoothTransformation)


class _Slot(QObject):
    """One generator: background load, latest-wins rendering, results as GUI-thread signals."""

    _ready = Signal(object, int)  # Engine and the load's generation, from the load thread
    loaded = Signal(int)  # slot index
    failed = Signal(int, str)
    result = Signal(int, object)  # PreviewResult (emitted on the worker thread, delivered queued)

    def __init__(self, index: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.engine: Engine | None = None
        self.worker: LatestWinsWorker | None = None
        self.path: Path | None = None
        self.failed_text = ""
        self._loaders: list[threading.Thread] = []  # every load under way: a replaced one still runs to its end
        self.shown_id = 0
        self._generation = 0
        self._ready.connect(self._adopt)  # a bound slot of a GUI-thread object: delivered queued

    def load(self, path: Path | None) -> None:
        self.unload()
        self.path = path
        if path is None:
            return
        self._generation += 1
        generation = self._generation

        def run() -> None:
            try:
                engine = Engine.load(path)
            except Exception as exc:  # shown in the dock: a thread that died silently would say "loading…" forever
                if generation == self._generation:
                    self.failed_text = str(exc)
                    self.failed.emit(self.index, str(exc))
                return
            if generation == self._generation:
                self._ready.emit(engine, generation)
            else:
                engine.unload()  # another file was picked meanwhile

        loader = threading.Thread(target=run, name="preview-load", daemon=True)
        self._loaders = [t for t in self._loaders if t.is_alive()] + [loader]
        loader.start()

    def join(self, timeout_s: float = 60.0) -> None:
        """Wait for the loads under way: a process that exits while torch or ONNX Runtime is loading aborts."""
        deadline = time.monotonic() + timeout_s
        for loader in self._loaders:
            loader.join(max(0.0, deadline - time.monotonic()))

    def adopt(self, engine: Engine, label: str) -> None:
        """Use an engine built elsewhere (a run that just finished, a test)."""
        self.unload()
        self.path = Path(label)
        self._adopt(engine, self._generation)

    @Slot(object, int)
    def _adopt(self, engine: Engine, generation: int) -> None:
        if generation != self._generation:  # unloaded, or another file picked, while the signal was queued
            engine.unload()
            return
        self.engine = engine
        self.worker = LatestWinsWorker(engine.render, lambda r: self.result.emit(self.index, r))
        self.shown_id = 0
        self.loaded.emit(self.index)

    def submit(self, request: PreviewRequest) -> int | None:
        return self.worker.submit(request) if self.worker is not None else None

    def unload(self) -> None:
        self._generation += 1
        self.path = None
        self.failed_text = ""
        worker, engine, self.worker, self.engine = self.worker, self.engine, None, None
        if worker is not None:
            worker.close()
        if engine is not None:
            engine.unload()


class PreviewPanel(QWidget):
    translateFinished = Signal(str)  # a message for the status bar
    _photoFace = Signal(int, object, str)  # (photo generation, PhotoFace or None, error), from a thread

    def __init__(self, settings: StudioSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.settings = settings
        # the user's last pick for B (a path, NO_PREVIEW_MODEL, or "" for never): it wins over the default
        self._choice = settings.preview_model if settings is not None else ""
        self._default: Path | None = None  # what B loaded by itself, until the user picks
        self.session = None
        self.navigator = None
        self.scene = None
        self.face_id: int | None = None
        self.landmarks: tuple | None = None
        self._cut: tuple[int, np.ndarray] | None = None  # (image id, pixels) of the open cut
        self._photo: np.ndarray | None = None
        self._photo_face = None  # detect.photo_face.PhotoFace of the dropped photo, once found
        self._photo_name = ""
        self._photo_generation = 0
        self.photo_search_done = True  # False while a dropped photo's face is being looked for
        self._face_finder = None  # detect.photo_face.PhotoFaceFinder, made on the first drop
        self._photoFace.connect(self._photo_face_found)  # queued to the GUI thread
        self._ms: list[float] = [0.0, 0.0]
        self.train_dialog = None  # made on first use; kept so a run outlives closing the dialog
        self.slots = (_Slot(0, self), _Slot(1, self))
        self._build()
        for slot in self.slots:  # bound methods (not lambdas): Qt queues them to this GUI-thread object
            slot.loaded.connect(self._slot_loaded)
            slot.failed.connect(self._slot_failed)
            slot.result.connect(self._show_result)
        from f2a_studio.gui.workers import JobRunner

        self.jobs = JobRunner(self)
        self.jobs.progress.connect(self._job_progress)
        self.jobs.finished.connect(self._job_finished)
        self.jobs.failed.connect(lambda _n, msg: self._job_finished("translate", None, msg))
        self.refresh_models()

    # ------------------------------------------------------------ layout

    def _tile(self, caption: str) -> tuple[QLabel, QWidget]:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        picture = QLabel()
        picture.setFixedSize(TILE, TILE)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setStyleSheet("background: #202020; color: #9a9a9a;")
        picture.setWordWrap(True)  # "select a face with landmarks" is wider than a tile
        title = QLabel(caption)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(picture)
        column.addWidget(title)
        return picture, box

    def _build(self) -> None:
        # Everything sits in a scroll area: a short dock scrolls instead of squeezing pictures over captions.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        self.pickers = (QComboBox(), QComboBox())
        for k, (combo, caption) in enumerate(zip(self.pickers, ("Model", "Compare"), strict=True)):
            row = QHBoxLayout()
            row.addWidget(QLabel(caption))
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            combo.setMinimumContentsLength(6)
            combo.activated.connect(lambda _i, k=k: self._picked(k))
            row.addWidget(combo, 1)
            open_button = QPushButton("Open…")
            open_button.setToolTip("Load a checkpoint (.safetensors) or an ONNX export from any folder")
            open_button.clicked.connect(lambda _=False, k=k: self.open_file(k))
            row.addWidget(open_button)
            layout.addLayout(row)
        grid = QGridLayout()
        self.input_label, a = self._tile("A · keypoints")
        self.output_labels = []
        b0_label, b0 = self._tile("B · model")
        b1_label, b1 = self._tile("B′ · compare")
        self.output_labels = [b0_label, b1_label]
        self.crop_label, c = self._tile("C · aligned crop")
        grid.addWidget(a, 0, 0)
        grid.addWidget(c, 0, 1)
        grid.addWidget(b0, 1, 0)
        grid.addWidget(b1, 1, 1)
        layout.addLayout(grid)
        self.info_labels = (QLabel(), QLabel())
        for label in self.info_labels:
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        row = QHBoxLayout()
        self.translate_buttons = {}
        for scope, text in (("selection", "Translate face(s)…"), ("episode", "Translate episode…")):
            button = QPushButton(text)
            button.setToolTip(f"Run the model on every face of the {scope} (the selected face, or the open cut's "
                              "faces when none is selected)" if scope == "selection" else
                              "Run the model on every face of the open cut's episode")
            button.clicked.connect(lambda _=False, s=scope: self.translate_dialog(s))
            row.addWidget(button)
            self.translate_buttons[scope] = button
        layout.addLayout(row)
        self.train_button = QPushButton("Train a model…")
        self.train_button.setToolTip("Train a generator on an export of this project (python -m trainer)")
        self.train_button.clicked.connect(self.open_train_dialog)
        layout.addWidget(self.train_button)
        self.progress = QProgressBar()
        self.progress.hide()
        layout.addWidget(self.progress)
        self.message = QLabel("Drop a photo here to translate it (face → anime models).")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addStretch(1)

    # ------------------------------------------------------------ models

    def refresh_models(self, *, autoload: bool = True) -> None:
        folder = self.session.store.checkpoints_dir if self.session is not None else None
        self.entries: list[CatalogEntry] = find_generators(folder)
        for k, combo in enumerate(self.pickers):
            current = self.slots[k].path
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NONE_LABEL, None)
            for entry in self.entries:
                combo.addItem(entry.label, str(entry.path))
            if current is not None and combo.findData(str(current)) < 0:
                combo.addItem(f"{current.name} (file)", str(current))
            combo.setCurrentIndex(max(0, combo.findData(str(current)) if current else 0))
            combo.blockSignals(False)
        # B was loaded by default (not picked) and this project brings its own model: switch to it
        defaulted = self.slots[0].path is not None and self.slots[0].path == self._default
        if autoload and (self.slots[0].path is None or defaulted):
            first = self.first_model()
            if first is not None and first != self.slots[0].path:
                self.load_model(0, first)  # a working preview without picking anything
                self._default = first
        self._update_buttons()

    def first_model(self) -> Path | None:
        """What B shows before anything is loaded: the user's last pick when it is still on disk, else
        catalog.default_entry (the project's own newest checkpoint, else the shipped keypoints demo)."""
        from f2a_studio.gui.settings import NO_PREVIEW_MODEL

        if self._choice == NO_PREVIEW_MODEL:
            return None
        if self._choice and Path(self._choice).is_file():
            return Path(self._choice)
        entry = default_entry(self.entries)
        return entry.path if entry is not None else None

    def remember_choice(self, path: Path | str | None) -> None:
        """Keep the user's pick for B, in the settings too, so the next project (and session) opens with it."""
        from f2a_studio.gui.settings import NO_PREVIEW_MODEL

        self._choice = str(path) if path else NO_PREVIEW_MODEL
        self._default = None
        if self.settings is not None:
            self.settings.preview_model = self._choice

    def load_model(self, k: int, path: Path | str | None) -> None:
        path = Path(path) if path else None
        combo = self.pickers[k]
        if path is not None and combo.findData(str(path)) < 0:
            combo.addItem(f"{path.name} (file)", str(path))
        combo.setCurrentIndex(combo.findData(str(path)) if path else 0)
        self.output_labels[k].clear()
        self.info_labels[k].setText(f"loading {path.name}…" if path else "")
        self.slots[k].load(path)
        self._update_buttons()

    def set_engine(self, k: int, engine: Engine) -> None:
        """Show an already loaded engine in slot k (B or B′)."""
        self.output_labels[k].clear()
        self.slots[k].adopt(engine, engine.name)

    def _picked(self, k: int) -> None:
        path = self.pickers[k].currentData()
        if k == 0:
            self.remember_choice(path)
        self.load_model(k, path)

    def open_file(self, k: int) -> None:
        start = str(self.session.store.checkpoints_dir) if self.session is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a generator", start,
                                              "Generators (*.safetensors *.onnx *.json);;All files (*)")
        if path:
            if k == 0:
                self.remember_choice(path)
            self.load_model(k, path)

    def _slot_loaded(self, k: int) -> None:
        engine = self.slots[k].engine
        assert engine is not None
        self.info_labels[k].setText(self._describe(k, engine, None))
        self._update_buttons()
        self.render()

    def _slot_failed(self, k: int, text: str) -> None:
        self.info_labels[k].setText(f"<span style='color:#e06c75'>cannot load: {text}</span>")
        self._update_buttons()

    @staticmethod
    def _describe(k: int, engine: Engine, ms: float | None) -> str:
        info = engine.info
        rate = f" · <b>{ms:.1f} ms/frame</b>" if ms is not None else ""
        mark = "B" if k == 0 else "B′"
        return (f"{mark}: {engine.name} ({engine.spec.kind.value} → anime, {engine.spec.size}²) — "
                f"{info.runtime} · {info.device} · {info.precision}{rate}")

    # ------------------------------------------------------------ the studio's side

    def attach(self, session, navigator, scene) -> None:
        self.detach()
        self.session, self.navigator, self.scene = session, navigator, scene
        navigator.selectionChanged.connect(self._selection_changed)
        session.faceChanged.connect(self._face_changed)
        scene.landmarksMoving.connect(self._landmarks_moving)
        self.refresh_models()
        self._selection_changed(navigator.face_id if navigator.face_id is not None else -1, ())

    def detach(self) -> None:
        if self.session is not None:
            self.jobs.wait()
            self.navigator.selectionChanged.disconnect(self._selection_changed)
            self.session.faceChanged.disconnect(self._face_changed)
            self.scene.landmarksMoving.disconnect(self._landmarks_moving)
        self.session = self.navigator = self.scene = None
        self.face_id, self.landmarks, self._cut = None, None, None
        self._clear_pictures()

    def busy(self) -> bool:
        """A generator still loading, or a frame not shown yet."""
        return any((s.path is not None and s.engine is None and not s.failed_text)
                   or (s.worker is not None and not s.worker.idle()) for s in self.slots)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Process events until every generator has loaded and shown its newest frame (screenshots)."""
        from PySide6.QtWidgets import QApplication

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            QApplication.processEvents()
            if not self.busy():
                QApplication.processEvents()  # the last result's queued signal
                return True
            time.sleep(0.01)
        return False

    def open_train_dialog(self):
        if self.session is None:
            self.message.setText("open a project first")
            return None
        if self.train_dialog is None or self.train_dialog.store is not self.session.store:
            from f2a_studio.gui.dialogs.train_dialog import TrainDialog

            self.train_dialog = TrainDialog(self.session.store, self)
            self.train_dialog.checkpointReady.connect(self._trained)
        self.train_dialog.show()
        self.train_dialog.raise_()
        return self.train_dialog

    def _trained(self, weights: str) -> None:
        self.refresh_models(autoload=False)  # the new checkpoint is loaded just below, once
        self.load_model(0, weights)

    def confirm_close(self) -> bool:
        """False when a training run is going and the user chose to keep it (the studio stays open)."""
        return self.train_dialog is None or self.train_dialog.confirm_close()

    def shutdown(self) -> None:
        self.detach()
        for slot in self.slots:
            slot.unload()
            slot.join()

    def _selection_changed(self, face_id: int, _points: object = ()) -> None:
        if face_id == self.face_id and face_id >= 0:
            return  # a click on a point of the same face: nothing to redraw
        self._show_stored(face_id)

    def _face_changed(self, face_id: int) -> None:
        if face_id == self.face_id:
            self._show_stored(face_id)

    def _landmarks_moving(self, face_id: int, points: tuple) -> None:
        if face_id == self.face_id:
            self.set_landmarks(points)

    def _show_stored(self, face_id: int) -> None:
        face = None
        if face_id >= 0 and self.session is not None:
            try:
                face = self.session.reads.face(face_id)
            except NotFoundError:
                face = None
        if face is None or not face.landmarks:
            self.face_id, self.landmarks = (face.id if face is not None else None), None
            self._clear_pictures("select a face with landmarks" if face is None else "this face has no landmarks")
            return
        self.face_id = face.id
        self._photo = None
        self.set_landmarks(face.landmarks)

    # ------------------------------------------------------------ frames

    def set_landmarks(self, landmarks: tuple) -> None:
        """Show A and C for these landmarks and ask every loaded generator for B."""
        self.landmarks = tuple(landmarks)
        spec = self._display_spec()
        try:
            self._set_picture(self.input_label, keypoint_drawing(self.landmarks, spec))
            cut = self._cut_pixels()
            if cut is not None:
                self._set_picture(self.crop_label, aligned_face(cut, self.landmarks, spec.size, spec.margin))
        except (AlignmentError, ValueError) as exc:
            self._clear_pictures(str(exc))
            return
        self.render()

    def render(self) -> None:
        """Post the current face (or dropped photo) to each loaded generator: latest wins."""
        for slot in self.slots:
            engine = slot.engine
            if engine is None:
                continue
            if self._photo is not None:
                if engine.spec.kind is GeneratorKind.FACE:  # aligned like trainA once its face is found
                    marks = self._photo_face.landmarks if self._photo_face is not None else None
                    slot.submit(PreviewRequest(landmarks=marks, image=self._photo, tag="photo"))
                continue
            if self.landmarks is None:
                continue
            image = self._cut_pixels() if engine.spec.kind is GeneratorKind.FACE else None
            slot.submit(PreviewRequest(landmarks=self.landmarks, image=image, tag=self.face_id))

    def _show_result(self, k: int, result: PreviewResult) -> None:
        slot = self.slots[k]
        if result.request_id <= slot.shown_id or slot.engine is None:
            return  # older than what is shown (results of one worker arrive in order; this is a guard)
        wanted = "photo" if self._photo is not None else self.face_id
        if result.tag != wanted:
            return  # for a face (or photo) no longer selected
        slot.shown_id = result.request_id
        label = self.output_labels[k]
        if result.output is None:
            label.setText(result.error or "no output")
            label.setToolTip(result.error or "")
            return
        t = time.perf_counter()
        label.setPixmap(tile_pixmap(result.output))
        convert_ms = (time.perf_counter() - t) * 1000
        label.setToolTip("")
        ms = result.latency.total_ms + convert_ms
        self._ms[k] = ms if self._ms[k] == 0 else 0.7 * self._ms[k] + 0.3 * ms  # steady, still follows changes
        self.info_labels[k].setText(self._describe(k, slot.engine, self._ms[k]))

    def _display_spec(self) -> InputSpec:
        engine = self.slots[0].engine or self.slots[1].engine
        if engine is not None:
            return InputSpec(size=engine.spec.size, margin=engine.spec.margin)
        return InputSpec(size=SHOWN)

    def _cut_pixels(self) -> np.ndarray | None:
        record = self.navigator.record if self.navigator is not None else None
        if record is None or self.session is None:
            return None
        if self._cut is None or self._cut[0] != record.id:
            try:
                self._cut = (record.id, read_image(self.session.reads.cut_file(record)))
            except F2AError:
                return None
        return self._cut[1]

    def _set_picture(self, label: QLabel, pixels: np.ndarray) -> None:
        label.setPixmap(tile_pixmap(pixels))

    def _clear_pictures(self, text: str = "") -> None:
        for label in (self.input_label, self.crop_label, *self.output_labels):
            label.clear()
        self.input_label.setText(text)

    # ------------------------------------------------------------ a dropped photo

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).suffix.lower() in PHOTO_SUFFIXES:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.show_photo(Path(event.mimeData().urls()[0].toLocalFile()))
        event.acceptProposedAction()

    def show_photo(self, path: Path) -> None:
        """Translate a photo (a human face, say) with the face → anime models loaded."""
        try:
            pixels = read_image(path)
        except F2AError as exc:
            self.message.setText(str(exc))
            return
        if not any(s.engine is not None and s.engine.spec.kind is GeneratorKind.FACE for s in self.slots):
            self.message.setText("a photo needs a face → anime model (CycleGAN, UNIT, U-GAT-IT): pick one above")
            return
        self._photo = pixels
        self._photo_face = None
        self._photo_name = path.name
        self.input_label.clear()
        self.input_label.setText("photo")
        self._set_picture(self.crop_label, square_photo(pixels, self._display_spec().size))
        self.message.setText(f"photo: {path.name}: looking for a face… (select a face to go back)")
        self.render()
        self._find_photo_face(pixels)

    def _find_photo_face(self, pixels: np.ndarray) -> None:
        """Look for the photo's face off the GUI thread (the cascade holds it for ~0.4 s); the newest drop wins."""
        from f2a_studio.detect.photo_face import PhotoFaceFinder

        if self._face_finder is None:
            from f2a_studio.core.search_path import model_search_path

            root = self.session.store.root if self.session is not None else None
            self._face_finder = PhotoFaceFinder(model_search_path(root))
        self._photo_generation += 1
        generation, finder = self._photo_generation, self._face_finder
        self.photo_search_done = False

        def run() -> None:
            try:
                face, error = finder.find(pixels), ""
            except Exception as exc:  # reported in the dock; the photo stays shown as a square
                face, error = None, f"{type(exc).__name__}: {exc}"
            self._photoFace.emit(generation, face, error)

        threading.Thread(target=run, name="f2a-photo-face", daemon=True).start()

    def _photo_face_found(self, generation: int, face: object, error: str) -> None:
        if generation != self._photo_generation:
            return  # an older drop
        self.photo_search_done = True
        if self._photo is None:
            return  # a project face was selected meanwhile
        if face is None:
            why = f"the face search failed ({error})" if error else "no face found"
            self.message.setText(f"photo: {self._photo_name}: {why}; its centre square is translated")
            return
        self._photo_face = face
        spec = self._display_spec()
        try:
            self._set_picture(self.crop_label, aligned_face(self._photo, face.landmarks, spec.size, spec.margin))
        except (AlignmentError, ValueError) as exc:
            self._photo_face = None
            self.message.setText(f"photo: {self._photo_name}: its face cannot be aligned ({exc})")
            return
        self.message.setText(f"photo: {self._photo_name}: face found ({face.backend} landmarks), aligned like "
                             "trainA (select a face to go back)")
        self.render()

    # ------------------------------------------------------------ translate to a folder

    def _update_buttons(self) -> None:
        ready = self.slots[0].engine is not None and self.session is not None and not self.jobs.busy
        for button in self.translate_buttons.values():
            button.setEnabled(ready)

    def items(self, scope: str) -> list[TranslateItem]:
        """The faces to translate: 'selection' (the selected face, else the open cut's) or 'episode'; rejected
        faces only when selected."""
        if self.session is None or self.navigator is None or self.navigator.record is None:
            return []
        reads, record = self.session.reads, self.navigator.record
        if scope == "selection":
            records = [record]
            only = self.face_id
        elif scope == "episode":
            records = reads.images(title_id=record.title_id, episode=record.episode)
            only = None
        else:
            raise ValueError(f"scope must be 'selection' or 'episode', got {scope!r}")
        out = []
        for rec in records:
            for face in reads.faces(rec.id):
                wanted = face.id == only if only is not None else face.status is not FaceStatus.REJECTED
                if face.landmarks and wanted:
                    out.append(TranslateItem(f"{rec.name}_face_{face.id}", face.landmarks, reads.cut_file(rec)))
        return out

    def translate_dialog(self, scope: str) -> None:
        parent = QFileDialog.getExistingDirectory(self, "Translate into a new folder inside…")
        if parent and self.slots[0].engine is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.translate(scope, Path(parent) / f"translated-{scope}-{stamp}")

    def translate(self, scope: str, out: Path) -> bool:
        engine = self.slots[0].engine
        items = self.items(scope)
        if engine is None or not items:
            self.message.setText("nothing to translate: load a model and open a cut with faces")
            return False

        def job(progress, should_stop):
            return translate_to_folder(engine, items, out, progress, should_stop)

        if not self.jobs.start(f"translating {len(items)} face(s)", job):
            return False
        self.progress.setRange(0, len(items))
        self.progress.setValue(0)
        self.progress.show()
        self._update_buttons()
        return True

    def _job_progress(self, done: int, total: int, _text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _job_finished(self, _name: str, result: object, error: str | None = None) -> None:
        self.progress.hide()
        if error:
            text = f"translation failed: {error}"
        elif result is None:
            text = "translation cancelled"
        else:
            skipped = f", {len(result.skipped)} skipped" if result.skipped else ""  # type: ignore[attr-defined]
            text = f"translated {result.written} face(s) into {result.out}{skipped}"  # type: ignore[attr-defined]
        self.message.setText(text)
        self.translateFinished.emit(text)
        self._update_buttons()
