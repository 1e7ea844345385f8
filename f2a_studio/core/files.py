"""Opening user-named files safely: only regular files are ever opened, and nothing blocks on the way.

A FIFO or a character device (`/dev/zero`, a terminal) named `x.png` would block `open()` or never end a
read, hang an import with the project lock held and ignore Ctrl-C. So every path a user names is checked
with `os.stat` first, and opened with O_NONBLOCK (a FIFO swapped in after the check cannot block the open)
and checked again with `fstat` on the open descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

from f2a_studio.core.errors import ImageError

PREFIX_BYTES = 4096  # what an error message may look at: never the whole file


def _kind(mode: int) -> str | None:
    """None for a regular file, else what the path is instead, in words."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not an image file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file; refused (reading it could block forever)"
    if stat.S_ISCHR(mode):
        return "is a character device, not a regular file; refused"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file; refused"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file; refused"
    return "is not a regular file; refused"


def stat_problem(exc: OSError) -> str:
    """The reason, in words, why `os.stat`/`open` failed on a path."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points back at itself)"
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "file not found (a part of the path is not a folder)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"cannot read: {exc.strerror or exc}"


def regular_file_problem(path: Path | str) -> str | None:
    """None when `path` is a regular file (following symlinks), else why it cannot be used."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return stat_problem(exc)
    return _kind(st.st_mode)


def check_regular_file(path: Path | str) -> os.stat_result:
    """`os.stat(path)` of a regular file; ImageError naming the path and what it is otherwise."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageError(path, stat_problem(exc)) from exc
    kind = _kind(st.st_mode)
    if kind is not None:
        raise ImageError(path, kind)
    return st


def open_regular(path: Path | str) -> BinaryIO:
    """Open a regular file for reading in binary mode; ImageError for anything else.

    O_NONBLOCK makes opening a FIFO return at once (a FIFO put in place after a stat check, say); fstat on
    the descriptor then refuses it. The flag is cleared again for the regular file (it means nothing there).
    """
    check_regular_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise ImageError(path, "permission denied: the file cannot be read") from exc
    except OSError as exc:
        raise ImageError(path, stat_problem(exc)) from exc
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise ImageError(path, kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_prefix(path: Path | str, size: int = PREFIX_BYTES) -> bytes:
    """At most `size` bytes from the start of a regular file (b"" when it cannot be read)."""
    try:
        with open_regular(path) as handle:
            return handle.read(size)
    except (ImageError, OSError):
        return b""


TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> str:
    """`.NAME.<pid>.<random>.tmp` beside `path`: the pid lets a later run remove what a killed one left."""
    return f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Remove `temp_name` files under `folder` whose writing process is gone (a killed import's leftovers)."""
    removed: list[Path] = []
    try:
        walker = list(os.walk(folder))
    except OSError:
        return removed
    for dirpath, _dirs, names in walker:
        for name in names:
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            parts = name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
            pid = parts[1] if len(parts) == 3 else ""
            if pid.isdigit() and _pid_alive(int(pid)):
                continue  # a writer still running (or this process)
            path = Path(dirpath) / name
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a small file whole or not at all: a temporary name in the same folder, fsync, rename. A reader
    (or a crash) sees the old file or the new one, never half of one."""
    tmp = path.with_name(temp_name(path))
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
