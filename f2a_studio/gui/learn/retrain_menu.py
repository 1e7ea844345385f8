"""The studio's Learn menu: retrain the project's models from the corrections (gui/learn/retrain.py's
job) on the window's JobRunner, so progress and Cancel are the status bar's, like a detection. When the job
ends a report box says what was trained and what was skipped with each trainer's own message; the browser,
the open cut and the inspector's queue reasons are refreshed. Closing the studio during a retrain asks
first, as the train dialog does for a training run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from f2a_studio.gui.learn.retrain import TRAINER_NAMES, RetrainOptions, RetrainReport, retrain_job

if TYPE_CHECKING:
    from f2a_studio.gui.main_window import MainWindow

JOB_NAME = "retraining models"
ENTRIES: dict[str, tuple[str, ...]] = {  # action id (keymap.py) -> the trainers it runs
    "retrain_all": TRAINER_NAMES,
    "retrain_sex": ("sex",),
    "retrain_landmarks": ("landmarks",),
    "retrain_finder": ("finder",),
    "recalibrate": (),  # no trainer: `f2a calibrate`, then re-detection of untouched cuts
}


class LearnMenu(QObject):
    reported = Signal(object, bool)  # the RetrainReport, cancelled (a cancelled one says what it did first)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.options = RetrainOptions()  # the studio's: each trainer's own step count and minimum
        self.report: RetrainReport | None = None
        self.report_box: QMessageBox | None = None
        self._running = False
        a = window.actions
        for action_id, models in ENTRIES.items():
            a[action_id].triggered.connect(lambda _=False, m=models: self.retrain(m))
        menu = a.menus.get("Learn")
        if menu is not None:
            menu.addSeparator()
            menu.addAction(a["cancel_job"])  # the same action as Detect ▸ Cancel Running Job
        window.jobs.progress.connect(self._progress)
        window.jobs.finished.connect(self._finished)
        window.jobs.failed.connect(self._failed)

    @property
    def running(self) -> bool:
        return self._running and self.window.jobs.busy

    def retrain(self, models: tuple[str, ...] = TRAINER_NAMES) -> bool:
        """Start the retrain of `models` in the background; False (with a status message) when it cannot."""
        w = self.window
        session = w.session
        if session is None or session.read_only:
            return False
        if w.jobs.busy:
            w.status.showMessage(f"cannot retrain now: {w.jobs.name} is running (wait, or cancel it)", 6000)
            return False
        self.report = RetrainReport()
        job = retrain_job(session.store, replace(self.options, models=tuple(models)), self.report)
        if not w.jobs.start(JOB_NAME, job):
            return False
        self._running = True
        return True

    def confirm_close(self) -> bool:
        """Closing the studio: a running retrain is cancelled only if the user says so."""
        if not self.running:
            return True
        answer = QMessageBox.question(
            self.window, "Retraining is running",
            "The project's models are being retrained.\nStop it and quit? The running trainer is stopped (run "
            "the retrain again to resume it); what was already written stays whole.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.window.jobs.cancel("closing")
        return True

    # ------------------------------------------------------------ job signals

    def _progress(self, _done: int, _total: int, text: str) -> None:
        if self._running and text:
            self.window.status.job_text(f"{JOB_NAME}: {text}")

    def _finished(self, name: str, result: object) -> None:
        if name == JOB_NAME and self._running:
            self._end(cancelled=result is None)

    def _failed(self, name: str, message: str) -> None:
        if name == JOB_NAME and self._running:
            self._end(cancelled=False, error=message)

    def _end(self, *, cancelled: bool, error: str | None = None) -> None:
        self._running = False
        report = self.report or RetrainReport()
        text = report.text(cancelled=cancelled)
        if error:
            text = f"Retrain failed: {error}\n" + "\n".join(text.splitlines()[1:])
        trained = report.trained()
        outcome = ("failed" if error else "cancelled" if cancelled else
                   f"trained {', '.join(trained)}" if trained else
                   "scores recalibrated" if report.state("calibrate") == "done" else "nothing trained")
        self.window.status.showMessage(f"{JOB_NAME}: {outcome}", 15000)
        self._refresh()
        self._show(text)
        self.reported.emit(report, cancelled)

    def _refresh(self) -> None:
        """New predictions and queue signals: the browser's counts and the open cut are reloaded by the
        window when any job ends; the inspector's face (and why the queue wants it) is shown afresh here."""
        w = self.window
        if w.session is None or w.navigator is None:
            return
        face_id = w.navigator.face_id
        if face_id is not None:
            w.navigator.select_face(face_id, reveal=False)

    def _show(self, text: str) -> None:
        if self.report_box is None:
            self.report_box = QMessageBox(QMessageBox.Icon.Information, "Retrain", "", QMessageBox.StandardButton.Ok,
                                          self.window)
            self.report_box.setModal(False)  # the studio stays usable while the report is read
        self.report_box.setText(text)
        self.report_box.show()
