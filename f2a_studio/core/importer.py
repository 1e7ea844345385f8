"""Import scenes and webtoon strips into a project: decode safely, split at gutters, store cuts by content hash.

Idempotent: a source file seen before is skipped by its bytes' hash, and a cut whose pixels are already
stored is never stored twice. A bad file is reported (path + reason) and the rest of the batch goes in.
A project that cannot be written (read-only, disk full) stops the batch with a ProjectError.

A folder of slices of one episode (`1.jpg … 18.jpg`, see strips.plan_units) is joined top to bottom
before it is split at gutters, so a panel across a slice edge is one cut and the episode one title/episode.
Re-importing the set skips it when every slice was seen; when some are new (a slice added later) the set
is joined again and only cuts whose pixels are new go in (a panel across the new edge is then a new cut).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import ImageError, ProjectError
from f2a_studio.core.files import regular_file_problem, stat_problem
from f2a_studio.core.imageio import (
    IMAGE_SUFFIXES,
    content_hash,
    encode_png,
    file_sha256,
    load_image,
    write_bytes_atomic,
)
from f2a_studio.core.jobs import CancelToken, as_progress, worker_count
from f2a_studio.core.models import Domain, ImageRecord
from f2a_studio.core.pts_faces import pts_face
from f2a_studio.core.store import CUTS_DIR, ProjectStore
from f2a_studio.core.strips import (
    ImportUnit,
    SplitOptions,
    episode_token,
    find_cuts,
    parse_source_name,
    plan_units,
    title_token,
)

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
    notes: list[ImportProblem] = field(default_factory=list)  # imported, with something to say (a GIF's frames)
    cancelled: bool = False  # stopped by its cancel token; the files done are whole

    def to_json(self) -> dict:
        return {
            "added": len(self.added),
            "already_present": self.already_present,
            "files": self.files_done,
            "megapixels": round(self.megapixels, 3),
            "problems": [p.__dict__ for p in self.problems],
            "notes": [n.__dict__ for n in self.notes],
        }


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def collect_sources(paths: Iterable[Path | str]) -> tuple[list[Path], list[ImportProblem]]:
    """Expand folders recursively (image suffixes only); files named explicitly are always tried.

    Only regular files are taken: a FIFO, a device or a folder named like an image is reported by name
    (opening one could block forever), and so is a named folder that holds no image at all."""
    files: list[Path] = []
    problems: list[ImportProblem] = []
    for raw in paths:
        path = Path(raw)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            reason = "no such file or folder" if exc.errno == errno.ENOENT else stat_problem(exc)
            problems.append(ImportProblem(str(path), reason))
            continue
        if stat.S_ISDIR(mode):
            found, odd = _walk_images(path)
            files.extend(sorted(found, key=_natural_key))
            problems.extend(odd)
            if not found and not odd:
                problems.append(ImportProblem(str(path), "the folder holds no image files "
                                              f"({', '.join(sorted(IMAGE_SUFFIXES))})"))
        elif (reason := regular_file_problem(path)) is not None:
            problems.append(ImportProblem(str(path), reason))
        else:
            files.append(path)
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
    source: str = ""  # the slice it starts in, for a cut of a joined slice set


@dataclass
class PreparedFile:
    """A source decoded, split, hashed and encoded: everything but the writes into the project."""

    path: Path
    sha256: str = ""
    cuts: list[PreparedCut] = field(default_factory=list)
    present: int = 0  # cuts (or the whole file) already in the project
    problem: ImportProblem | None = None
    note: ImportProblem | None = None
    megapixels: float = 0.0
    cancelled: bool = False  # stopped by its cancel token; the files done are whole
    title_id: str = ""
    episode: str = ""
    cut_index: int | None = None
    slices: tuple[tuple[Path, str], ...] = ()  # (path, sha256) of each slice of a joined slice set

    def sources(self) -> tuple[tuple[Path, str], ...]:
        return self.slices or ((self.path, self.sha256),)


def _walk_images(folder: Path) -> tuple[list[Path], list[ImportProblem]]:
    """Regular files with an image suffix under `folder`; other things named like images are problems."""
    found: list[Path] = []
    odd: list[ImportProblem] = []
    for path in folder.rglob("*"):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        reason = regular_file_problem(path)
        if reason is None:
            found.append(path)
        elif not path.is_dir():  # a folder named x.png is searched like any folder
            odd.append(ImportProblem(str(path), reason))
    return found, odd


def prepare_file(store: ProjectStore, path: Path, split: SplitOptions) -> PreparedFile:
    """The CPU-heavy half of an import. Thread-safe; decoders and the PNG encoder release the GIL."""
    out = PreparedFile(path)
    try:
        out.sha256 = file_sha256(path)
    except ImageError as exc:
        out.problem = ImportProblem(str(path), exc.reason)
        return out
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
    if loaded.frames > 1:  # one cut per file, as for any picture; the user is told what was left out
        out.note = ImportProblem(str(path), f"animated ({loaded.frames} frames): only the first frame "
                                 "was imported")
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


def prepare_unit(store: ProjectStore, unit: ImportUnit, split: SplitOptions) -> list[PreparedFile]:
    if unit.is_slice_set:
        return prepare_slice_set(store, unit, split)
    return [prepare_file(store, unit.paths[0], split)]


def _joinable(shapes: list[tuple[int, ...]]) -> bool:
    """Slices of one strip: one width, each but the last at least as tall as wide (landscape pictures
    numbered in a row are scenes, e.g. anime screenshots, never to be stacked)."""
    width = shapes[0][1]
    return all(s[1] == width for s in shapes) and all(s[0] >= s[1] for s in shapes[:-1])


def prepare_slice_set(store: ProjectStore, unit: ImportUnit, split: SplitOptions) -> list[PreparedFile]:
    """Join the slices in numeric order and split the joined strip at its gutters.

    Anything unusual (an unreadable or undecodable slice, mixed widths) imports the slices one by one
    instead, so each problem is reported against its own file as usual."""

    def one_by_one() -> list[PreparedFile]:
        return [prepare_file(store, p, split) for p in unit.paths]

    try:
        hashes = [file_sha256(p) for p in unit.paths]
    except (OSError, ImageError):  # one by one: each problem is then reported against its file
        return one_by_one()
    out = PreparedFile(unit.paths[0], sha256=hashes[0], slices=tuple(zip(unit.paths, hashes, strict=True)))
    out.title_id, out.episode = unit.title_id, unit.episode
    if all(store.source_seen(h) for h in hashes):
        out.present = len(hashes)
        return [out]
    try:
        loaded = [load_image(p) for p in unit.paths]
    except ImageError:
        return one_by_one()
    if not _joinable([x.pixels.shape for x in loaded]):
        return one_by_one()
    channels = max(x.pixels.shape[2] for x in loaded)
    parts = [x.pixels if x.pixels.shape[2] == channels else _with_alpha(x.pixels) for x in loaded]
    joined = np.concatenate(parts, axis=0)
    starts = np.cumsum([0] + [p.shape[0] for p in parts[:-1]])
    out.megapixels = joined.shape[0] * joined.shape[1] / 1e6
    spans = find_cuts(joined, split)
    if not spans:
        out.problem = ImportProblem(str(unit.paths[0].parent), "blank slices: no content between gutters")
        return [out]
    for span in spans:
        cut = joined[span.top : span.bottom]
        digest = content_hash(cut)
        if store.image_by_hash(digest) is not None:
            out.present += 1
            continue
        source = unit.paths[int(np.searchsorted(starts, span.top, side="right")) - 1]
        out.cuts.append(PreparedCut(digest, encode_png(cut), cut.shape[1], cut.shape[0], channels == 4, str(source)))
    return [out]


def _with_alpha(pixels: np.ndarray) -> np.ndarray:
    alpha = np.full((*pixels.shape[:2], 1), 255, np.uint8)
    return np.concatenate([pixels, alpha], axis=2)


def commit_file(store: ProjectStore, prepared: PreparedFile, report: ImportReport,
                domain: Domain = Domain.ANIME) -> None:
    """The write half: cut files first (atomic renames), then one transaction per cut row. A human photo
    with an iBUG `.pts` file beside it gets that face (a person's landmarks), before any detection."""
    if prepared.problem is not None:
        report.problems.append(prepared.problem)
        return
    report.already_present += prepared.present
    report.megapixels += prepared.megapixels
    if prepared.note is not None:
        report.notes.append(prepared.note)
    if not prepared.cuts and prepared.present:
        for path, sha256 in prepared.sources():
            if not store.source_seen(sha256):
                store.record_source(sha256, str(path), prepared.present)
        return
    for cut in prepared.cuts:
        cut_path = f"{CUTS_DIR}/{cut.hash[:2]}/{cut.hash}.png"
        target = store.root / cut_path
        existed = target.exists()
        try:
            write_bytes_atomic(target, cut.png)
        except OSError as exc:
            raise _project_write_error(store, exc) from exc
        try:
            record, created = store.add_image(
                hash=cut.hash,
                cut_path=cut_path,
                source_path=cut.source or str(prepared.path),
                title_id=prepared.title_id,
                episode=prepared.episode,
                width=cut.width,
                height=cut.height,
                has_alpha=cut.has_alpha,
                cut_index=prepared.cut_index,
                domain=domain,
            )
        except BaseException:
            # The cut file goes first, then its row; when the row cannot be written (disk full, read-only
            # database, Ctrl-C) the file just written would be an orphan no row points at: remove it.
            if not existed:
                with contextlib.suppress(OSError):
                    target.unlink()
            raise
        if created:
            report.added.append(record)
            if record.domain is Domain.HUMAN:
                _add_pts_face(store, record, prepared.path, report)
        else:
            report.already_present += 1
    for path, sha256 in prepared.sources():
        store.record_source(sha256, str(path), len(prepared.cuts) + prepared.present)


def _add_pts_face(store: ProjectStore, record: ImageRecord, photo: Path, report: ImportReport) -> None:
    face, problem = pts_face(photo, record)
    if problem is not None:
        report.notes.append(ImportProblem(str(photo), problem))
    if face is not None:
        store.add_face(face, actor="import")


def default_workers() -> int:
    return worker_count()  # decoding threads: the job protocol's rule (core/jobs.py)


def import_sources(
    store: ProjectStore,
    paths: Iterable[Path | str],
    *,
    split: SplitOptions | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    title: str | None = None,
    episode: str | None = None,
    cancel: CancelToken | None = None,
    domain: Domain | str = Domain.ANIME,
) -> ImportReport:
    """Import `paths`; `title`/`episode`, when given, name every cut of the batch instead of the file names.
    `domain` human: face photos (CycleGAN's A side), each one cut as it is: never split at gutters nor
    joined as slices, and an iBUG `.pts` beside a photo becomes its face.
    `cancel` stops between import units: each unit's cuts and its source records are all in or all out, so a
    cancelled (or killed) import resumes cleanly."""
    if store.read_only:
        raise ProjectError(f"cannot import into {store.root}: it is open read-only ({store.read_only_reason})")
    progress = as_progress(progress)
    files, problems = collect_sources(paths)
    report = ImportReport(problems=list(problems))
    domain = Domain.parse(domain)
    opts = split or SplitOptions()
    if domain is Domain.HUMAN:  # a photo is one picture: gutters and slice sets are webtoon things
        opts = SplitOptions(min_aspect=float("inf"))
    # Slices join only where tall images are split at all (not with --no-split).
    units = plan_units(files, join_slices=opts.min_aspect != float("inf"))
    title_id = title_token(title) if title is not None else None
    episode_id = episode_token(episode) if episode is not None else None
    n_workers = workers or default_workers()
    # Decode/split/encode run ahead in threads (bounded, to cap memory on huge strips); writes stay in
    # this thread and in file order, so cut numbering is the same whatever the number of workers.
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="f2a-import") as pool:
        pending: deque[Future[list[PreparedFile]]] = deque()
        queue = iter(units)
        for unit in itertools.islice(queue, n_workers + 1):
            pending.append(pool.submit(prepare_unit, store, unit, opts))
        done = 0
        while pending:
            prepared_files = pending.popleft().result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(prepare_unit, store, nxt, opts))
            if progress:
                progress(done, len(units), str(prepared_files[0].path))
            if cancel is not None and cancel.cancelled:
                for future in pending:
                    future.cancel()
                report.cancelled = True
                break
            try:
                for prepared in prepared_files:
                    prepared.title_id = title_id or prepared.title_id
                    prepared.episode = episode_id or prepared.episode
                    commit_file(store, prepared, report, domain)
                    report.files_done += len(prepared.sources())
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
            done += 1
    if progress and not report.cancelled:
        progress(len(units), len(units), "")
    return report
