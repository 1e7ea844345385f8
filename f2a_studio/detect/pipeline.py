"""Detection runs: files (`f2a faces`) or a project's images (`f2a detect`, the studio).

All heavy work happens in worker processes (pool.py + worker.py). The calling thread only hands out
images, waits, and writes results to the store, one transaction per image, so it may be a Qt worker
thread: it never holds the GIL for long and `should_stop` is polled several times a second.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from f2a_studio.core.errors import F2AError
from f2a_studio.core.files import regular_file_problem
from f2a_studio.core.jobs import as_progress, worker_count
from f2a_studio.core.models import Domain, FaceSource, ImageRecord
from f2a_studio.core.pts_faces import PTS_FINDER
from f2a_studio.core.search_path import model_search_path
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.analyze import DEFAULT_THRESHOLD, SMALL_FACE_PASSES, AnalyzeOptions
from f2a_studio.detect.finders import (
    FINDERS,
    choose_finders,
    finder_problems,
    load_plugins,
    plugin_modules,
    preload_modules,
)
from f2a_studio.detect.pool import Outcome, Task, TaskResult, WorkerPool
from f2a_studio.detect.results import DetectReport, ImageResult
from f2a_studio.detect.worker import ImageTask, init_worker, run_task

Progress = Callable[[int, int, str], None]  # the job protocol's (core/jobs.py): done, total, cut name
ShouldStop = Callable[[], bool]  # a core.jobs.CancelToken is one


def default_workers() -> int:
    """The job protocol's rule (core.jobs.worker_count): every core, one fewer with the studio open."""
    return worker_count()


@dataclass(frozen=True)
class DetectOptions:
    threshold: float = DEFAULT_THRESHOLD  # calibrated score 0..1; lower keeps more (and more false) faces
    workers: int = 0  # 0: core.jobs.worker_count (every core; one fewer with the studio open)
    timeout_s: float = 120.0  # hard limit per image: past it the worker is killed and the image reported
    min_face_px: float = 24.0  # smallest face size looked for
    landmarks: str | None = None  # landmark backend name; None: the first available (see landmarks/)
    models_dir: str | None = None  # one folder for optional weights instead of the search path
    start_method: str | None = None  # multiprocessing start method; None: forkserver, else spawn
    finders: tuple[str, ...] | None = None  # face finders to run (see detect/finders); None: every available
    plugins: tuple[str, ...] = ()  # modules that register more finders (added to $F2A_PLUGINS)
    small_faces: str = "guided"  # the up-scaled pass: "guided" by the learned finder or "full" (analyze.py)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise F2AError(f"threshold must be within 0..1, got {self.threshold}")
        if self.small_faces not in SMALL_FACE_PASSES:
            raise F2AError(f"small_faces must be one of {', '.join(SMALL_FACE_PASSES)}, got {self.small_faces!r}")
        if self.workers < 0:
            raise F2AError(f"workers must be 0 (automatic) or more, got {self.workers}")
        if self.timeout_s <= 0:
            raise F2AError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.min_face_px < 8:
            raise F2AError(f"min_face_px must be at least 8, got {self.min_face_px}")

    @property
    def worker_count(self) -> int:
        return worker_count(self.workers)

    def analyze_options(self, project: Path | None = None, title: str | None = None) -> AnalyzeOptions:
        """What every worker gets: the finders chosen here (so a worker never decides differently from
        its caller), the plug-in modules to import first, and the search path (the project's checkpoints
        first; with ``title``, that title's own models before them). Loud on an unknown or unavailable finder."""
        plugins = plugin_modules(self.plugins)
        load_plugins(plugins)
        folders = [Path(self.models_dir)] if self.models_dir else model_search_path(project, title=title)
        finders = tuple(choose_finders(self.finders, folders))
        # the up-scaled pass stops taking new tiles at half the hard limit (see finder.find_raw)
        return AnalyzeOptions(self.threshold, self.min_face_px, self.timeout_s * 0.5, self.landmarks,
                              self.models_dir, finders, plugins, tuple(map(str, folders)), self.small_faces)


