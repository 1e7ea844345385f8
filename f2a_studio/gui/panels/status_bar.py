"""Status bar: messages, review totals, cursor position, zoom, and the running job's progress."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from f2a_studio.gui import theme
from f2a_studio.gui.queries import CutSummary


class StudioStatusBar(QStatusBar):
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_label = QLabel("")
        self.job_bar = QProgressBar()
        self.job_bar.setFixedWidth(160)
        self.cancel = QToolButton()
        theme.bind_icon(self.cancel, "mdi6.stop-circle-outline")
        self.cancel.setToolTip("Cancel the running job")
        self.cancel.clicked.connect(self.cancelRequested.emit)
        self.review = QLabel("")
        self.position = QLabel("")
        self.zoom = QLabel("")
        for widget in (self.job_label, self.job_bar, self.cancel, self.review, self.position, self.zoom):
            self.addPermanentWidget(widget)
        self.job_done()

    def show_review(self, totals: CutSummary) -> None:
        self.review.setText(
            f"reviewed {totals.reviewed}/{totals.faces} · {totals.unreviewed} left" if totals.faces else "no faces"
        )

    def show_position(self, x: float, y: float) -> None:
        self.position.setText(f"{x:.0f}, {y:.0f}")

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")

    def job_started(self, name: str) -> None:
        self.job_label.setText(name)
        self.job_bar.setRange(0, 0)
        for widget in (self.job_label, self.job_bar, self.cancel):
            widget.show()

    def job_progress(self, done: int, total: int, text: str) -> None:
        self.job_bar.setRange(0, max(total, 1))
        self.job_bar.setValue(done)
        self.job_bar.setFormat(f"{done}/{total}")
        if text:
            self.job_bar.setToolTip(text)

    def job_text(self, text: str) -> None:
        """What the running job is doing now (a retrain's stage), beside its bar."""
        self.job_label.setText(text)

    def job_done(self) -> None:
        for widget in (self.job_label, self.job_bar, self.cancel):
            widget.hide()
