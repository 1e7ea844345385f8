"""Import files or folders into the open project, in the background, with progress and a list of problems.

First it shows what it will import, read from the names only: slice sets (numbered slices of one episode,
joined before splitting) and single files, with the title and episode they will get, for the user to
confirm or edit. Import runs core.importer.import_sources on a JobRunner thread; bad files are listed
with their reason and the rest of the batch goes in. The browser reloads when the dialog reports `imported`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.importer import ImportReport, collect_sources, import_sources
from f2a_studio.core.models import Domain
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import ImportUnit, plan_units
from f2a_studio.gui.workers import JobRunner, import_job

MAX_LISTED = 200  # plan lines shown; a folder of thousands of files is summed up, not listed


def describe_unit(unit: ImportUnit) -> str:
    if unit.is_slice_set:
        first, last = unit.paths[0], unit.paths[-1]
        return (f"{first.parent.name}/{first.name} … {last.name}: {len(unit.paths)} slices joined as one "
                f"episode → {unit.title_id} episode {unit.episode}")
    return f"{unit.paths[0].name} → {unit.title_id} episode {unit.episode}"


class ImportDialog(QDialog):
    imported = Signal(object)  # ImportReport

    def __init__(self, store: ProjectStore, paths: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import")
        self.store = store
        self.paths = paths
        self.report: ImportReport | None = None
        files, _missing = collect_sources(paths)  # missing ones are reported by the import itself
        self.units = plan_units(files)
        names = Counter((u.title_id, u.episode) for u in self.units)
        sets = sum(u.is_slice_set for u in self.units)
        self.label = QLabel(f"{len(files)} file(s): {sets} slice set(s), {len(self.units) - sets} single file(s). "
                            "Check the title and episode, then Import.")
        self.label.setWordWrap(True)
        self.plan = QListWidget()
        self.plan.addItems([describe_unit(u) for u in self.units[:MAX_LISTED]])
        if len(self.units) > MAX_LISTED:
            self.plan.addItem(f"… and {len(self.units) - MAX_LISTED} more")
        # One title/episode for everything when the names agree; otherwise empty fields keep the names.
        varied = len(names) != 1
        self.detected = ("", "") if varied else next(iter(names))
        self.title = QLineEdit(self.detected[0])
        self.episode = QLineEdit(self.detected[1])
        self.title.setPlaceholderText(f"from the file names ({len({t for t, _ in names})} titles)" if varied else "")
        self.episode.setPlaceholderText("from the file names" if varied else "")
        self.title.setToolTip("Title id of every imported cut; empty: read from each file's name")
        self.episode.setToolTip("Episode of every imported cut; empty: read from each file's name")
        self.domain = QComboBox()
        self.domain.addItem("Anime pictures and strips (CycleGAN B)", Domain.ANIME.value)
        self.domain.addItem("Human face photos (CycleGAN A)", Domain.HUMAN.value)
        self.domain.setToolTip("Human face photos are never split into cuts; an iBUG .pts file beside a photo "
                               "becomes its face, and detection runs the photo finder on them")
        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Episode", self.episode)
        form.addRow("Domain", self.domain)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.hide()
        self.problems = QListWidget()
        self.problems.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.import_button.setEnabled(bool(files))
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.plan)
        layout.addLayout(form)
        for widget in (self.bar, self.problems, self.buttons):
            layout.addWidget(widget)
        self.resize(640, 360)
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)

    def start(self) -> None:
        """Import with the title/episode as shown (an empty field: from each file's name)."""
        if self.runner.busy or self.report is not None:
            return
        title, episode = self.title.text().strip() or None, self.episode.text().strip() or None
        for field in (self.title, self.episode):
            field.setReadOnly(True)
        self.domain.setEnabled(False)
        self.import_button.setEnabled(False)
        self.bar.show()
        self.label.setText(f"Importing {len(self.paths)} item(s)…")
        domain = Domain(self.domain.currentData())
        if domain is Domain.ANIME:
            self.runner.start("import", import_job(self.store, self.paths, title=title, episode=episode))
            return
        store, paths = self.store, list(self.paths)

        def run(progress, cancel) -> ImportReport:  # import_job's, with the domain
            return import_sources(store, paths, progress=progress, cancel=cancel, title=title, episode=episode,
                                  domain=domain)

        self.runner.start("import", run)

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
            self.resize(720, 480)

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
