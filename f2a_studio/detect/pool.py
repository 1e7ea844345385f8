"""A small process pool that survives its workers: a task that hangs or crashes costs only that task.

`concurrent.futures.ProcessPoolExecutor` cannot kill one stuck worker (and a crashed one breaks the whole
pool), so this pool gives each worker its own pipe, knows which task each worker holds and since when, and
on a deadline or a dead process kills that worker, reports the task, and starts a replacement.

Processes are started with `forkserver` where the platform has it (else `spawn`), never `fork`: the
caller may be the studio with Qt (and its threads) loaded, which must not be forked.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import Connection, wait
from typing import Any

from f2a_studio.core.errors import F2AError
from f2a_studio.core.jobs import default_start_method, process_context

STARTUP_TIMEOUT_S = 120.0  # a worker that cannot even import its modules in this time is broken
MAX_START_FAILURES = 3  # workers dying before they are ready this many times in a row: give up


class PoolError(F2AError):
    """The pool cannot run at all (workers do not start)."""


class Outcome(str, Enum):
    OK = "ok"
    ERROR = "error"  # the task raised an exception (the worker lives on)
    TIMEOUT = "timeout"  # the task ran past its deadline; its worker was killed and replaced
    CRASH = "crash"  # the worker process died during the task; it was replaced


@dataclass(frozen=True)
class Task:
    key: Any
    payload: Any
    timeout_s: float


@dataclass(frozen=True)
class TaskResult:
    key: Any
    outcome: Outcome
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def _context(method: str, preload: tuple[str, ...]) -> Any:
    # The fork server imports these once; every worker forked from it starts warm. The list is
    # process-wide, so it is merged with every other job's (core.jobs.process_context).
    return process_context(preload, method)


def _worker_main(conn: Connection, fn: Callable[[Any], Any], init: Callable[[], None] | None) -> None:
    """Runs in the worker process: initialise once, then answer tasks until told to stop."""
    try:
        if init is not None:
            init()
    except BaseException:
        conn.send(("init_failed", traceback.format_exc(limit=8)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if message is None:
            return
        key, payload = message
        start = time.perf_counter()
        try:
            value = fn(payload)
            reply = ("ok", key, value, time.perf_counter() - start)
        except Exception as exc:  # the task failed, the worker is fine
            reply = ("error", key, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
        try:
            conn.send(reply)
        except Exception as exc:  # e.g. an unpicklable result
            conn.send(("error", key, f"cannot send the result back: {type(exc).__name__}: {exc}",
                       time.perf_counter() - start))


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[[Any], Any], init: Callable[[], None] | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, fn, init), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.born = time.monotonic()
        self.task: Task | None = None
        self.started = 0.0

    @property
    def deadline(self) -> float:
        if not self.ready:
            return self.born + STARTUP_TIMEOUT_S
        if self.task is None:
            return float("inf")
        return self.started + self.task.timeout_s

    def assign(self, task: Task) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send((task.key, task.payload))

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(5.0)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        """Polite stop: ask the worker to leave, kill it if it does not."""
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(2.0)
        if self.process.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerPool:
    """`fn(payload)` in `workers` processes. `init()` runs once per worker before it takes tasks (imports,
    model loading), so its cost never counts against a task's time limit.

    Both `fn` and `init` must be module-level functions (they are pickled by reference). `preload`:
    modules the fork server imports once, so workers (and their replacements) start warm.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        workers: int = 1,
        *,
        init: Callable[[], None] | None = None,
        start_method: str | None = None,
        preload: tuple[str, ...] = (),
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.fn = fn
        self.init = init
        self.size = workers
        self.ctx = _context(start_method or default_start_method(), preload)
        self._workers: list[_Worker] = []
        self._start_failures = 0
        self.replaced = 0  # workers killed or lost and replaced, for reports

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            if worker.task is None and worker.ready:
                worker.stop()
            else:
                worker.kill()
        self._workers = []

    def _spawn(self) -> None:
        self._workers.append(_Worker(self.ctx, self.fn, self.init))

    def _retire(self, worker: _Worker, *, replace: bool) -> None:
        worker.kill()
        self._workers.remove(worker)
        if replace:
            self.replaced += 1
            self._spawn()

    def run(self, tasks: Iterable[Task], should_stop: Callable[[], bool] | None = None) -> Iterator[TaskResult]:
        """Yield one TaskResult per task, in completion order. When `should_stop()` turns true, running
        tasks are abandoned (their workers killed) and the iterator ends early."""
        pending = iter(tasks)
        exhausted = False
        lookahead: Task | None = None

        def next_task() -> Task | None:
            nonlocal exhausted, lookahead
            if lookahead is not None:
                task, lookahead = lookahead, None
                return task
            if exhausted:
                return None
            try:
                return next(pending)
            except StopIteration:
                exhausted = True
                return None

        # start workers lazily: never more than there are tasks
        first = next_task()
        if first is None:
            return
        lookahead = first
        while len(self._workers) < self.size:
            self._spawn()

        while True:
            if should_stop is not None and should_stop():
                for worker in list(self._workers):
                    if worker.task is not None:
                        self._retire(worker, replace=False)
                return
            # hand out work to ready, idle workers
            for worker in self._workers:
                if worker.ready and worker.task is None:
                    task = next_task()
                    if task is None:
                        break
                    try:
                        worker.assign(task)
                    except (BrokenPipeError, OSError):
                        lookahead = task  # the worker died while idle; the sentinel check replaces it
                        worker.task = None
            busy = [w for w in self._workers if w.task is not None]
            if not busy and exhausted and lookahead is None:
                return
            now = time.monotonic()
            soonest = min(w.deadline for w in self._workers)
            timeout = max(0.0, min(soonest - now, 0.2 if should_stop else 5.0))
            waitables: list[Any] = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
            ready = set(wait(waitables, timeout))
            yield from self._collect(ready)
            yield from self._enforce_deadlines()

    def _collect(self, ready: set[Any]) -> Iterator[TaskResult]:
        for worker in list(self._workers):
            message = None
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                except Exception as exc:  # a reply that cannot be unpickled here
                    if worker.task is not None:
                        task, worker.task = worker.task, None
                        yield TaskResult(task.key, Outcome.ERROR, error=f"unreadable reply from the worker: "
                                         f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - worker.started)
                    continue
            if message is not None:
                yield from self._handle(worker, message)
            elif worker.process.sentinel in ready or (worker.conn in ready and not worker.process.is_alive()):
                worker.process.join(1.0)
                code = worker.process.exitcode
                if worker.task is not None:
                    task = worker.task
                    seconds = time.monotonic() - worker.started
                    self._retire(worker, replace=True)
                    reason = f"the worker process crashed ({_describe_exit(code)}) after {seconds:.1f} s"
                    yield TaskResult(task.key, Outcome.CRASH, error=reason, seconds=seconds)
                else:
                    self._lost_idle(worker, f"the worker process died before taking work ({_describe_exit(code)})")

    def _handle(self, worker: _Worker, message: tuple) -> Iterator[TaskResult]:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            self._start_failures = 0
        elif kind == "init_failed":
            self._lost_idle(worker, f"a worker failed to start:\n{message[1]}")
        elif kind in ("ok", "error"):
            _, key, value, seconds = message
            worker.task = None
            if kind == "ok":
                yield TaskResult(key, Outcome.OK, value=value, seconds=seconds)
            else:
                yield TaskResult(key, Outcome.ERROR, error=value, seconds=seconds)

    def _lost_idle(self, worker: _Worker, reason: str) -> None:
        was_ready = worker.ready
        self._start_failures = 0 if was_ready else self._start_failures + 1
        if self._start_failures >= MAX_START_FAILURES:
            self.close()
            raise PoolError(reason)
        self._retire(worker, replace=True)

    def _enforce_deadlines(self) -> Iterator[TaskResult]:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.deadline > now:
                continue
            if worker.task is None:  # stuck while starting
                self._lost_idle(worker, f"a worker did not start within {STARTUP_TIMEOUT_S:.0f} s")
                continue
            task = worker.task
            seconds = now - worker.started
            self._retire(worker, replace=True)
            reason = f"timed out after {task.timeout_s:g} s; its worker was stopped"
            yield TaskResult(task.key, Outcome.TIMEOUT, error=reason, seconds=seconds)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        import signal

        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
