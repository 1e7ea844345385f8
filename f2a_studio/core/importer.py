"""Import scenes and webtoon strips into a project: decode safely, split at gutters, store cuts by content hash.

Idempotent: a source file seen before is skipped by its bytes' hash, and a cut whose pixels are already
stored is never stored twice. A bad file is reported (path + reason) and the rest of the batch goes in.
A project that cannot be written (read-only, disk full) stops the batch with a ProjectError.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from f2a_studio.core.errors import ImageError, ProjectError
from f2a_studio.core.imageio import (
    IMAGE_SUFFIXES,
    content_hash,
    file_sha256,
    load_image,
    save_png_atomic,
)
from f2a_studio.core.models import ImageRecord
from f2a_studio.core.store import CUTS_DIR, ProjectStore
from f2a_studio.core.strips import SplitOptions, find_cuts, parse_source_name

Progress = Callable[[int, int, Path], None]


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


def import_file(store: ProjectStore, path: Path, report: ImportReport, split: SplitOptions) -> None:
    try:
        sha = file_sha256(path)
    except PermissionError:
        report.problems.append(ImportProblem(str(path), "permission denied: the file cannot be read"))
        return
    except OSError as exc:
        report.problems.append(ImportProblem(str(path), f"cannot read: {exc.strerror or exc}"))
        return
    if store.source_seen(sha):
        report.already_present += 1
        return
    try:
        loaded = load_image(path)
    except ImageError as exc:
        report.problems.append(ImportProblem(str(path), exc.reason))
        return
    name = parse_source_name(path)
    spans = find_cuts(loaded.pixels, split)
    if not spans:
        report.problems.append(ImportProblem(str(path), "blank image: no content between gutters"))
        return
    report.megapixels += loaded.width * loaded.height / 1e6
    for span in spans:
        cut = loaded.pixels[span.top : span.bottom]
        digest = content_hash(cut)
        if store.image_by_hash(digest) is not None:
            report.already_present += 1
            continue
        cut_path = f"{CUTS_DIR}/{digest[:2]}/{digest}.png"
        try:
            save_png_atomic(store.root / cut_path, cut)
        except OSError as exc:
            raise _project_write_error(store, exc) from exc
        record, created = store.add_image(
            hash=digest,
            cut_path=cut_path,
            source_path=str(path),
            title_id=name.title_id,
            episode=name.episode,
            width=cut.shape[1],
            height=cut.shape[0],
            has_alpha=cut.shape[2] == 4,
            cut_index=name.cut_index if len(spans) == 1 else None,
        )
        if created:
            report.added.append(record)
        else:
            report.already_present += 1
    store.record_source(sha, str(path), len(spans))


def import_sources(
    store: ProjectStore,
    paths: Iterable[Path | str],
    *,
    split: SplitOptions | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    if store.read_only:
        raise ProjectError(f"cannot import into {store.root}: it is open read-only ({store.read_only_reason})")
    files, problems = collect_sources(paths)
    report = ImportReport(problems=list(problems))
    opts = split or SplitOptions()
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path)
        import_file(store, path, report, opts)
        report.files_done += 1
    if progress:
        progress(len(files), len(files), Path())
    return report
