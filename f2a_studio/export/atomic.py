"""All-or-nothing export folders: write into a hidden temp folder beside OUT, rename it to OUT at the end.

An export that fails (full disk, read-only target, a bug) or is cancelled removes its temp folder, so
OUT either holds a complete export or is untouched. A process killed outright (SIGKILL, power loss)
cannot clean up; its temp folder is named `.OUT.f2a-partial-<pid>-…` and the next export to the same
OUT removes it once that pid is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from f2a_studio.core.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES
from f2a_studio.export.errors import ExportError

PARTIAL_TAG = ".f2a-partial-"
OLD_TAG = "-old"  # an earlier export moved aside while the new one is renamed in
GENERATOR = "f2a-studio"  # what manifest.json's "generator" starts with


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative, with /
    sha256: str
    size: int
    split: str | None = None
    faces: tuple[tuple[int, int], ...] = ()  # (face id, revision) the file came from

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "split": self.split,
            "faces": [{"id": fid, "revision": rev} for fid, rev in self.faces],
        }


def describe_os_error(exc: OSError, target: Path, what: str) -> str:
    """A message a user can act on, naming the place and the cause."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on the disk (the disk is full)"
    elif code == errno.EROFS:
        why = "the target is on a read-only file system"
    elif code in (errno.EACCES, errno.EPERM):
        why = "permission denied: the target folder is not writable"
    elif code == errno.EFBIG:
        why = "file too large for the target (file size limit reached)"
    else:
        why = exc.strerror or str(exc)
    return f"cannot export to {target}: {why} (while {what}); nothing was written"


def _make_temp_dir(parent: Path, prefix: str) -> Path:
    """Like tempfile.mkdtemp, but with the usual folder permissions (umask applies), not 0700."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free temp folder name", str(parent))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _syncfs(folder: Path) -> None:
    """Flush the file system holding `folder` once (far cheaper than an fsync per file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if hasattr(libc, "syncfs"):
            libc.syncfs(fd)
        else:  # pragma: no cover - not Linux
            os.sync()
    except OSError:  # pragma: no cover
        os.sync()
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class AtomicExport:
    """Context manager: `with AtomicExport(out) as ex: ex.write(...)`; renamed to `out` on a clean exit."""

    out: Path
    overwrite: bool = False
    temp: Path | None = None
    entries: list[FileEntry] = field(default_factory=list)
    _dirs: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.out = Path(self.out).absolute()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> AtomicExport:
        check_target(self.out, self.overwrite)
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(describe_os_error(exc, self.out, f"creating {parent}")) from exc
        remove_stale_partials(self.out)
        try:
            self.temp = _make_temp_dir(parent, f".{self.out.name}{PARTIAL_TAG}{os.getpid()}-")
        except OSError as exc:
            raise ExportError(describe_os_error(exc, self.out, f"creating a temp folder in {parent}")) from exc
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            self.discard()
            if isinstance(exc, OSError):
                raise ExportError(describe_os_error(exc, self.out, "writing the export")) from exc
            return
        try:
            self._commit()
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None

    def _commit(self) -> None:
        """The rename dance: the new export is complete in its temp folder; the old one is moved aside
        (`.OUT.f2a-partial-<pid>-old`), the new one renamed in, and only then the old one removed. Killed
        between the two renames, the old export is put back by the next export to OUT."""
        assert self.temp is not None
        temp, out = self.temp, self.out
        old: Path | None = None
        try:
            _syncfs(temp)
            if out.exists():
                check_target(out, self.overwrite)
                if any(out.iterdir()):
                    old = out.with_name(f".{out.name}{PARTIAL_TAG}{os.getpid()}{OLD_TAG}")
                    os.replace(out, old)
                else:
                    out.rmdir()
            try:
                os.replace(temp, out)
            except OSError:
                if old is not None:
                    os.replace(old, out)  # the old export back as it was
                    old = None
                raise
            self.temp = None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            _fsync_dir(out.parent)
        except OSError as exc:
            raise ExportError(describe_os_error(exc, out, f"renaming the finished export to {out.name}")) from exc

    # ------------------------------------------------------------------ writing

    def write(self, relpath: str, data: bytes, *, split: str | None = None,
              faces: tuple[tuple[int, int], ...] = ()) -> FileEntry:
        """Write one file of the export; OSErrors become an ExportError naming the cause."""
        if self.temp is None:
            raise ExportError("the export is not open")
        path = self.temp / relpath
        try:
            if path.parent not in self._dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(path.parent)
            with open(path, "xb") as handle:
                handle.write(data)
        except OSError as exc:
            raise ExportError(describe_os_error(exc, self.out, f"writing {relpath}")) from exc
        entry = FileEntry(relpath, hashlib.sha256(data).hexdigest(), len(data), split, faces)
        self.entries.append(entry)
        return entry


def is_export(folder: Path) -> bool:
    """True only for a folder holding an F2A export's own manifest: `f2a_export` version, generator
    "f2a-studio …" and a files list. A web app's manifest.json (or any other) is not one."""
    path = folder / MANIFEST_NAME
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    version, generator = data.get("f2a_export"), data.get("generator")
    return (
        isinstance(version, int) and not isinstance(version, bool) and version >= 1
        and isinstance(generator, str) and (generator == GENERATOR or generator.startswith(GENERATOR + " "))
        and isinstance(data.get("files"), list)
    )


def check_target(out: Path, overwrite: bool) -> None:
    """OUT must not exist, be an empty folder, or (with overwrite) an earlier F2A export; never anything else."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ExportError(f"cannot export to {out}: it is a file, not a folder")
    if not any(out.iterdir()):
        return
    if not is_export(out):
        held = " (its manifest.json is not an F2A export manifest)" if (out / MANIFEST_NAME).exists() else ""
        raise ExportError(f"cannot export to {out}: the folder is not empty and holds no earlier F2A export"
                          f"{held}; choose a new or empty folder. --overwrite only ever replaces an F2A export")
    if not overwrite:
        raise ExportError(f"{out} already holds an export; choose another folder or overwrite it (--overwrite)")


def remove_stale_partials(out: Path) -> list[Path]:
    """Remove temp folders of earlier exports to `out` whose process is gone. An old export a killed
    process had moved aside (`…-<pid>-old`) is put back when OUT is missing, never removed."""
    removed = []
    prefix = f".{out.name}{PARTIAL_TAG}"
    try:
        siblings = sorted(out.parent.iterdir())
    except OSError:
        return removed
    for path in siblings:
        if not path.name.startswith(prefix) or not path.is_dir() or path.is_symlink():
            continue
        pid_text = path.name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue  # an export still running (or this process's own)
        if path.name.endswith(OLD_TAG) and not os.path.lexists(out) and is_export(path):
            with contextlib.suppress(OSError):
                os.replace(path, out)
                continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
