"""One worker thread with a one-slot mailbox: only the newest request runs (latest wins).

A drag posts a request per mouse move (60+ a second) while a frame takes tens of milliseconds; a queue
would fall further behind with every move. Here a new request replaces the waiting one, so when the
worker is free it always renders the newest state, and a result is never older than one frame.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from f2a_studio.preview.engine import Latency, PreviewRequest, PreviewResult
from f2a_studio.preview.spec import RuntimeInfo

_UNKNOWN = RuntimeInfo("?", "?", "?")
RenderFn = Callable[[PreviewRequest, int, float], PreviewResult]  # (request, id, waited ms) → result


@dataclass(frozen=True)
class WorkerStats:
    submitted: int
    rendered: int
    dropped: int  # replaced in the mailbox before the worker got to them


class LatestWinsWorker:
    def __init__(self, render: RenderFn, on_result: Callable[[PreviewResult], None], name: str = "preview") -> None:
        self._render = render
        self._on_result = on_result
        self._cv = threading.Condition()
        self._slot: tuple[int, PreviewRequest, float] | None = None
        self._ids = itertools.count(1)
        self._closed = False
        self._submitted = self._rendered = self._dropped = 0
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, request: PreviewRequest) -> int:
        """Post a request; returns its id. A request still waiting is dropped in its favour."""
        with self._cv:
            if self._closed:
                raise RuntimeError("the preview worker is closed")
            request_id = next(self._ids)
            self._submitted += 1
            if self._slot is not None:
                self._dropped += 1
            self._slot = (request_id, request, time.perf_counter())
            self._cv.notify()
        return request_id

    @property
    def stats(self) -> WorkerStats:
        with self._cv:
            return WorkerStats(self._submitted, self._rendered, self._dropped)

    def idle(self) -> bool:
        with self._cv:
            return self._slot is None and not self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._slot is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking requests; a waiting one is dropped, a running one finishes."""
        with self._cv:
            self._closed = True
            self._slot = None
            self._cv.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._slot is None and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                assert self._slot is not None
                request_id, request, posted = self._slot
                self._slot = None
                self._busy = True
            try:
                result = self._render(request, request_id, (time.perf_counter() - posted) * 1000)
            except Exception as exc:  # a frame that fails must not kill the worker: it comes back as an error
                result = PreviewResult(request_id, _UNKNOWN, Latency(0.0, 0.0, 0.0),
                                       error=f"{type(exc).__name__}: {exc}", tag=request.tag)
            try:
                self._on_result(result)
            except Exception:  # the receiver's bug: report it, keep serving frames
                traceback.print_exc()
            finally:
                with self._cv:
                    self._busy = False
                    self._rendered += 1
                    self._cv.notify_all()
