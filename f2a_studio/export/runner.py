"""Carry out an export plan: render faces in worker processes, write every file into an atomic temp
folder, add manifest.json, rename into place. Cancel with a threading.Event; any failure leaves nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f2a_studio.core.export_landmarks import LANDMARKS_NAME, aligned_entry, landmarks_document, p_female
from f2a_studio.core.jobs import CancelToken, process_context, worker_count
from f2a_studio.core.models import Domain
from f2a_studio.export.atomic import MANIFEST_NAME, AtomicExport
from f2a_studio.export.errors import ExportCancelled, ExportError
from f2a_studio.export.formats import get_format
from f2a_studio.export.manifest import build_manifest, dumps
from f2a_studio.export.plan import ExportPlan
from f2a_studio.export.render import CutTask, FaceTask, RenderedFile, RenderSettings, render_cut

Progress = Callable[[int, int, str], None]  # done, total, what
SMALL_EXPORT = 48  # faces; fewer are rendered in-process


@dataclass(frozen=True)
class ExportResult:
    out: Path
    format: str
    counts: dict[str, Any]
    files: int
    seconds: float

    @property
    def faces_per_second(self) -> float:
        return self.counts["faces"] / self.seconds if self.seconds > 0 else 0.0


def build_tasks(plan: ExportPlan) -> list[CutTask]:
    """One task per cut (the cut is decoded once for all its faces), plus one per human photo."""
    fmt = get_format(plan.options.format)
    if not fmt.aligned:
        return []
    tasks = []
    for items in plan.by_image():
        faces = tuple(
            FaceTask(_relpath(fmt, it), it.split, it.face.landmarks, it.face.colors.hair, it.key)
            for it in items
        )
        tasks.append(CutTask(str(plan.cut_files[items[0].image.id]), items[0].image.has_alpha, faces))
    if plan.human is not None:
        for photo in plan.human.items:
            relpath = fmt.human_path(photo.split, photo.stem)
            if relpath:
                tasks.append(CutTask(str(photo.path), True, (FaceTask(relpath, photo.split, photo.landmarks),)))
    return tasks


def landmark_entries(plan: ExportPlan, fmt) -> list[dict[str, Any]]:
    """landmarks.json's records (core.export_landmarks): each face file's points in its aligned crop."""
    size, margin = plan.options.size, plan.options.margin
    out = [aligned_entry(_relpath(fmt, it), it.face.landmarks, size, margin, it.face.box.to_list(),
                         p_female(it.face)) for it in plan.items]
    if plan.human is not None:
        for photo in plan.human.items:
            relpath = fmt.human_path(photo.split, photo.stem)
            if relpath:
                out.append(aligned_entry(relpath, photo.landmarks, size, margin, None, 0.5))
    return out


def _relpath(fmt, item) -> str:
    """Where a planned face goes: its domain's side (plan_export keeps human faces out of formats
    without one)."""
    if item.domain is Domain.HUMAN:
        path = fmt.human_path(item.split, item.stem)
        if path is None:  # plan_export excludes these; a hand-made plan must not write them as anime
            raise ExportError(f"the {fmt.name} format has no place for human photos ({item.stem})")
        return path
    return fmt.face_path(item.split, item.stem)


def _worker_init(main_pid: int) -> None:
    import cv2

    from f2a_studio.core.procs import exit_with

    exit_with(main_pid)  # a SIGKILLed export must not leave its workers (GBs each) running on
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    cv2.setNumThreads(1)  # one process per core; no thread oversubscription


def _worker_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one: a clean single-threaded server (the studio calls this from a thread
    of a Qt program, where a plain fork is unsafe) that imports the renderer once, then forks workers
    cheaply; spawn elsewhere. One context for every job, preloads merged (core.jobs.process_context)."""
    return process_context(["f2a_studio.export.render", "f2a_studio.export.formats"])


def render_all(tasks: list[CutTask], settings: RenderSettings, workers: int,
               cancel: threading.Event | CancelToken | None = None) -> Iterator[list[RenderedFile]]:
    """Rendered files per task, in task order. workers=0 renders in this process, and so do small
    exports, where starting worker processes (about a second each) costs more than it saves."""
    if workers <= 0 or sum(len(t.faces) for t in tasks) < SMALL_EXPORT:
        for task in tasks:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("export cancelled")
            yield render_cut(task, settings)
        return
    context = _worker_context()
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context, initializer=_worker_init,
                               initargs=(os.getpid(),))
    pending: deque[Future] = deque()
    ahead = 4 * workers
    try:
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.submit(render_cut, task, settings))
            if len(pending) >= ahead:
                break
        while pending:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("export cancelled")
            try:
                result = pending.popleft().result()
            except BrokenProcessPool as exc:
                raise ExportError("an export worker process died (out of memory, or killed); nothing was "
                                  "written. Retry with fewer workers") from exc
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(render_cut, nxt, settings))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_export(plan: ExportPlan, out: Path | str, *, overwrite: bool = False, progress: Progress | None = None,
               cancel: threading.Event | CancelToken | None = None) -> ExportResult:
    """Write the export described by `plan` into `out`, atomically."""
    started = time.perf_counter()
    options = plan.options
    fmt = get_format(options.format)
    settings = RenderSettings(options.format, options.size, options.margin, options.foreground, options.background)
    tasks = build_tasks(plan)
    total = len(plan.items) + (len(plan.human.items) if plan.human else 0)
    done = 0

    def tick(n: int, what: str = "") -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total, what)
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("export cancelled")

    if progress is not None:
        progress(0, total, "")
    with AtomicExport(Path(out), overwrite) as sink:
        rendered = render_all(tasks, settings, options.workers, cancel)
        with closing(rendered):  # stop the workers at once when writing fails
            for files in rendered:
                for f in files:
                    sink.write(f.relpath, f.data, split=f.split, faces=(f.key,) if f.key else ())
                tick(len(files), files[-1].relpath if files else "")
        if fmt.aligned and tasks:
            sink.write(LANDMARKS_NAME, dumps(landmarks_document(options.size, options.margin,
                                                               landmark_entries(plan, fmt)), compact=True))
        fmt.finish(plan, sink, tick)
        counts = plan.counts()
        extra: dict[str, Any] = {"project": {"name": plan.project.name}}
        if plan.human is not None:
            extra["human_photos"] = {
                "folder": str(plan.human.folder),
                "skipped": [{"path": s.path, "reason": s.reason} for s in plan.human.skipped],
            }
        manifest = build_manifest(
            format=options.format,
            options=options.to_json(),
            filters=options.filters.to_json(),
            seed=options.seed,
            split=plan.split_json(),
            counts=counts,
            files=sink.entries,
            extra=extra,
        )
        sink.write(MANIFEST_NAME, dumps(manifest))
        n_files = len(sink.entries)
    return ExportResult(Path(out), options.format, counts, n_files, time.perf_counter() - started)


def default_workers() -> int:
    return worker_count()  # the job protocol's rule (core/jobs.py)