def _check_backend(analyze: AnalyzeOptions) -> None:
    problems = finder_problems(analyze.finders or ())
    if problems:
        raise F2AError("; ".join(problems))


def _pool(options: DetectOptions, analyze: AnalyzeOptions, tasks: int) -> WorkerPool:
    init = functools.partial(init_worker, analyze)
    guide = ("learned",) if analyze.small_faces == "guided" and "learned" in FINDERS else ()
    preload = ("f2a_studio.detect.worker", *analyze.plugins, *preload_modules((*(analyze.finders or ()), *guide)))
    return WorkerPool(run_task, max(1, min(options.worker_count, tasks)), init=init,
                      start_method=options.start_method, preload=preload)


def _as_image_result(outcome: TaskResult, task: ImageTask) -> ImageResult:
    if outcome.outcome is Outcome.OK:
        return outcome.value
    name = task.display or task.path
    return ImageResult(task.key, name, error=outcome.error or outcome.outcome.value, seconds=outcome.seconds)


def detect_files(
    paths: Iterable[Path | str], options: DetectOptions | None = None, should_stop: ShouldStop | None = None,
    domain: str = "anime", project: Path | None = None,
) -> Iterator[ImageResult]:
    """One ImageResult per path, in the order given; unreadable files, crashes and time-outs come back as
    results with `error` set, never as exceptions. `domain` "human": the files are face photos. `project`:
    its checkpoints/ come first on the model search path (its own finder and score calibrations)."""
    options = options or DetectOptions()
    analyze = options.analyze_options(project)
    _check_backend(analyze)
    tasks = [ImageTask(i, str(Path(p)), stored_cut=False, display=str(p), domain=domain) for i, p in enumerate(paths)]
    if not tasks:
        return
    ready: dict[int, ImageResult] = {}
    next_index = 0
    areas = {t.key: _pixel_area(Path(t.path)) for t in tasks}
    with _pool(options, analyze, len(tasks)) as pool:
        jobs = (Task(t.key, t, options.timeout_s) for t in _largest_first(tasks, areas))
        for outcome in pool.run(jobs, should_stop):
            ready[outcome.key] = _as_image_result(outcome, tasks[outcome.key])
            while next_index in ready:  # keep the caller's order, stream as soon as possible
                yield ready.pop(next_index)
                next_index += 1


def _largest_first(tasks: list[ImageTask], areas: dict[int, int]) -> list[ImageTask]:
    """Biggest images first (longest-processing-time scheduling): a tall strip started last would leave the
    other workers idle while it finishes. Results are still reported in the caller's order where it matters."""
    return sorted(tasks, key=lambda t: -areas.get(t.key, 0))


def _pixel_area(path: Path) -> int:
    """Width × height from the file header only (no decoding); 0 when unreadable (the worker reports why)."""
    if regular_file_problem(path) is not None:  # a FIFO would block this process before any worker starts
        return 0
    try:
        with Image.open(path) as image:
            return image.width * image.height
    except (OSError, ValueError, Image.DecompressionBombError):
        return 0


def detector_name(result: ImageResult) -> str:
    """What the detection run is logged as: the finders that ran and the landmark backend (each face
    also records its own finder and model file)."""
    return f"{'+'.join(result.finders) or 'finders'}+{result.landmark_backend or 'template'}"


