"""Import files or folders into the open project, in the background, with progress and a list of problems.

Runs core.importer.import_sources on a JobRunner thread; bad files are listed with their reason and the
rest of the batch goes in. The browser reloads when the dialog reports `imported`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.importer import ImportReport
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.workers import JobRunner, import_job


class ImportDialog(QDialog):
    imported = Signal(object)  # ImportReport

    def __init__(self, store: ProjectStore, paths: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import")
        self.paths = paths
        self.report: ImportReport | None = None
        self.label = QLabel(f"Importing {len(paths)} item(s)…")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.problems = QListWidget()
        self.problems.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        for widget in (self.label, self.bar, self.problems, self.buttons):
            layout.addWidget(widget)
        self.resize(560, 180)
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.runner.start("import", import_job(store, paths))

    def _progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        if text and text != ".":
            self.label.setText(f"{done}/{total}: {Path(text).name}")

    def _finished(self, _name: str, report: ImportReport | None) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        if report is None:
            self.label.setText("Import cancelled; the cuts imported so far are kept.")
        else:
            self.report = report
            self.label.setText(
                f"Imported {len(report.added)} cut(s) from {report.files_done} file(s); "
                f"{report.already_present} already present; {len(report.problems)} problem(s)."
            )
            self._show_problems([f"{p.path}: {p.reason}" for p in report.problems])
            self.imported.emit(report)
        self._closable()

    def _failed(self, _name: str, message: str) -> None:
        self.label.setText(f"Import stopped: {message}")
        self._closable()

    def _show_problems(self, lines: list[str]) -> None:
        if lines:
            self.problems.addItems(lines)
            self.problems.show()
            self.resize(720, 420)

    def _closable(self) -> None:
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)

    def _cancel_or_close(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
            self.label.setText("Cancelling…")
        else:
            self.accept()

    def closeEvent(self, event) -> None:
        self.runner.wait()
        super().closeEvent(event)
