"""One job protocol for every long-running job (import, detect, export; train, translate, retrain next).

* progress: `progress(done, total, text)`, called from the job's thread; `total` 0 while unknown;
* cancel: a `CancelToken` the job checks between units of work (an image, a file, a face). A job stops at
  such a boundary and leaves nothing half-written: what it committed is whole, the rest is not there;
* workers: `worker_count()`: every core from the command line; one core fewer while the studio's window
  is open (`reserve_core_for_ui`), so the window stays responsive;
* processes: `process_context(preload)`: one multiprocessing start method (forkserver where the platform
  has it, never fork: the studio has Qt threads) whose preload list is the union of what every job asked
  for. The fork server's preload list is process-wide, so setting it per job would overwrite the others'.

No Qt here: the studio wraps these in gui/workers.py.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from f2a_studio.core.errors import F2AError

Progress = Callable[[int, int, str], None]


class JobCancelled(F2AError):
    """A job stopped because its token was cancelled (the reason is the message)."""


class CancelToken:
    """Thread-safe cancel flag with a reason. Also usable where older code takes a `threading.Event`
    (`is_set`, `set`, `wait`) or a `should_stop()` callable (call it)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if not self._event.is_set():
                self._reason = reason
                self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str:
        with self._lock:
            return self._reason

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelled(self.reason or "cancelled")

    # threading.Event / should_stop compatibility
    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def __call__(self) -> bool:
        return self._event.is_set()


def as_progress(fn: Callable[..., Any] | None) -> Progress | None:
    """`fn` as a protocol progress callback. Callbacks written before the protocol took `(done, total)`;
    they keep working (their signature is read once, nothing is caught at call time)."""
    if fn is None:
        return None
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume the protocol
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(positional) >= 3:
        return fn
    return lambda done, total, _text: fn(done, total)


def cancelled(token: Any) -> bool:
    """True when `token` (a CancelToken, a threading.Event, a should_stop callable or None) says stop."""
    if token is None:
        return False
    if hasattr(token, "is_set"):
        return bool(token.is_set())
    return bool(token())


# ---------------------------------------------------------------- worker count

_ui_lock = threading.Lock()
_ui_windows = 0


def reserve_core_for_ui(on: bool = True) -> None:
    """The studio calls this when its window opens (and with False when it closes)."""
    global _ui_windows
    with _ui_lock:
        _ui_windows = max(0, _ui_windows + (1 if on else -1))


def ui_open() -> bool:
    return _ui_windows > 0


def worker_count(requested: int | None = 0, *, tasks: int | None = None) -> int:
    """`requested` when positive, else every core (one fewer while a window is open); never more than
    `tasks` (no idle workers), never fewer than one."""
    automatic = (os.cpu_count() or 1) - (1 if ui_open() else 0)
    n = requested if requested and requested > 0 else automatic
    if tasks is not None:
        n = min(n, tasks)
    return max(1, n)


# ---------------------------------------------------------------- one process context

_preload_lock = threading.Lock()
_preloads: set[str] = set()


def default_start_method() -> str:
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def process_context(preload: Iterable[str] = (), method: str | None = None) -> Any:
    """The start context for worker processes. `preload` is added to every earlier job's list and the
    union is what the fork server imports (it only matters before the server starts: a later job's
    modules are then imported by its workers themselves)."""
    method = method or default_start_method()
    ctx = mp.get_context(method)
    if method == "forkserver":
        with _preload_lock:
            _preloads.update(preload)
            ctx.set_forkserver_preload(sorted(_preloads))
    return ctx


def registered_preloads() -> tuple[str, ...]:
    with _preload_lock:
        return tuple(sorted(_preloads))
