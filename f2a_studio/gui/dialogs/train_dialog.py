"""Train a generator from the studio: `python -m trainer train` as a subprocess, watched through its files.

The trainer is a separate program (it may run for hours, use every core, or crash); the studio starts it
with QProcess and only reads what it writes: RUN/log.csv for the loss curves, RUN/samples/step-N.png for
the sample grid, RUN/checkpoints/latest.json for the result. Stop terminates the process; Resume starts it
again with --resume (the trainer continues exactly from its latest checkpoint).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QPointF, QProcess, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.store import ProjectStore

LOG_COLUMNS = ("step", "epoch", "lr", "sec_per_step")  # the trainer's base columns; the rest are losses
CURVE_COLORS = ("#4fb3ff", "#ff5d8f", "#f4d35e", "#5fd3bc", "#ee964b", "#c792ea", "#9a9a9a")


def read_losses(path: Path) -> dict[str, list[tuple[int, float]]]:
    """RUN/log.csv → {loss name: [(step, value)]}; a file being written (a partial last line) is fine."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError:
        return {}
    if not rows:
        return {}
    header = rows[0]
    names = [n for n in header if n not in LOG_COLUMNS]
    out: dict[str, list[tuple[int, float]]] = {n: [] for n in names}
    for row in rows[1:]:
        if len(row) != len(header):
            continue
        try:
            step = int(row[0])
            values = {n: float(v) for n, v in zip(header, row, strict=True) if n in out}
        except ValueError:
            continue
        for name, value in values.items():
            if math.isfinite(value):
                out[name].append((step, value))
    return out


