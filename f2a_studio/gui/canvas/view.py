"""The canvas view: zoom (fit, fit width, 1:1, Ctrl+wheel around the cursor), smooth wheel scrolling of
tall strips, middle-button panning, and two one-shot tools: draw a box, pick a colour (eyedropper)."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, QSize, Qt, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsView, QLabel, QWidget

from f2a_studio.core.models import Box
from f2a_studio.gui.canvas.scene import CutScene

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
WHEEL_ZOOM_STEP = 1.0015  # per wheel-delta unit: one notch (120) ≈ ×1.2
FIT_PAD = 4  # viewport pixels left free around a fitted cut (as QGraphicsView.fitInView does)


class Tool(str, Enum):
    EDIT = "edit"
    DRAW_BOX = "draw_box"
    EYEDROPPER = "eyedropper"


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)
    cursorMoved = Signal(float, float)  # scene (image pixel) coordinates
    boxDrawn = Signal(object)  # Box
    colorPicked = Signal(QColor)
    toolChanged = Signal(str)

    def __init__(self, scene: CutScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.cut_scene = scene
        self.tool = Tool.EDIT
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_origin: QPointF | None = None
        self._pan: QPointF | None = None
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, False)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._scroll_anim = QVariantAnimation(self)
        self._scroll_anim.setDuration(140)
        self._scroll_anim.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._scroll_anim.valueChanged.connect(lambda v: self.verticalScrollBar().setValue(int(v)))
        self._scroll_target = 0
        self._auto_fit = False  # refit on resize until the user zooms or scrolls by hand
        self._fitted_for = QSize()  # the view's own size at the last auto-fit
        self._wheel_anchor: tuple[QPointF, QPointF] | None = None  # (viewport pos, scene point) of Ctrl+wheel
        self._before_focus: tuple[QTransform, int, int, bool] | None = None  # the view before focus_on
        # A child of the view, not of its viewport: viewport children move when the view scrolls.
        self.notice = QLabel(self)
        self.notice.setObjectName("canvasNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()

    # ------------------------------------------------------------ zoom

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom so the scene point under `anchor` (viewport coordinates; default the centre) stays put."""
        self._auto_fit = False
        self._before_focus = None  # the user took the view over: leaving a face no longer restores one
        self._zoom_about(zoom, anchor)

    def _zoom_about(self, zoom: float, anchor: QPointF | None, scene_point: QPointF | None = None) -> None:
        """Zoom and scroll so `scene_point` (default: the one under `anchor`) lands on `anchor`.

        Exact to the scroll bars' whole pixels: the point is mapped in floating point (mapToScene rounds
        to a whole view pixel) and placed from the new transform, not from the old scroll values."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        if scene_point is None:
            scene_point = self.scene_at(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self._place(scene_point, anchor)
        self._zoom_done()

    def scene_at(self, point: QPointF) -> QPointF:
        """The scene point under a viewport point, unrounded."""
        return self.viewportTransform().inverted()[0].map(QPointF(point))

    def _place(self, scene_point: QPointF, anchor: QPointF) -> None:
        off = self.viewportTransform().map(scene_point) - anchor
        for bar, delta in ((self.horizontalScrollBar(), off.x()), (self.verticalScrollBar(), off.y())):
            bar.setValue(bar.value() + round(delta))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def fit(self) -> None:
        rect = self._image_rect()
        if rect is not None:
            self._apply_zoom(self._fit_zoom(rect, width_only=False))
            self.centerOn(rect.center())

    def fit_width(self) -> None:
        rect = self._image_rect()
        if rect is None:
            return
        self._apply_zoom(self._fit_zoom(rect, width_only=True))
        self.centerOn(rect.center().x(), self.mapToScene(self.viewport().rect().center()).y())
        self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def _fit_zoom(self, rect: QRectF, *, width_only: bool) -> float:
        """The zoom that shows `rect` whole (or its full width) in the viewport the scroll bars leave.

        Which bars show depends on the zoom (the scene has a margin around the cut), so this solves for
        both: start with no bars, add each bar the zoom's scene would need, refit. Bars are only added,
        so it ends within three rounds; it never fits into the viewport of the moment, whose bars belong
        to the previous cut or zoom."""
        full = self.maximumViewportSize()  # the viewport with no scroll bars at all
        bar_w = self.verticalScrollBar().sizeHint().width()
        bar_h = self.horizontalScrollBar().sizeHint().height()
        scene = self.sceneRect()
        need_v = need_h = False
        zoom = 1.0
        for _ in range(3):
            avail_w = full.width() - (bar_w if need_v else 0)
            avail_h = full.height() - (bar_h if need_h else 0)
            zoom = (avail_w - FIT_PAD) / rect.width()
            if not width_only:
                zoom = min(zoom, (avail_h - FIT_PAD) / rect.height())
            # A pixel of slack: rather a bar counted that Qt then leaves out than the other way round.
            v = need_v or scene.height() * zoom > avail_h - 1
            h = need_h or scene.width() * zoom > avail_w - 1
            if (v, h) == (need_v, need_h):
                break
            need_v, need_h = v, h
        return max(MIN_ZOOM, min(MAX_ZOOM, zoom))

    def _apply_zoom(self, zoom: float) -> None:
        self._before_focus = None
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self._zoom_done()

    def actual_size(self) -> None:
        self.set_zoom(1.0, QPointF(self.viewport().rect().center()))

    def fit_cut(self) -> None:
        """The default on opening a cut: tall strips fit their width, other cuts fit whole."""
        rect = self._image_rect()
        if rect is None:
            return
        if rect.height() > 2.2 * rect.width():
            self.fit_width()
        else:
            self.fit()
        self._auto_fit = True
        self._fitted_for = self.size()
        self._before_focus = None  # a new cut (or a refit): this fit is what leaving a face returns to

    def focus_on(self, rect: QRectF, fraction: float) -> None:
        """Zoom so `rect` (a face) fills `fraction` of the viewport's shorter side, centred; never zoom
        out below the cut's fit. The view before is kept for `leave_focus` (the first one, while moving
        from face to face)."""
        image = self._image_rect()
        if image is None or rect.isEmpty():
            return
        if self._before_focus is None:
            h, v = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
            self._before_focus = (self.transform(), h, v, self._auto_fit)
        port = self.viewport().rect()
        target = fraction * min(port.width() / rect.width(), port.height() / rect.height())
        fitted = self._fit_zoom(image, width_only=image.height() > 2.2 * image.width())
        self._auto_fit = False
        self._scroll_anim.stop()
        self._zoom_about(max(target, fitted), QPointF(port.center()), rect.center())

    def leave_focus(self) -> None:
        """Back to the view before `focus_on` (no face selected any more)."""
        if self._before_focus is None:
            return
        transform, h, v, auto_fit = self._before_focus
        self._before_focus = None
        self._scroll_anim.stop()
        self.setTransform(transform)
        self.horizontalScrollBar().setValue(h)
        self.verticalScrollBar().setValue(v)
        self._auto_fit = auto_fit
        self._zoom_done()
        if auto_fit and self.size() != self._fitted_for:  # the window changed size while zoomed in
            self.fit_cut()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # Refit only when the view itself changed size (window, docks, banner). A scroll bar showing or
        # hiding resizes only the viewport; refitting on that toggled the bar back, forever (issue 8).
        if self._auto_fit and self.size() != self._fitted_for:
            self.fit_cut()
        if self.notice.isVisible():
            self.show_notice(self.notice.text(), self.notice.property("kind") or "problem")

    def reveal(self, rect: QRectF) -> None:
        """Scroll so `rect` (scene) is in view, zooming out only if it cannot fit."""
        view = self.viewport().rect()
        if rect.width() * self.zoom > view.width() * 0.9 or rect.height() * self.zoom > view.height() * 0.9:
            self.set_zoom(0.8 * min(view.width() / max(rect.width(), 1), view.height() / max(rect.height(), 1)))
        self._scroll_anim.stop()
        self.ensureVisible(rect, 40, 40)

    def _image_rect(self) -> QRectF | None:
        item = self.cut_scene.image_item
        return None if item is None else item.boundingRect()

    def _zoom_done(self) -> None:
        self.cut_scene.set_view_scale(self.zoom)
        self.zoomChanged.emit(self.zoom)

    # ------------------------------------------------------------ wheel: zoom with Ctrl, otherwise smooth scroll

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            # Notches at one cursor position zoom about one scene point, kept unrounded: re-reading it
            # each notch drifts (a pixel of rounding, or a whole centred margin while the cut is smaller
            # than the view), and at 600% the point ended up hundreds of pixels from the pointer.
            pos = QPointF(event.position())
            anchored = self._wheel_anchor
            scene_point = anchored[1] if anchored is not None and anchored[0] == pos else self.scene_at(pos)
            self._wheel_anchor = (pos, scene_point)
            self._auto_fit = False
            self._before_focus = None
            self._zoom_about(self.zoom * WHEEL_ZOOM_STEP ** event.angleDelta().y(), pos, scene_point)
            event.accept()
            return
        self._wheel_anchor = None
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or not event.pixelDelta().isNull():
            super().wheelEvent(event)  # touchpads scroll smoothly by themselves
            return
        self._auto_fit = False
        bar = self.verticalScrollBar()
        start = bar.value()
        base = self._scroll_target if self._scroll_anim.state() == QVariantAnimation.State.Running else start
        step = -event.angleDelta().y() / 120 * max(60, self.viewport().height() * 0.18)
        self._scroll_target = int(max(bar.minimum(), min(bar.maximum(), base + step)))
        self._scroll_anim.stop()
        self._scroll_anim.setStartValue(start)
        self._scroll_anim.setEndValue(self._scroll_target)
        self._scroll_anim.start()
        event.accept()

    # ------------------------------------------------------------ tools

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self.viewport().setCursor(
            Qt.CursorShape.ArrowCursor if tool is Tool.EDIT else Qt.CursorShape.CrossCursor
        )
        self.toolChanged.emit(tool.value)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._wheel_anchor = None
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is Tool.DRAW_BOX:
            self._rubber_origin = self.mapToScene(event.position().toPoint())
            pen = QPen(QColor("#35a7ff"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber = self.cut_scene.addRect(QRectF(self._rubber_origin, self._rubber_origin), pen)
            self._rubber.setZValue(100)
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is Tool.EYEDROPPER:
            color = self.cut_scene.sample_color(self.mapToScene(event.position().toPoint()))
            self.set_tool(Tool.EDIT)
            if color is not None:
                self.colorPicked.emit(color)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._wheel_anchor = None
        scene_pos = self.mapToScene(event.position().toPoint())
        self.cursorMoved.emit(scene_pos.x(), scene_pos.y())
        if self._pan is not None:
            delta = event.position() - self._pan
            self._pan = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._rubber is not None and self._rubber_origin is not None:
            self._rubber.setRect(QRectF(self._rubber_origin, scene_pos).normalized())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None and event.button() == Qt.MouseButton.MiddleButton:
            self._pan = None
            self.set_tool(self.tool)
            return
        if self._rubber is not None:
            rect = self._rubber.rect()
            self.cut_scene.removeItem(self._rubber)
            self._rubber = None
            self._rubber_origin = None
            self.set_tool(Tool.EDIT)
            if rect.width() * self.zoom >= 6 and rect.height() * self.zoom >= 6:
                self.boxDrawn.emit(Box(rect.x(), rect.y(), rect.width(), rect.height()))
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------ notice over the canvas

    def show_notice(self, text: str | None, kind: str = "problem") -> None:
        """A box over the top of the canvas: `kind` "problem" (red: the cut cannot be shown) or "hint"
        (neutral: what a mode expects next)."""
        if not text:
            self.notice.hide()
            return
        if self.notice.property("kind") != kind:
            self.notice.setProperty("kind", kind)
            self.notice.style().unpolish(self.notice)  # a dynamic property is restyled only when re-polished
            self.notice.style().polish(self.notice)
        self.notice.setText(text)
        width = max(200, self.viewport().width() - 40)
        self.notice.setFixedSize(width, self.notice.heightForWidth(width))
        self.notice.move(self.viewport().x() + 20, self.viewport().y() + 16)
        self.notice.show()
        self.notice.raise_()
