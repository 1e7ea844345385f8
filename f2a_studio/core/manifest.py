"""Reading an F2A export's manifest.json: the one reader that export, trainer and preview share.

The writer (export/manifest.py) builds the manifest; this module only knows its layout and checks it,
so the trainer can read a dataset without importing the exporter (no Qt, no torch, cheap to import).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f2a_studio.core.errors import F2AError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"{folder} is not an F2A export: {MANIFEST_NAME} is missing") from exc
    except (OSError, ValueError) as exc:
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