def latest_checkpoint(run: Path) -> Path | None:
    """The weights file named by RUN/checkpoints/latest.json, if the run has one."""
    folder = run / "checkpoints"
    try:
        record = json.loads((folder / json.loads((folder / "latest.json").read_text())["checkpoint"]).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    weights = folder / record.get("weights", "")
    return weights if weights.is_file() else None


def trainer_presets(cwd: Path) -> tuple[list[str], str | None]:
    """Preset names from `python -m trainer presets`, or ([], why not)."""
    try:
        done = subprocess.run([sys.executable, "-m", "trainer", "presets"], cwd=cwd, capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"cannot start the trainer: {exc}"
    if done.returncode != 0:
        return [], f"the trainer is not available: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    try:
        return sorted(json.loads(done.stdout)), None
    except ValueError:
        return [], "the trainer printed no preset list"


class LossPlot(QWidget):
    """Loss curves, one polyline per loss, each scaled to its own range (their magnitudes differ by 100×)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.setMinimumSize(360, 180)

    def set_series(self, series: dict[str, list[tuple[int, float]]]) -> None:
        self.series = series
        self.update()

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QColor("#1e1e1e"))
        area = QRectF(self.rect()).adjusted(8, 8, -8, -22)
        points = [pt for values in self.series.values() for pt in values]
        if not points:
            p.setPen(QColor("#9a9a9a"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "losses appear here as the trainer logs them")
            return
        s0 = min(s for s, _ in points)
        s1 = max(max(s for s, _ in points), s0 + 1)
        x = 8.0
        for k, (name, values) in enumerate(self.series.items()):
            color = QColor(CURVE_COLORS[k % len(CURVE_COLORS)])
            if values:
                lo, hi = min(v for _, v in values), max(v for _, v in values)
                span = hi - lo or 1.0
                poly = QPolygonF([QPointF(area.left() + (s - s0) / (s1 - s0) * area.width(),
                                          area.bottom() - (v - lo) / span * area.height()) for s, v in values])
                p.setPen(QPen(color, 1.6))
                p.drawPolyline(poly)
                label = f"{name} {values[-1][1]:.3g}"
            else:
                label = name
            p.setPen(color)
            p.drawText(QPointF(x, self.height() - 6), label)
            x += p.fontMetrics().horizontalAdvance(label) + 14
        p.setPen(QColor("#9a9a9a"))
        p.drawText(QRectF(area.right() - 120, area.top(), 120, 14), Qt.AlignmentFlag.AlignRight, f"step {s1}")


class TrainDialog(QDialog):
    checkpointReady = Signal(str)  # weights path of a finished run

    def __init__(self, store: ProjectStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a generator")
        self.store = store
        self.workdir = store.checkpoints_dir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.run_dir: Path | None = None
        self.process: QProcess | None = None
        self._stderr = ""
        self._build()
        presets, why = trainer_presets(self.workdir)
        self.presets.addItems(presets)
        if "pix2pix-fast-cpu" in presets:
            self.presets.setCurrentText("pix2pix-fast-cpu")
        self.status.setText(why or "choose an export and a preset, then Start")
        self.start_button.setEnabled(why is None)
        self.timer = QTimer(self, interval=1000)
        self.timer.timeout.connect(self.poll)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.data = QLineEdit()
        self.data.setPlaceholderText("an export folder (with manifest.json)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        export_now = QPushButton("Export now…")
        export_now.clicked.connect(self._export_now)
        row.addWidget(self.data, 1)
        row.addWidget(browse)
        row.addWidget(export_now)
        form.addRow("Export", row)
        self.presets = QComboBox()
        form.addRow("Preset", self.presets)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(2000)
        self.steps.setToolTip("Stop after this many steps (a checkpoint is written at the end)")
        form.addRow("Steps", self.steps)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.plot = LossPlot()
        layout.addWidget(self.plot, 1)
        self.samples = QLabel("the sample grid (input | output | target) appears here")
        self.samples.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples.setMinimumHeight(140)
        layout.addWidget(self.samples, 1)
        self._update_buttons()

    # ------------------------------------------------------------ choosing the data

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an export folder", str(self.store.root))
        if folder:
            self.data.setText(folder)

    def _export_now(self) -> None:
        from f2a_studio.gui.export_dialog import ExportDialog

        dialog = ExportDialog(self.store, self)
        dialog.exported.connect(lambda result: self.data.setText(str(result.out)))
        dialog.exec()

    # ------------------------------------------------------------ the run

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, *, resume: bool = False, run_dir: Path | None = None) -> bool:
        if self.running:
            return False
        data = Path(self.data.text().strip())
        if not (data / "manifest.json").is_file():
            self.status.setText(f"{data} is not an export folder (no manifest.json): export first")
            return False
        preset = self.presets.currentText()
        if run_dir is not None:
            self.run_dir = run_dir
        elif not resume or self.run_dir is None:
            self.run_dir = self.workdir / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"
        args = ["-m", "trainer", "train", "--data", str(data), "--out", str(self.run_dir), "--preset", preset,
                "--max-steps", str(self.steps.value()), "--no-bar"]
        if resume:
            args.append("--resume")
        process = QProcess(self)
        # cwd = checkpoints/: `python -m` puts the cwd first on sys.path, and a source checkout's cwd would
        # shadow the installed trainer package
        process.setWorkingDirectory(str(self.workdir))
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        self._stderr = ""
        self.process = process
        process.start(sys.executable, args)
        if not process.waitForStarted(10000):
            self.status.setText(f"cannot start the trainer: {process.errorString()}")
            self.process = None
            return False
        self.status.setText(f"training {preset} into {self.run_dir} …")
        self.timer.start()
        self._update_buttons()
        return True

    def stop(self) -> None:
        """End the run now; what it did since its last checkpoint is lost (Resume continues from there)."""
        if not self.running:
            return
        assert self.process is not None
        self.process.terminate()
        if not self.process.waitForFinished(5000):
            self.process.kill()
            self.process.waitForFinished(5000)

    def _read_stderr(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
            self._stderr = (self._stderr + text)[-4000:]

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.timer.stop()
        self.poll()
        weights = latest_checkpoint(self.run_dir) if self.run_dir is not None else None
        if code == 0 and status == QProcess.ExitStatus.NormalExit and weights is not None:
            self.status.setText(f"done: {weights.name} — it is in the preview's model list")
            self.checkpointReady.emit(str(weights))
        elif status == QProcess.ExitStatus.CrashExit or code != 0:
            last = (self._stderr.strip().splitlines() or [""])[-1]
            resumable = " — Resume continues from its last checkpoint" if weights is not None else ""
            self.status.setText(f"the run stopped (exit {code}){': ' + last if last else ''}{resumable}")
        self._update_buttons()

    def poll(self) -> None:
        if self.run_dir is None:
            return
        self.plot.set_series(read_losses(self.run_dir / "log.csv"))
        grids = sorted((self.run_dir / "samples").glob("step-*.png"))
        if grids:
            pixmap = QPixmap(str(grids[-1]))
            if not pixmap.isNull():
                self.samples.setPixmap(pixmap.scaled(self.samples.width(), max(140, self.samples.height()),
                                                     Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))
                self.samples.setToolTip(grids[-1].name)

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and self.presets.count() > 0)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.run_dir is not None
                                      and (self.run_dir / "checkpoints" / "latest.json").is_file())

    def confirm_close(self) -> bool:
        """Closing the studio: a running training is stopped only if the user says so."""
        if not self.running:
            return True
        answer = QMessageBox.question(
            self.parentWidget() or self, "Training is running",
            f"A training run is in progress ({self.run_dir}).\nStop it and quit? Progress since its last "
            "checkpoint is lost; Resume continues from there.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.stop()
        return True
