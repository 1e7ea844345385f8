"""One writer per project: an OS advisory lock on PROJECT/.f2a.lock.

The OS drops the lock when the holder dies (even with SIGKILL), so a crash never leaves a project
locked for good. A second program gets `LockHeld` and opens the project read-only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

LOCK_NAME = ".f2a.lock"


@dataclass(frozen=True)
class LockHeld:
    """Why the lock could not be taken, in words a user can act on."""

    reason: str


class ProjectLock:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: Path) -> ProjectLock | LockHeld:
        path = folder / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            return LockHeld(f"no write permission in {folder}")
        except OSError as exc:
            return LockHeld(f"cannot create {path}: {exc.strerror or exc}")
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            who = f" (process {holder})" if holder else ""
            return LockHeld(f"the project is open in another F2A Studio program{who}")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only a courtesy for the message
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
