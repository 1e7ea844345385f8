"""Export dialog: format and crop options, the filters with live counts, and the export in the background.

Every change re-plans the export (f2a_studio.export.plan_export: reads the project, no pixels, a few ms)
after a short pause, and shows how many faces would go into each split and why the others stay out.
The export itself runs on a JobRunner thread (worker processes do the rendering); Cancel removes the
half-written temp folder, so the target holds a complete dataset or nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.align import DEFAULT_MARGIN, SIZES
from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import FORMATS, ExportOptions, ExportPlan, ExportResult, FaceFilter, plan_export, run_export
from f2a_studio.export.runner import default_workers
from f2a_studio.gui.workers import JobRunner

REPLAN_DELAY_MS = 150
MAX_DETAIL_LINES = 2000
_ANY_ANGLE = -1.0  # the pose limit spin boxes show "any" at this value


def _angle_box() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(_ANY_ANGLE, 180.0)
    box.setDecimals(0)
    box.setSuffix("°")
    box.setSpecialValueText("any")
    box.setValue(_ANY_ANGLE)
    return box


class ExportDialog(QDialog):
    exported = Signal(object)  # ExportResult

    def __init__(self, store: ProjectStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.store = store
        self.plan: ExportPlan | None = None
        self.result: ExportResult | None = None
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPLAN_DELAY_MS)
        self._timer.timeout.connect(self.replan)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self._options_box())
        top.addWidget(self._filters_box())
        layout.addLayout(top)
        layout.addLayout(self._target_row())
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.counts)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("What would be exported, and why faces are left out")
        layout.addWidget(self.details, 1)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        layout.addWidget(self.bar)
        buttons = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons.addWidget(self.status, 1)
        for button in (self.export_button, self.cancel_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.resize(900, 680)
        self._sync_enabled()
        self.replan()

    # ------------------------------------------------------------------ widgets

    def _options_box(self) -> QGroupBox:
        box = QGroupBox("Dataset")
        form = QFormLayout(box)
        self.format = QComboBox()
        for name, fmt in FORMATS.items():
            self.format.addItem(name, name)
            self.format.setItemData(self.format.count() - 1, fmt.summary, Qt.ItemDataRole.ToolTipRole)
        self.size = QComboBox()
        for size in SIZES:
            self.size.addItem(f"{size} × {size}", size)
        self.size.setCurrentIndex(SIZES.index(256))
        self.margin = QDoubleSpinBox()
        self.margin.setRange(0.0, 2.0)
        self.margin.setSingleStep(0.05)
        self.margin.setValue(DEFAULT_MARGIN)
        self.foreground = QCheckBox("Foreground only (alpha, else GrabCut)")
        self.background = QComboBox()
        self.background.addItems(["white", "transparent"])
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.ratios = [QDoubleSpinBox() for _ in range(3)]
        ratio_row = QHBoxLayout()
        for box_, value, name in zip(self.ratios, (0.8, 0.1, 0.1), ("train", "val", "test"), strict=True):
            box_.setRange(0.0, 1.0)
            box_.setSingleStep(0.05)
            box_.setValue(value)
            box_.setPrefix(f"{name} ")
            ratio_row.addWidget(box_)
        self.split_by = QComboBox()
        self.split_by.addItems(["episode", "title"])
        self.workers = QSpinBox()
        self.workers.setRange(0, 64)
        self.workers.setValue(default_workers())
        self.workers.setToolTip("Worker processes (0: render in this program). The files do not depend on it.")
        self.human = QLineEdit()
        self.human.setPlaceholderText("optional: folder of human face photos + .pts")
        human_row = QHBoxLayout()
        human_row.addWidget(self.human)
        browse = QPushButton("…")
        browse.clicked.connect(lambda: self._browse(self.human, "Human face photos"))
        human_row.addWidget(browse)
        form.addRow("Format", self.format)
        form.addRow("Size", self.size)
        form.addRow("Margin", self.margin)
        form.addRow(self.foreground)
        form.addRow("Background", self.background)
        form.addRow("Split", ratio_row)
        form.addRow("Split by", self.split_by)
        form.addRow("Seed", self.seed)
        form.addRow("Workers", self.workers)
        form.addRow("Human photos", human_row)
        for widget in (self.format, self.size, self.background, self.split_by):
            widget.currentIndexChanged.connect(self._changed)
        for widget in (self.margin, self.seed, *self.ratios):
            widget.valueChanged.connect(self._changed)
        self.foreground.toggled.connect(self._changed)
        self.human.textChanged.connect(self._changed)
        return box

    def _filters_box(self) -> QGroupBox:
        box = QGroupBox("Faces")
        form = QFormLayout(box)
        self.statuses = {s: QCheckBox(s.value) for s in FaceStatus}
        self.statuses[FaceStatus.ACCEPTED].setChecked(True)
        self.sexes = {s: QCheckBox(s.value) for s in Sex}
        for checks in (self.statuses, self.sexes):
            for check in checks.values():
                check.toggled.connect(self._changed)
        form.addRow("Status", self._row(self.statuses.values()))
        form.addRow("Sex (none: any)", self._row(self.sexes.values()))
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_size = QSpinBox()
        self.min_size.setRange(0, 10000)
        self.min_size.setSuffix(" px")
        self.max_yaw, self.max_pitch, self.max_roll = _angle_box(), _angle_box(), _angle_box()
        form.addRow("Min score", self.min_score)
        form.addRow("Min face size", self.min_size)
        form.addRow("Max |yaw|", self.max_yaw)
        form.addRow("Max |pitch|", self.max_pitch)
        form.addRow("Max |roll|", self.max_roll)
        for widget in (self.min_score, self.min_size, self.max_yaw, self.max_pitch, self.max_roll):
            widget.valueChanged.connect(self._changed)
        self.episodes = QListWidget()
        for ep in self.store.stats().episodes:
            item = QListWidgetItem(f"{ep.title_id}_{ep.episode}  ({ep.faces} faces)")
            item.setData(Qt.ItemDataRole.UserRole, f"{ep.title_id}_{ep.episode}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.episodes.addItem(item)
        self.episodes.setMaximumHeight(150)
        self.episodes.itemChanged.connect(self._changed)
        form.addRow("Episodes", self.episodes)
        return box

    @staticmethod
    def _row(widgets) -> QWidget:  # type: ignore[no-untyped-def]
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return row

    def _target_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Export to"))
        self.out = QLineEdit()
        self.out.setPlaceholderText("a new or empty folder")
        self.out.textChanged.connect(self._sync_enabled)
        row.addWidget(self.out, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(self.out, "Export to folder"))
        row.addWidget(browse)
        self.overwrite = QCheckBox("Overwrite an earlier export")
        row.addWidget(self.overwrite)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(self.store.root.parent))
        if folder:
            edit.setText(folder)

    # ------------------------------------------------------------------ planning

    def options(self) -> ExportOptions:
        """The options as the widgets show them (ValidationError when they do not make sense)."""
        items = [self.episodes.item(i) for i in range(self.episodes.count())]
        chosen = [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]
        # all ticked: no episode filter; none ticked: a name no episode has, so nothing passes
        episodes = () if len(chosen) == len(items) else tuple(chosen) or ("(none)",)

        def angle(box: QDoubleSpinBox) -> float | None:
            return None if box.value() <= _ANY_ANGLE else box.value()

        filters = FaceFilter(
            statuses=tuple(s.value for s, c in self.statuses.items() if c.isChecked()),
            min_score=self.min_score.value(),
            min_size=float(self.min_size.value()),
            sexes=tuple(s.value for s, c in self.sexes.items() if c.isChecked()),
            max_abs_yaw=angle(self.max_yaw),
            max_abs_pitch=angle(self.max_pitch),
            max_abs_roll=angle(self.max_roll),
            episodes=episodes,
        )
        fmt = self.format.currentData()
        return ExportOptions(
            format=fmt,
            size=int(self.size.currentData()),
            margin=round(self.margin.value(), 4),
            foreground=self.foreground.isChecked(),
            background=self.background.currentText(),
            seed=self.seed.value(),
            ratios=tuple(b.value() for b in self.ratios),  # type: ignore[arg-type]
            split_by=self.split_by.currentText(),
            filters=filters,
            human_photos=(self.human.text().strip() or None) if fmt == "cyclegan" else None,
            workers=self.workers.value(),
        )

    def _changed(self, *_: object) -> None:
        self._sync_enabled()
        self._timer.start()

    def replan(self) -> None:
        try:
            self.plan = plan_export(self.store, self.options())
        except F2AError as exc:
            self.plan = None
            self.counts.setText(f"<span style='color:#e05d5d'>{exc}</span>")
            self.details.setPlainText("")
            self._sync_enabled()
            return
        c = self.plan.counts()
        reasons = ", ".join(f"{k} {v}" for k, v in c["excluded_by_reason"].items())
        self.counts.setText(
            f"<b>{c['faces']}</b> face(s) → train <b>{c['train']}</b> · val <b>{c['val']}</b> · "
            f"test <b>{c['test']}</b> &nbsp;·&nbsp; {c['excluded']} left out" + (f" ({reasons})" if reasons else "")
        )
        lines = self.plan.dry_run_lines()
        if len(lines) > MAX_DETAIL_LINES:
            lines = [*lines[:MAX_DETAIL_LINES], f"… {len(lines) - MAX_DETAIL_LINES} more line(s)"]
        self.details.setPlainText("\n".join(lines))
        self._sync_enabled()

    def _sync_enabled(self, *_: object) -> None:
        busy = self.runner.busy
        fmt = self.format.currentData()
        self.background.setEnabled(self.foreground.isChecked() and not busy)
        self.human.setEnabled(fmt == "cyclegan" and not busy)
        has_work = self.plan is not None and (bool(self.plan.items) or bool(self.plan.human and self.plan.human.items))
        self.export_button.setEnabled(not busy and has_work and bool(self.out.text().strip()))
        self.cancel_button.setEnabled(busy)

    # ------------------------------------------------------------------ exporting

    def start_export(self) -> None:
        self._timer.stop()
        self.replan()  # export exactly what the counts say, as of now
        plan, out, overwrite = self.plan, Path(self.out.text().strip()), self.overwrite.isChecked()
        if plan is None or self.runner.busy:
            return
        self.status.setText("exporting…")
        self.result = None
        self.runner.start("export", lambda progress, cancel: run_export(plan, out, overwrite=overwrite,
                                                                        progress=progress, cancel=cancel))
        self._sync_enabled()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _finished(self, _name: str, result: ExportResult | None) -> None:
        if result is None:
            self.status.setText("cancelled: nothing was written")
            self.bar.setValue(0)
        else:
            self.result = result
            self.status.setText(f"exported {result.counts['faces']} face(s) to {result.out} "
                                f"in {result.seconds:.1f} s")
            self.exported.emit(result)
        self._sync_enabled()

    def _failed(self, _name: str, message: str) -> None:
        self.status.setText(f"<span style='color:#e05d5d'>export failed: {message}</span>")
        self.bar.setValue(0)
        self._sync_enabled()

    def reject(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
            self.runner.wait()
        super().reject()
