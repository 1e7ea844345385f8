"""Import scenes and webtoon strips into a project: decode safely, split at gutters, store cuts by content hash.

Idempotent: a source file seen before is skipped by its bytes' hash, and a cut whose pixels are already
stored is never stored twice. A bad file is reported (path + reason) and the rest of the batch goes in.
A project that cannot be written (read-only, disk full) stops the batch with a ProjectError.
"""

from __future__ import annotations

import errno
import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from f2a_studio.core.errors import ImageError, ProjectError
from f2a_studio.core.imageio import (
    IMAGE_SUFFIXES,
    content_hash,
    encode_png,
    file_sha256,
    load_image,
    write_bytes_atomic,
)
from f2a_studio.core.jobs import CancelToken, as_progress, worker_count
from f2a_studio.core.models import ImageRecord
from f2a_studio.core.store import CUTS_DIR, ProjectStore
from f2a_studio.core.strips import SplitOptions, find_cuts, parse_source_name

Progress = Callable[[int, int, str], None]  # the job protocol's (core/jobs.py): done, total, file path


@dataclass(frozen=True)
class ImportProblem:
    path: str
    reason: str


@dataclass
class ImportReport:
    added: list[ImageRecord] = field(default_factory=list)
    already_present: int = 0
    files_done: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    megapixels: float = 0.0
    cancelled: bool = False  # stopped by its cancel token; the files done are whole

    def to_json(self) -> dict:
        return {
            "added": len(self.added),
            "already_present": self.already_present,
            "files": self.files_done,
            "megapixels": round(self.megapixels, 3),
            "problems": [p.__dict__ for p in self.problems],
        }


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def collect_sources(paths: Iterable[Path | str]) -> tuple[list[Path], list[ImportProblem]]:
    """Expand folders recursively (image suffixes only); files named explicitly are always tried."""
    files: list[Path] = []
    problems: list[ImportProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
            files.extend(sorted(found, key=_natural_key))
        elif path.exists():
            files.append(path)
        else:
            problems.append(ImportProblem(str(path), "no such file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def _project_write_error(store: ProjectStore, exc: OSError) -> ProjectError:
    if exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = "the project folder is read-only"
    else:
        why = exc.strerror or str(exc)
    return ProjectError(f"cannot write into project {store.root}: {why}")


@dataclass(frozen=True)
class PreparedCut:
    hash: str
    png: bytes
    width: int
    height: int
    has_alpha: bool


@dataclass
class PreparedFile:
    """A source decoded, split, hashed and encoded: everything but the writes into the project."""

    path: Path
    sha256: str = ""
    cuts: list[PreparedCut] = field(default_factory=list)
    present: int = 0  # cuts (or the whole file) already in the project
    problem: ImportProblem | None = None
    megapixels: float = 0.0
    cancelled: bool = False  # stopped by its cancel token; the files done are whole
    title_id: str = ""
    episode: str = ""
    cut_index: int | None = None


def prepare_file(store: ProjectStore, path: Path, split: SplitOptions) -> PreparedFile:
    """The CPU-heavy half of an import. Thread-safe; decoders and the PNG encoder release the GIL."""
    out = PreparedFile(path)
    try:
        out.sha256 = file_sha256(path)
    except PermissionError:
        out.problem = ImportProblem(str(path), "permission denied: the file cannot be read")
        return out
    except OSError as exc:
        out.problem = ImportProblem(str(path), f"cannot read: {exc.strerror or exc}")
        return out
    if store.source_seen(out.sha256):
        out.present = 1
        return out
    try:
        loaded = load_image(path)
    except ImageError as exc:
        out.problem = ImportProblem(str(path), exc.reason)
        return out
    spans = find_cuts(loaded.pixels, split)
    if not spans:
        out.problem = ImportProblem(str(path), "blank image: no content between gutters")
        return out
    name = parse_source_name(path)
    out.title_id, out.episode = name.title_id, name.episode
    out.cut_index = name.cut_index if len(spans) == 1 else None
    out.megapixels = loaded.width * loaded.height / 1e6
    for span in spans:
        cut = loaded.pixels[span.top : span.bottom]
        digest = content_hash(cut)
        if store.image_by_hash(digest) is not None:
            out.present += 1
            continue
        out.cuts.append(PreparedCut(digest, encode_png(cut), cut.shape[1], cut.shape[0], cut.shape[2] == 4))
    return out


def commit_file(store: ProjectStore, prepared: PreparedFile, report: ImportReport) -> None:
    """The write half: cut files first (atomic renames), then one transaction per cut row."""
    if prepared.problem is not None:
        report.problems.append(prepared.problem)
        return
    report.already_present += prepared.present
    report.megapixels += prepared.megapixels
    if not prepared.cuts and prepared.present:
        if not store.source_seen(prepared.sha256):
            store.record_source(prepared.sha256, str(prepared.path), prepared.present)
        return
    for cut in prepared.cuts:
        cut_path = f"{CUTS_DIR}/{cut.hash[:2]}/{cut.hash}.png"
        try:
            write_bytes_atomic(store.root / cut_path, cut.png)
        except OSError as exc:
            raise _project_write_error(store, exc) from exc
        record, created = store.add_image(
            hash=cut.hash,
            cut_path=cut_path,
            source_path=str(prepared.path),
            title_id=prepared.title_id,
            episode=prepared.episode,
            width=cut.width,
            height=cut.height,
            has_alpha=cut.has_alpha,
            cut_index=prepared.cut_index,
        )
        if created:
            report.added.append(record)
        else:
            report.already_present += 1
    store.record_source(prepared.sha256, str(prepared.path), len(prepared.cuts) + prepared.present)


def default_workers() -> int:
    return worker_count()  # decoding threads: the job protocol's rule (core/jobs.py)


def import_sources(
    store: ProjectStore,
    paths: Iterable[Path | str],
    *,
    split: SplitOptions | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import `paths`; `cancel` stops between files: each file's cuts and its source record are all in or
    all out, so a cancelled (or killed) import resumes cleanly."""
    if store.read_only:
        raise ProjectError(f"cannot import into {store.root}: it is open read-only ({store.read_only_reason})")
    progress = as_progress(progress)
    files, problems = collect_sources(paths)
    report = ImportReport(problems=list(problems))
    opts = split or SplitOptions()
    n_workers = workers or default_workers()
    # Decode/split/encode run ahead in threads (bounded, to cap memory on huge strips); writes stay in
    # this thread and in file order, so cut numbering is the same whatever the number of workers.
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="f2a-import") as pool:
        pending: deque[Future[PreparedFile]] = deque()
        queue = iter(files)
        for path in itertools.islice(queue, n_workers + 1):
            pending.append(pool.submit(prepare_file, store, path, opts))
        done = 0
        while pending:
            prepared = pending.popleft().result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(prepare_file, store, nxt, opts))
            if progress:
                progress(done, len(files), str(prepared.path))
            if cancel is not None and cancel.cancelled:
                for future in pending:
                    future.cancel()
                report.cancelled = True
                break
            try:
                commit_file(store, prepared, report)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
            done += 1
            report.files_done += 1
    if progress and not report.cancelled:
        progress(len(files), len(files), "")
    return report
