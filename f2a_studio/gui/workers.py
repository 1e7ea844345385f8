"""Background jobs (detection, import, export, refits) on QThreads, with progress and cancel; the GUI
thread never waits.

A job is a plain function `fn(progress, cancel) -> result` following core/jobs.py: `progress(done, total,
text)` crosses back to the GUI thread as a queued signal, `cancel` is a core.jobs.CancelToken (callable, so
jobs written for `should_stop()` work unchanged). `JobRunner` runs one job at a time; `JobBoard` keeps
one runner per kind, so independent jobs (an export while a detection runs) run side by side, each with
its own progress and cancel. Heavy work happens in the jobs' own worker processes; these threads only
wait on them and write results through the store (whose lock keeps the GUI thread's reads consistent).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.jobs import JobCancelled as JobCancelled  # re-exported: raised by cancelled progress
from f2a_studio.core.store import ProjectStore
from f2a_studio.gui.session import describe_error

ProgressFn = Callable[[int, int, str], None]
JobFn = Callable[[ProgressFn, CancelToken], Any]


class _Worker(QObject):
    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: JobFn, stop: CancelToken) -> None:
        super().__init__()
        self.fn = fn
        self.stop = stop

    def _progress(self, done: int, total: int, text: str = "") -> None:
        self.progress.emit(int(done), int(total), str(text))
        self.stop.raise_if_cancelled()  # unwinds jobs that have no cancel check of their own

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self._progress, self.stop)
        except JobCancelled:
            self.done.emit(None)
        except Exception as exc:  # a job's failure is reported in the window, never a crash
            traceback.print_exc()
            self.failed.emit(describe_error(exc))
        else:
            self.done.emit(result)


class JobRunner(QObject):
    started = Signal(str)
    progress = Signal(int, int, str)
    finished = Signal(str, object)  # job name, result (None when cancelled)
    failed = Signal(str, str)  # job name, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._stop = CancelToken()
        self.name = ""

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, name: str, fn: JobFn) -> bool:
        if self.busy:
            return False
        self.name = name
        self._stop = CancelToken()
        thread = QThread()
        worker = _Worker(fn, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        # Bound slots of this GUI-thread object: Qt queues the calls back to the GUI thread.
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self._thread, self._worker = thread, worker
        thread.start()
        self.started.emit(name)
        return True

    def cancel(self, reason: str = "cancelled") -> None:
        self._stop.cancel(reason)

    @property
    def token(self) -> CancelToken:
        return self._stop

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the job ends (closing a project). True if nothing is left running."""
        if self._thread is None:
            return True
        self._stop.cancel("closing")
        ok = self._thread.wait(timeout_ms)
        self._cleanup()
        return ok

    @Slot(object)
    def _on_done(self, result: object) -> None:
        self._finish(result, None)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish(None, message)

    def _finish(self, result: object, error: str | None) -> None:
        name = self.name
        self._cleanup()
        if error is None:
            self.finished.emit(name, result)
        else:
            self.failed.emit(name, error)

    def _cleanup(self) -> None:
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()


class JobBoard(QObject):
    """One JobRunner per kind of job ("detect", "export", "refit", …): jobs of different kinds run side by
    side, each with its own progress and cancel; a second job of a kind already running is refused."""

    started = Signal(str, str)  # kind, job name
    progress = Signal(str, int, int, str)  # kind, done, total, text
    finished = Signal(str, str, object)  # kind, job name, result (None when cancelled)
    failed = Signal(str, str, str)  # kind, job name, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runners: dict[str, JobRunner] = {}

    def runner(self, kind: str) -> JobRunner:
        if kind not in self._runners:
            runner = JobRunner(self)
            runner.started.connect(lambda name, k=kind: self.started.emit(k, name))
            runner.progress.connect(lambda d, t, text, k=kind: self.progress.emit(k, d, t, text))
            runner.finished.connect(lambda name, result, k=kind: self.finished.emit(k, name, result))
            runner.failed.connect(lambda name, message, k=kind: self.failed.emit(k, name, message))
            self._runners[kind] = runner
        return self._runners[kind]

    def start(self, kind: str, name: str, fn: JobFn) -> bool:
        return self.runner(kind).start(name, fn)

    def busy(self, kind: str | None = None) -> bool:
        if kind is not None:
            return kind in self._runners and self._runners[kind].busy
        return any(r.busy for r in self._runners.values())

    def cancel(self, kind: str, reason: str = "cancelled") -> None:
        if kind in self._runners:
            self._runners[kind].cancel(reason)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for every job (closing a project)."""
        return all([r.wait(timeout_ms) for r in self._runners.values()])


# ---------------------------------------------------------------- job functions


def _as_progress(args: tuple) -> tuple[int, int, str]:
    """Read (done, total, what) out of whatever the detector's progress callback passes."""
    numbers = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
    words = [str(a) for a in args if not isinstance(a, int) and a != ""]
    done = numbers[0] if numbers else 0
    total = numbers[1] if len(numbers) > 1 else 0
    return done, total, " ".join(words)


def detection_unavailable() -> str | None:
    """Why detection cannot run here, or None when f2a_studio.detect offers detect_images."""
    try:
        from f2a_studio.detect import detect_images  # noqa: F401
    except ImportError as exc:
        return f"face detection is not available in this installation ({exc})"
    return None


def detect_job(store: ProjectStore, image_ids: Sequence[int] | None, options: object | None = None) -> JobFn:
    """`f2a_studio.detect.detect_images(store, image_ids, options, progress, should_stop)` as a job.

    `image_ids=None` detects every cut not detected yet (a stopped run resumes); given ids are redetected.
    The detector runs in its own worker processes; this thread waits on them and writes each cut's
    faces in one transaction (faces a person touched are kept). Then, as `f2a detect` does, the landmark
    model adapts to the project's faces when that is due (landmarks.auto_adapt.adapt_if_due, all cores but
    one); the report's `landmark_adaptation` says what it did or why not.
    """

    def run(progress: ProgressFn, cancel: CancelToken) -> Any:
        from f2a_studio import detect

        ids = None if image_ids is None else list(image_ids)
        report = detect.detect_images(store, ids, options, lambda *args: progress(*_as_progress(args)), cancel)
        if not report.stopped and not cancel.cancelled:
            from f2a_studio.detect.landmarks.auto_adapt import adapt_if_due
            from f2a_studio.gui.learn.retrain import default_threads

            report.landmark_adaptation = adapt_if_due(
                store, threads=default_threads(), should_stop=lambda: cancel.cancelled,
                progress=lambda done, total, text: progress(done, total, f"adapting landmarks: {text}"))
        return report

    return run


def import_job(store: ProjectStore, paths: Sequence[Path], *, title: str | None = None,
               episode: str | None = None) -> JobFn:
    from f2a_studio.core.importer import import_sources

    def run(progress: ProgressFn, cancel: CancelToken) -> Any:
        return import_sources(store, list(paths), progress=progress, cancel=cancel, title=title, episode=episode)

    return run