def detect_images(
    store: ProjectStore,
    image_ids: list[int] | None,
    options: DetectOptions | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> DetectReport:
    """Detect faces on project images and write them, one transaction per image.

    `image_ids=None`: every image not detected yet (an interrupted run resumes where it stopped).
    Given ids are (re)detected. Faces a person made or edited are never overwritten
    (`store.replace_detections`). An image that fails (unreadable cut, crash, time-out) is reported; if it
    had never been detected it is recorded with its error so a resumed run does not retry it forever.
    """
    options = options or DetectOptions()
    progress = as_progress(progress)  # (done, total) callbacks from before the job protocol still work
    analyze = options.analyze_options(store.root)
    _check_backend(analyze)
    started = time.monotonic()
    report = DetectReport()
    detected = store.detected_image_ids()
    if image_ids is None:
        records = [r for r in store.images() if r.id not in detected]
        report.skipped = len(detected)
    else:
        records = [store.image(i) for i in image_ids]
    report.total = len(records)
    if progress:
        progress(0, report.total, "")
    records = [r for r in records if not _keeps_its_pts_face(store, r, report)]
    if progress and report.done:
        progress(report.done, report.total, "")
    if not records:
        report.seconds = time.monotonic() - started
        return report
    tasks = {r.id: ImageTask(r.id, str(store.cut_file(r)), stored_cut=True, display=r.name, domain=r.domain.value)
             for r in records}
    areas = {r.id: r.width * r.height for r in records}
    for title, group in _by_title_models(store, records):  # a title's own models: its own workers
        group_analyze = analyze if title is None else options.analyze_options(store.root, title)
        _check_backend(group_analyze)
        with _pool(options, group_analyze, len(group)) as pool:
            jobs = (Task(t.key, t, options.timeout_s) for t in _largest_first([tasks[r.id] for r in group], areas))
            for outcome in pool.run(jobs, should_stop):
                result = _as_image_result(outcome, tasks[outcome.key])
                _write(store, result, report, had_run=outcome.key in detected)
                report.done += 1
                if progress:
                    progress(report.done, report.total, tasks[outcome.key].display)
        if should_stop is not None and should_stop():
            break
    report.stopped = report.done < report.total
    report.seconds = time.monotonic() - started
    return report


def _by_title_models(store: ProjectStore, records: list[ImageRecord]) -> list[tuple[str | None, list[ImageRecord]]]:
    """The records in groups: one per title that has models of its own (`f2a train-finder --title`), then
    every other record under None (the project's models). Most projects: one group."""
    from f2a_studio.core.search_path import title_models_dir

    own = {t for t in {r.title_id for r in records} if title_models_dir(store.root, t).is_dir()}
    groups = [(t, [r for r in records if r.title_id == t]) for t in sorted(own)]
    rest = [r for r in records if r.title_id not in own]
    return groups + ([(None, rest)] if rest else [])


def _keeps_its_pts_face(store: ProjectStore, record: ImageRecord, report: DetectReport) -> bool:
    """A photo (domain human) whose face came from the .pts beside it is not searched: the .pts wins. A
    detected box around the same face need not overlap the landmarks' extent by IoU 0.5, so "drop what
    overlaps a person's face" (store.replace_detections) could leave a second copy of it. The run is
    recorded (a resumed run does not retry it) and noted; any earlier model-only face there goes."""
    if record.domain is not Domain.HUMAN:
        return False
    faces = store.faces(record.id)
    if not any(f.finder == PTS_FINDER and f.source is FaceSource.HUMAN for f in faces):
        return False
    store.replace_detections(record.id, [], detector=PTS_FINDER)
    report.notes.append((record.id, "its face comes from its .pts file; the photo was not searched"))
    report.done += 1
    return True


def _write(store: ProjectStore, result: ImageResult, report: DetectReport, *, had_run: bool) -> None:
    image_id = int(result.key)
    if result.landmark_backend:
        report.landmark_backend = result.landmark_backend
    if result.error is not None:
        report.failed.append((image_id, result.error))
        if not had_run:  # a previous run's faces stay as they were
            store.replace_detections(image_id, [], detector=detector_name(result), error=result.error)
        return
    report.notes.extend((image_id, note) for note in result.notes)
    faces = [replace(f, image_id=image_id) for f in result.faces]
    written = store.replace_detections(image_id, faces, detector=detector_name(result))
    report.faces += sum(1 for f in written if not f.edited_by_human)
