"""Reading an F2A export's manifest.json: the one reader that export, trainer and preview share.

The writer (export/manifest.py) builds the manifest; this module only knows its layout and checks it,
so the trainer can read a dataset without importing the exporter (no Qt, no torch, cheap to import).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from f2a_studio.core.errors import F2AError, ImageError
from f2a_studio.core.files import open_regular, regular_file_problem

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 1 << 30  # ~3M files listed; anything bigger is not a manifest


class ManifestError(F2AError):
    """A folder that is not a readable F2A export (missing, unreadable or foreign manifest)."""


def dumps(data: Any, *, compact: bool = False) -> bytes:
    """The one JSON encoding of exports: sorted keys, UTF-8, trailing newline; indented unless compact."""
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, **layout) + "\n").encode()


@dataclass(frozen=True)
class Manifest:
    folder: Path
    data: dict[str, Any]

    @property
    def format(self) -> str:
        return str(self.data["format"])

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.data["files"])

    def files_in(self, split: str) -> list[Path]:
        return [self.folder / f["path"] for f in self.data["files"] if f.get("split") == split]


def read_manifest(folder: Path | str) -> Manifest:
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    problem = regular_file_problem(path)
    if problem == "file not found":
        raise ManifestError(f"{folder} is not an F2A export: {MANIFEST_NAME} is missing")
    if problem is not None:
        raise ManifestError(f"{path} cannot be read: {problem}")
    try:
        with open_regular(path) as handle:  # never a FIFO, never more than a manifest can hold
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{path} is too large for a manifest (over {MAX_MANIFEST_BYTES >> 20} MiB)")
        data = json.loads(raw.decode("utf-8"))
    except ImageError as exc:
        raise ManifestError(f"{path} cannot be read: {exc.reason}") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise ManifestError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or "f2a_export" not in data or "files" not in data:
        raise ManifestError(f"{path} is not an F2A export manifest")
    version = data["f2a_export"]
    if not isinstance(version, int) or version < 1:
        raise ManifestError(f"{path} has an invalid manifest version {version!r}")
    if version > MANIFEST_VERSION:
        raise ManifestError(f"{path} was written by a newer F2A Studio (manifest version {version}; this one "
                            f"reads up to {MANIFEST_VERSION}); upgrade f2a-studio to read it")
    if not isinstance(data["files"], list):
        raise ManifestError(f"{path}: 'files' must be a list")
    for n, entry in enumerate(data["files"]):
        # every file a reader opens through the manifest stays inside the export folder
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise ManifestError(f"{path}: files[{n}] has no path")
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or "\\" in name:
            raise ManifestError(f"{path}: files[{n}] path {name!r} points outside the export folder")
    return Manifest(folder, data)


def verify_export(folder: Path | str) -> list[str]:
    """Files that are missing or whose sha256 differs from the manifest (empty: the export is intact)."""
    manifest = read_manifest(folder)
    problems = []
    root = manifest.folder.resolve()
    for entry in manifest.files:
        path = manifest.folder / entry["path"]
        if not path.resolve().is_relative_to(root) or regular_file_problem(path) not in (None, "file not found"):
            problems.append(f"{entry['path']}: not a regular file inside the export")
            continue
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            problems.append(f"{entry['path']}: missing")
            continue
        if digest != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs")
    return problems
