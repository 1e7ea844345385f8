"""Worker processes that end when the program that started them is gone.

A SIGKILLed `f2a export` cannot stop its workers, and nothing else does: a worker started through the fork
server holds the write ends of its own task queue and the fork server's "alive" pipe, so it never sees
end-of-file; it renders on (one held ~2 GB for minutes), then waits for work forever, and keeps the fork
server and the resource tracker alive with it. PR_SET_PDEATHSIG does not help here: a worker's parent is the
fork server, which itself waits for the workers. So each worker watches the main process directly (a pidfd
where the kernel has them, else a poll of the pid) and exits the moment it is gone; the fork server and the
resource tracker then see their pipes close and leave too.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

POLL_S = 0.5  # without pidfds: how often the watcher looks


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _watch(pid: int) -> None:
    fd = -1
    with contextlib.suppress(AttributeError, OSError):
        fd = os.pidfd_open(pid)  # type: ignore[attr-defined]  # Linux ≥ 5.3, Python ≥ 3.9
    if fd >= 0:
        select.select([fd], [], [])  # readable once the process has exited
    else:
        while not _gone(pid) and os.getppid() != 1:
            time.sleep(POLL_S)
    os._exit(1)


def exit_with(pid: int) -> None:
    """In a worker: exit as soon as process `pid` (the main program) exits, whatever the worker is doing."""
    if _gone(pid):
        os._exit(1)
    threading.Thread(target=_watch, args=(pid,), name="f2a-exit-with-parent", daemon=True).start()
