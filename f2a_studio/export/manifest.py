"""manifest.json: what an export holds and how it was made, written deterministically (sorted keys, no
timestamps), so the same project and options give a byte-identical manifest as well.

Readers (trainer, preview) use core.manifest: `read_manifest`, `verify_export`.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from f2a_studio.core.manifest import MANIFEST_VERSION, dumps
from f2a_studio.export.atomic import FileEntry

__all__ = ["build_manifest", "dumps", "software_version"]


def software_version() -> str:
    try:
        return metadata.version("f2a-studio")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


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
