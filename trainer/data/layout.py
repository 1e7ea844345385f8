"""Find and check an export's training files before the first step, so a broken dataset fails in a second
with the file named, not hours in (the reference finds A/B size mismatches and empty folders late or never).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from f2a_studio.core.manifest import ManifestError, read_manifest

PAIRED_FORMATS = ("pix2pix", "concat4")
UNPAIRED_FORMATS = ("cyclegan",)


class DataError(ValueError):
    """A dataset that cannot be trained on; the message names the export and the file."""


@dataclass(frozen=True)
class ExportLayout:
    folder: Path
    format: str
    paired: bool
    a: tuple[Path, ...]  # paired: the A|B (or RGBA) files; unpaired: domain A
    b: tuple[Path, ...]  # unpaired: domain B; paired: empty
    manifest_sha256: str
    size: tuple[int, int]  # (width, height) of the first file


def _files(manifest, folder: str) -> list[Path]:
    """The manifest's files directly under `folder` (train, trainA, …), sorted."""
    return sorted(manifest.folder / str(e["path"]) for e in manifest.files if str(e["path"]).split("/")[0] == folder)


def _check_image(path: Path, fmt: str) -> tuple[int, int]:
    if not path.is_file():
        raise DataError(f"{path} is listed in the export's manifest but missing on disk")
    try:
        with Image.open(path) as im:
            im.verify()  # reads the whole file's structure without decoding pixels
        with Image.open(path) as im:
            width, height, mode = im.width, im.height, im.mode
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise DataError(f"{path} is not a readable image: {exc}") from exc
    if fmt == "pix2pix" and width != 2 * height:
        raise DataError(f"{path}: A and B have different sizes (the pair is {width}×{height}; an A|B pair is "
                        f"2N×N, A the left half and B the right half)")
    if fmt == "concat4" and mode != "RGBA":
        raise DataError(f"{path}: a concat4 file must be RGBA (face + keypoint channel), this one is {mode}")
    return width, height


def check_export(folder: Path | str, paired: bool, split: str = "train") -> ExportLayout:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    try:
        manifest = read_manifest(folder)
    except ManifestError as exc:
        raise DataError(str(exc)) from exc
    fmt = manifest.format
    wanted = PAIRED_FORMATS if paired else UNPAIRED_FORMATS
    if fmt not in wanted:
        kind = "paired" if paired else "unpaired"
        raise DataError(f"{folder} is a {fmt} export; this model trains on {kind} data: export with "
                        f"--format {' or '.join(wanted)}")
    if paired:
        a, b = _files(manifest, split), []
        if not a:
            raise DataError(f"{folder}/{split} holds no {fmt} pairs (the manifest lists no {split} files): "
                            f"an empty export? check the export's face filters")
    else:
        a, b = _files(manifest, f"{split}A"), _files(manifest, f"{split}B")
        for name, files in ((f"{split}A", a), (f"{split}B", b)):
            if not files:
                hint = " (trainA needs --human-photos at export)" if name.endswith("A") else ""
                raise DataError(f"{folder}/{name} holds no images (the manifest lists none){hint}")
    sizes = [_check_image(p, fmt) for p in [*a, *b]]
    digest = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    return ExportLayout(folder, fmt, paired, tuple(a), tuple(b), digest, sizes[0])
