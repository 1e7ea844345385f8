"""manifest.json: what an export holds and how it was made, written deterministically (sorted keys, no
timestamps), so the same project and options give a byte-identical manifest as well.

Readers (the trainer) use `read_manifest`; `verify_export` re-hashes every file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from f2a_studio.export.atomic import MANIFEST_NAME, FileEntry
from f2a_studio.export.errors import ExportError

MANIFEST_VERSION = 1


def software_version() -> str:
    try:
        return metadata.version("f2a-studio")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def dumps(data: Any, *, compact: bool = False) -> bytes:
    """The one JSON encoding of exports: sorted keys, UTF-8, trailing newline; indented unless compact."""
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, **layout) + "\n").encode()


def build_manifest(*, format: str, options: dict[str, Any], filters: dict[str, Any], seed: int,
                   split: dict[str, Any], counts: dict[str, Any], files: list[FileEntry],
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "f2a_export": MANIFEST_VERSION,
        "generator": f"f2a-studio {software_version()}",
        "format": format,
        "options": options,
        "filters": filters,
        "seed": seed,
        "split": split,
        "counts": counts,
        "files": [e.to_json() for e in sorted(files, key=lambda e: e.path)],
        **(extra or {}),
    }


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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExportError(f"{folder} is not an F2A export: {MANIFEST_NAME} is missing") from exc
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("f2a_export") != MANIFEST_VERSION or "files" not in data:
        raise ExportError(f"{path} is not an F2A export manifest (version {MANIFEST_VERSION})")
    return Manifest(folder, data)


def verify_export(folder: Path | str) -> list[str]:
    """Files that are missing or whose sha256 differs from the manifest (empty: the export is intact)."""
    manifest = read_manifest(folder)
    problems = []
    for entry in manifest.files:
        path = manifest.folder / entry["path"]
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            problems.append(f"{entry['path']}: missing")
            continue
        if digest != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs")
    return problems
