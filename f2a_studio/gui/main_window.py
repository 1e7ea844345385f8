"""The studio window: browser | canvas | inspector, menus and toolbar, wired to one project session.

This module only assembles and wires. Behaviour lives in its parts: Navigator (where we are),
Editor (edits → undo commands), ProjectBrowser, Inspector, CanvasView/CutScene, JobRunner.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.errors import F2AError, NotFoundError
from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui import theme
from f2a_studio.gui.actions import Actions
from f2a_studio.gui.anchor_mode import AnchorMode
from f2a_studio.gui.canvas import CanvasView, CutScene, Layers
from f2a_studio.gui.canvas.view import Tool
from f2a_studio.gui.editor import Editor
from f2a_studio.gui.gc_pauses import freeze_long_lived
from f2a_studio.gui.image_cache import ImageCache
from f2a_studio.gui.learn.retrain_menu import LearnMenu
from f2a_studio.gui.navigator import Navigator
from f2a_studio.gui.panels.browser import ProjectBrowser
from f2a_studio.gui.panels.browser_model import CutFilter
from f2a_studio.gui.panels.inspector import Inspector
from f2a_studio.gui.panels.preview import PreviewPanel
from f2a_studio.gui.panels.status_bar import StudioStatusBar
from f2a_studio.gui.project_menu import ProjectMenu
from f2a_studio.gui.queries import first_cut_with_faces, review_reasons
from f2a_studio.gui.session import Session
from f2a_studio.gui.settings import ProjectPlace, StudioSettings
from f2a_studio.gui.workers import JobRunner, detect_job, detection_unavailable

NUDGES = {
    "nudge_left": (-1, 0), "nudge_right": (1, 0), "nudge_up": (0, -1), "nudge_down": (0, 1),
    "nudge_left_10": (-10, 0), "nudge_right_10": (10, 0), "nudge_up_10": (0, -10), "nudge_down_10": (0, 10),
}


def describe_job_result(result: object, error: str | None) -> str:
    if error:
        return f"failed: {error}"
    if result is None:
        return "cancelled"
    if hasattr(result, "faces") and hasattr(result, "done"):  # a detect.DetectReport
        text = f"{result.done}/{result.total} cut(s), {result.faces} face(s)"  # type: ignore[attr-defined]
        failed = getattr(result, "failed", [])
        if failed:
            text += f", {len(failed)} failed (first: {failed[0][1]})"
        adaptation = getattr(result, "landmark_adaptation", None) or {}
        if adaptation.get("adapted"):
            text += f"; {adaptation['text']}"
        elif adaptation.get("stopped"):
            text += "; landmark adaptation stopped (the next detection continues it)"
        return text + (" — stopped" if getattr(result, "stopped", False) else "")
    return "done"


class MainWindow(QMainWindow):
    def __init__(self, settings: StudioSettings | None = None, cache: ImageCache | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else StudioSettings()
        self.cache = cache if cache is not None else ImageCache(parent=self)
        self.session: Session | None = None
        self.navigator: Navigator | None = None
        self.editor: Editor | None = None
        self.anchor_mode: AnchorMode | None = None
        self.setWindowTitle("F2A Studio")

        self.scene = CutScene(self)
        self.view = CanvasView(self.scene)
        self.banner = QLabel()
        self.banner.setObjectName("readOnlyBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(central)

        self.browser = ProjectBrowser()
        self.inspector = Inspector()
        self.history = QUndoView()
        # The edit log keeps every change, but undo commands live only in this session: say so.
        self.history.setEmptyLabel("Opened: undo history starts here (earlier edits are saved, not undoable)")
        self._dock("Project", "browserDock", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea, 300)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        inspector_dock = self._dock("Face", "inspectorDock", self.inspector, right, 300)
        history_dock = self._dock("History", "historyDock", self.history, right, 300)
        self.tabifyDockWidget(inspector_dock, history_dock)
        inspector_dock.raise_()
        self.preview = PreviewPanel(self.settings)
        self.preview.translateFinished.connect(lambda text: self.status.showMessage(text, 10000))
        self._dock("Preview", "previewDock", self.preview, Qt.DockWidgetArea.LeftDockWidgetArea, 300)

        self.status = StudioStatusBar()
        self.setStatusBar(self.status)
        self.actions = Actions(self)
        self.actions.build_menus()
        self.toolbar = self.actions.build_toolbar()
        self.addToolBar(self.toolbar)
        self._build_threshold()
        self.project_menu = ProjectMenu(self)
        self.jobs = JobRunner(self)
        self._last_refresh = 0.0
        self._place_ready = False  # a project's place is saved only once it has been restored
        self._wire()
        self.learn_menu = LearnMenu(self)  # after _wire: the window's own job-end refresh runs first
        self._load_preferences()
        self._update_enabled()

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea, width: int) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        return dock

    def _build_threshold(self) -> None:
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setFixedWidth(140)
        self.threshold_slider.setToolTip("Detection threshold: hides untouched detector faces scoring below it "
                                         "(they are kept, not deleted)")
        self.threshold_label = QLabel()
        self.toolbar.addSeparator()
        self.toolbar.addWidget(QLabel(" Threshold "))
        self.toolbar.addWidget(self.threshold_slider)
        self.toolbar.addWidget(self.threshold_label)
        self._threshold_timer = QTimer(self, singleShot=True, interval=200)
        self._threshold_timer.timeout.connect(self._threshold_settled)
        self.threshold_slider.valueChanged.connect(self._threshold_moved)

    # ------------------------------------------------------------ wiring

    def _wire(self) -> None:
        a = self.actions
        simple = {
            "quit": self.close,
            "close_project": self.close_project,
            "undo": lambda: self.undo_redo(-1),
            "redo": lambda: self.undo_redo(1),
            "accept": lambda: self.review(FaceStatus.ACCEPTED),
            "reject": lambda: self.review(FaceStatus.REJECTED),
            "unreview": lambda: self._edit(lambda e: e.set_status(FaceStatus.UNREVIEWED)),
            "sex_female": lambda: self._edit(lambda e: e.set_sex(Sex.FEMALE)),
            "sex_male": lambda: self._edit(lambda e: e.set_sex(Sex.MALE)),
            "sex_unknown": lambda: self._edit(lambda e: e.set_sex(Sex.UNKNOWN)),
            "delete": lambda: self._edit(lambda e: e.delete()),
            "toggle_visibility": lambda: self._edit(lambda e: e.toggle_visibility()),
            "refit_landmarks": lambda: self._edit(lambda e: e.refit_landmarks()),
            "draw_box": lambda: self.view.set_tool(Tool.DRAW_BOX),
            "place_anchors": self.toggle_anchor_mode,
            "next_face": lambda: self._nav(lambda n: n.step_face(1)),
            "prev_face": lambda: self._nav(lambda n: n.step_face(-1)),
            "review_next": lambda: self._nav(lambda n: n.review_next()),
            "next_cut": lambda: self._nav(lambda n: n.step_cut(1), focus=False),
            "prev_cut": lambda: self._nav(lambda n: n.step_cut(-1), focus=False),
            "clear_selection": self.clear_selection,
            "fit": self.view.fit,
            "fit_width": self.view.fit_width,
            "actual_size": self.view.actual_size,
            "zoom_in": lambda: self.view.zoom_by(1.25),
            "zoom_out": lambda: self.view.zoom_by(0.8),
            "detect_scene": lambda: self.detect(all_cuts=False),
            "detect_all": lambda: self.detect(all_cuts=True),
            "cancel_job": self.jobs.cancel,
        }
        for action_id, handler in simple.items():
            a[action_id].triggered.connect(lambda _=False, h=handler: h())
        for action_id, (dx, dy) in NUDGES.items():
            # Arrows nudge only while the canvas has focus; in the browser they move between cuts.
            action = a[action_id]
            self.removeAction(action)
            self.view.addAction(action)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(lambda _=False, d=(dx, dy): self._edit(lambda e: e.nudge(*d)))
        a["advance"].toggled.connect(lambda on: setattr(self.settings, "advance_after_review", on))
        a["zoom_to_face"].toggled.connect(self._zoom_to_face_toggled)
        a["theme_dark"].toggled.connect(lambda on: self.set_theme("dark" if on else "light"))
        for action in a.layers.values():
            action.toggled.connect(lambda _=False: self._layers_changed())
        self.browser.summariesChanged.connect(self.status.show_review)
        self.browser.orderChanged.connect(self._order_changed)
        self.browser.filter_box.currentIndexChanged.connect(lambda _: self._remember_place())
        self.browser.search.textChanged.connect(lambda _: self._remember_place())
        self.browser.cutActivated.connect(lambda image_id: self._nav(lambda n: n.open_cut(image_id), focus=False))
        self.inspector.statusRequested.connect(lambda s: self._edit(lambda e: e.set_status(s)))
        self.inspector.sexRequested.connect(lambda s: self._edit(lambda e: e.set_sex(s)))
        self.inspector.colorRequested.connect(lambda n, v: self._edit(lambda e: e.set_color(n, v)))
        self.inspector.eyedropperRequested.connect(lambda n: self._edit(lambda e: e.start_eyedropper(n)))
        self.inspector.deleteRequested.connect(lambda: self._edit(lambda e: e.delete()))
        self.inspector.visibilityToggleRequested.connect(lambda: self._edit(lambda e: e.toggle_visibility()))
        self.view.zoomChanged.connect(self.status.show_zoom)
        self.view.cursorMoved.connect(self.status.show_position)
        self.status.cancelRequested.connect(self.jobs.cancel)
        self.jobs.started.connect(self.status.job_started)
        self.jobs.progress.connect(self._job_progress)
        self.jobs.finished.connect(self._job_finished)
        self.jobs.failed.connect(lambda name, msg: self._job_finished(name, None, msg))

    def _load_preferences(self) -> None:
        layers = self.settings.layers
        for name, action in self.actions.layers.items():
            action.setChecked(getattr(layers, name))
        self.actions["advance"].setChecked(self.settings.advance_after_review)
        self.actions["zoom_to_face"].setChecked(self.settings.zoom_to_face)
        self.actions["theme_dark"].setChecked(self.settings.theme == "dark")
        self.threshold_slider.setValue(round(self.settings.threshold * 100))
        self._threshold_moved(self.threshold_slider.value())
        self._layers_changed()

    # ------------------------------------------------------------ project lifecycle

    def open_project(self, folder: Path, *, quiet: bool = False) -> bool:
        try:
            store = ProjectStore.open(folder)
        except F2AError as exc:
            if not quiet:
                QMessageBox.critical(self, "Cannot open project", str(exc))
            self.status.showMessage(f"cannot open {folder}: {exc}")
            return False
        self.set_store(store)
        return True

    def set_store(self, store: ProjectStore) -> None:
        self.close_project()
        session = Session(store, self)
        self.session = session
        self.navigator = Navigator(session, self.scene, self.view, self.cache)
        self.editor = Editor(session, self.navigator, self.view)
        self.anchor_mode = AnchorMode(session, self.navigator, self.view)
        self.anchor_mode.hintChanged.connect(self._anchor_hint)
        self.anchor_mode.message.connect(lambda text: self.status.showMessage(text, 4000))
        self.anchor_mode.undoRequested.connect(self.undo_redo)
        self._zoom_to_face_toggled(self.actions["zoom_to_face"].isChecked())
        self.history.setStack(session.undo_stack)
        session.errorRaised.connect(self._show_error)
        session.faceChanged.connect(self._face_touched)
        session.faceAdded.connect(self._face_touched)
        session.faceRemoved.connect(self._face_removed)
        # Bound methods, not lambdas: Qt drops these connections when the window goes away.
        session.undo_stack.canUndoChanged.connect(self._stack_changed)
        session.undo_stack.canRedoChanged.connect(self._stack_changed)
        self.navigator.selectionChanged.connect(self._selection_changed)
        self.navigator.cutChanged.connect(self._cut_changed)
        self.navigator.message.connect(lambda text: self.status.showMessage(text, 4000))
        self.navigator.imageProblem.connect(lambda text: text and self.status.showMessage(text.split("\n")[0]))
        self.editor.message.connect(lambda text: self.status.showMessage(text, 4000))
        self.navigator.set_threshold(self.threshold)
        self.preview.attach(session, self.navigator, self.scene)
        self.browser.set_store(session.reads, self.threshold)
        if store.read_only:
            self.banner.setText(f"Read-only: {store.read_only_reason}. Edits are disabled; "
                                "close the other program and reopen this project to edit.")
            self.banner.show()
        self.scene.set_editable(not store.read_only)
        self.inspector.set_editable(not store.read_only)
        if not store.read_only:
            self.settings.add_recent(store.root)
            self.project_menu.refresh_recent()
        self.setWindowTitle(f"{store.root.name} — F2A Studio" + (" [read-only]" if store.read_only else ""))
        self._restore_place(store.root)
        self._update_enabled()
        freeze_long_lived()  # the window and project are built: keep full GCs from walking them later
        if not store.read_only:
            undetected = session.reads.image_count() - len(session.reads.detected_image_ids())
            if undetected > 0:
                self.status.showMessage(f"{undetected} cut(s) not detected yet: Detect ▸ Detect All New Cuts "
                                        "(Ctrl+Shift+A)", 30000)

    def _restore_place(self, root: Path) -> None:
        """Reopen where the user left off (cut, face, browser filter); else on the first cut with faces."""
        assert self.session is not None and self.navigator is not None
        place = self.settings.project_place(root)
        known = {f.value for f in CutFilter}
        self.browser.set_filter(CutFilter(place.cut_filter) if place.cut_filter in known else CutFilter.ALL)
        self.browser.search.setText(place.search)
        order = self.navigator.order
        opened = place.image_id is not None and self._has_image(place.image_id) and self.navigator.open_cut(
            place.image_id)
        if not opened and order:
            self.navigator.open_cut(first_cut_with_faces(self.session.reads, order))
        if opened and place.face_id is not None and place.face_id in self.scene.items_by_id:
            self.navigator.select_face(place.face_id)
        self._place_ready = True

    def _has_image(self, image_id: int) -> bool:
        try:
            self.session.reads.image(image_id)  # type: ignore[union-attr]
        except NotFoundError:
            return False
        return True

    def _remember_place(self) -> None:
        if self.session is None or self.navigator is None or not self._place_ready:
            return
        record = self.navigator.record
        place = ProjectPlace(record.id if record is not None else None, self.navigator.face_id,
                             self.browser.cut_filter.value, self.browser.search.text())
        self.settings.save_project_place(self.session.store.root, place)

    def close_project(self) -> None:
        if self.session is None:
            return
        self._remember_place()
        self._place_ready = False
        self.jobs.wait()
        assert self.navigator is not None and self.editor is not None
        self.preview.detach()
        if self.anchor_mode is not None:
            self.anchor_mode.shutdown()
            self.anchor_mode = None
        self.navigator.disconnect_all()
        self.editor.disconnect_all()
        self.navigator.close_cut()
        self.history.setStack(None)
        self.session.close()
        self.session.deleteLater()
        self.session = self.navigator = self.editor = None
        self.browser.set_store(None, self.threshold)
        self.banner.hide()
        self.inspector.show_face(None)
        self.status.review.setText("")
        self.setWindowTitle("F2A Studio")
        self._update_enabled()

    # ------------------------------------------------------------ actions

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def _nav(self, fn, *, focus: bool = True) -> None:
        if self.navigator is not None:
            fn(self.navigator)
            if focus:
                self.view.setFocus()

    def _edit(self, fn) -> None:
        if self.editor is not None and self.session is not None and not self.session.read_only:
            fn(self.editor)

    def review(self, status: FaceStatus) -> None:
        if self.editor is None or self.navigator is None or self.session is None or self.session.read_only:
            return
        if self.editor.set_status(status) and self.actions["advance"].isChecked():
            self.navigator.review_next()
        self.view.setFocus()

    def undo_redo(self, step: int) -> None:
        """Undo/redo one step and show the face it touched (switching cuts if needed)."""
        if self.session is None or self.session.read_only:
            return
        if self.anchor_mode is not None:
            self.anchor_mode.end()  # its clicks are stored (and merged) first: the undo takes the session back
        stack = self.session.undo_stack
        if step < 0 and stack.canUndo():
            command = stack.command(stack.index() - 1)
            stack.undo()
        elif step > 0 and stack.canRedo():
            command = stack.command(stack.index())
            stack.redo()
        else:
            return
        face_id = getattr(command, "face_id", None)
        if face_id is not None and self.navigator is not None and face_id != self.navigator.face_id:
            self.navigator.select_face(face_id)

    def toggle_anchor_mode(self) -> None:
        if self.anchor_mode is not None and self.anchor_mode.toggle():
            self.view.setFocus()

    def _anchor_hint(self, text: str) -> None:
        if text:
            self.status.showMessage(text)
        else:
            self.status.clearMessage()

    def clear_selection(self) -> None:
        self.view.set_tool(Tool.EDIT)
        if self.navigator is not None:
            if self.navigator.points:
                self.navigator.select_face(self.navigator.face_id, reveal=False)
            else:
                self.navigator.select_face(None)

    def select_face(self, face_id: int) -> bool:
        return self.navigator is not None and self.navigator.select_face(face_id)

    def detect(self, *, all_cuts: bool) -> None:
        if self.session is None or self.navigator is None or self.session.read_only:
            return
        reason = detection_unavailable()
        if reason:
            self.status.showMessage(reason, 8000)
            return
        ids: list[int] | None
        if all_cuts:
            ids, label = None, "detecting all new cuts"  # cuts detected before keep their faces
        elif self.navigator.record is not None:
            ids, label = [self.navigator.record.id], f"detecting {self.navigator.record.name}"
        else:
            return
        if not self.jobs.start(label, detect_job(self.session.store, ids)):
            self.status.showMessage("another job is running", 4000)

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, name)
        self.settings.theme = name  # apply_theme redraws every bound icon in the new colours

    # ------------------------------------------------------------ reactions

    def _threshold_moved(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f} ")
        self.scene.set_threshold(value / 100)
        self._threshold_timer.start()

    def _threshold_settled(self) -> None:
        self.settings.threshold = self.threshold
        if self.session is not None:
            self.browser.set_threshold(self.threshold)  # recounts in the background when it changed

    def _zoom_to_face_toggled(self, on: bool) -> None:
        self.settings.zoom_to_face = on
        if self.navigator is not None:
            self.navigator.face_fill = self.settings.face_fill if on else 0.0

    def _layers_changed(self) -> None:
        layers = Layers(**{name: action.isChecked() for name, action in self.actions.layers.items()})
        self.scene.set_layers(layers)
        self.settings.layers = layers

    def _selection_changed(self, face_id: int, points: tuple) -> None:
        face = None
        if face_id >= 0 and self.session is not None:
            try:
                face = self.session.reads.face(face_id)
            except NotFoundError:
                face = None
        record = self.navigator.record if self.navigator is not None else None
        self.inspector.show_face(face, tuple(points), record)
        if face is not None and self.session is not None:  # why the review queue wants a person here
            self.inspector.show_queue(review_reasons(self.session.reads, face))
        self._remember_place()

    def _cut_changed(self, record: object) -> None:
        self.browser.select_cut(getattr(record, "id", None))
        self._remember_place()
        if record is not None:
            self.status.showMessage(f"{record.name}  {record.width}×{record.height}", 3000)  # type: ignore[attr-defined]

    def _face_touched(self, face_id: int) -> None:
        if self.session is not None:
            with contextlib.suppress(NotFoundError):
                self._cut_touched(self.session.reads.face(face_id).image_id)

    def _order_changed(self) -> None:
        if self.navigator is not None:
            self.navigator.order = self.browser.order()

    def _face_removed(self, _face_id: int, image_id: int) -> None:
        self._cut_touched(image_id)

    def _stack_changed(self, _flag: bool) -> None:
        self._update_enabled()

    def _cut_touched(self, image_id: int) -> None:
        self.browser.refresh_cut(image_id)  # the status bar follows through summariesChanged

    def _show_error(self, message: str) -> None:
        self.status.showMessage(message, 8000)

    def _job_progress(self, done: int, total: int, text: str) -> None:
        self.status.job_progress(done, total, text)
        # Detection rewrites faces: show the open cut's new ones, at most a few times a second (each
        # refresh is a store read that may wait for the worker's write to commit).
        if self.jobs.name.startswith("detecting") and time.monotonic() - self._last_refresh > 0.4:
            self._last_refresh = time.monotonic()
            if self.session is not None and self.navigator is not None and self.navigator.record is not None:
                self.session.imageFacesReset.emit(self.navigator.record.id)

    def _job_finished(self, name: str, result: object, error: str | None = None) -> None:
        freeze_long_lived(collect=False)  # a first detection imports the detector's packages: freeze those too
        self.status.job_done()
        self.status.showMessage(f"{name}: {describe_job_result(result, error)}", 10000)
        if self.session is not None:
            self.browser.load_summaries()
            if self.navigator is not None and self.navigator.record is not None:
                self.session.imageFacesReset.emit(self.navigator.record.id)

    def _update_enabled(self) -> None:
        has_project = self.session is not None
        writable = has_project and not self.session.read_only  # type: ignore[union-attr]
        for action in self.actions.edit_actions():
            action.setEnabled(writable)
        if writable:
            stack = self.session.undo_stack  # type: ignore[union-attr]
            self.actions["undo"].setEnabled(stack.canUndo())
            self.actions["redo"].setEnabled(stack.canRedo())
        for action_id in ("statistics", "close_project", "next_face", "prev_face", "review_next", "next_cut",
                          "prev_cut"):
            self.actions[action_id].setEnabled(has_project)
        exporter = importlib.util.find_spec("f2a_studio.gui.export_dialog") is not None
        self.actions["export"].setEnabled(has_project and exporter)

    def closeEvent(self, event: QCloseEvent) -> None:
        # a training run or a retrain is going and the user keeps it
        if not self.preview.confirm_close() or not self.learn_menu.confirm_close():
            event.ignore()
            return
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        # gone from the screen at once: what follows may wait seconds for a generator still loading (a process
        # that exits while torch is importing aborts), and everything a person did is already saved
        self.hide()
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        self.close_project()
        self.preview.shutdown()
        self.cache.shutdown()
        super().closeEvent(event)
