"""Human face photos for CycleGAN's A domain, aligned exactly like the anime faces.

This is the folder route (`f2a export -f cyclegan --human-photos DIR`): alignment needs 68 landmarks per
photo, read from an iBUG `.pts` file beside it (core/pts.py); photos without one are skipped and listed
with the reason. The project route finds and aligns faces itself: import the photos as the human domain
(`f2a import PROJECT PHOTOS --domain human`), detect (the photo finder and human landmark backends in
detect/), review, and the cyclegan export writes the accepted ones to trainA/testA.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from f2a_studio.core.align import AlignmentError, anchor_points
from f2a_studio.core.errors import ValidationError
from f2a_studio.core.files import regular_file_problem
from f2a_studio.core.imageio import IMAGE_SUFFIXES
from f2a_studio.core.pts import MAX_PTS_BYTES, read_pts
from f2a_studio.export.split import assign_splits

_UNSAFE = re.compile(r"[^\w\-]+")


@dataclass(frozen=True)
class HumanPhoto:
    path: Path
    landmarks: tuple[tuple[float, float, int], ...]
    split: str
    stem: str


@dataclass(frozen=True)
class HumanSkip:
    path: str
    reason: str


@dataclass
class HumanPlan:
    folder: Path
    items: list[HumanPhoto] = field(default_factory=list)
    skipped: list[HumanSkip] = field(default_factory=list)

    def summary_lines(self, *, per_photo: bool = True) -> list[str]:
        lines = [f"human photos ({self.folder}): {len(self.items)} aligned, {len(self.skipped)} skipped"]
        if not self.items:
            lines.append("note: no human photo could be aligned, so trainA/testA stay empty: put an iBUG .pts "
                         "file with 68 landmarks beside each photo")
        if per_photo:
            lines.extend(f"  + photo {p.path.name} → {p.split}" for p in self.items)
            lines.extend(f"  - photo {s.path}: {s.reason}" for s in self.skipped)
        return lines


def _stem(photo: Path, folder: Path) -> str:
    rel = photo.relative_to(folder).with_suffix("")
    return _UNSAFE.sub("-", "_".join(rel.parts)).strip("-") or "photo"


def plan_human_photos(folder: Path, seed: int, ratios: tuple[float, float, float]) -> HumanPlan:
    if not folder.is_dir():
        raise ValidationError(f"human photos folder {folder} does not exist or is not a folder")
    plan = HumanPlan(folder)
    found: list[tuple[Path, str, np.ndarray]] = []
    photos = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    for photo in photos:
        pts_file = photo.with_suffix(".pts")
        if os.path.lexists(pts_file) and (why := regular_file_problem(pts_file)) is not None:
            plan.skipped.append(HumanSkip(str(photo), f"{pts_file.name} {why}"))
            continue
        if not pts_file.is_file():
            plan.skipped.append(HumanSkip(str(photo), f"no landmarks: {pts_file.name} is missing (no landmark "
                                                      "model for human faces is available offline)"))
            continue
        try:
            landmarks = read_pts(pts_file)
            anchor_points(landmarks)
        except (ValidationError, AlignmentError) as exc:
            plan.skipped.append(HumanSkip(str(photo), str(exc)))
            continue
        stem = _stem(photo, folder)
        if any(stem == other for _, other, _ in found):  # a.jpg beside a.png
            stem = f"{stem}-{photo.suffix.lstrip('.').lower()}"
        found.append((photo, stem, landmarks))
    splits = assign_splits({stem: 1 for _, stem, _ in found}, ratios, seed).by_group if found else {}
    for photo, stem, landmarks in found:
        lm = tuple((float(x), float(y), int(v)) for x, y, v in landmarks)
        plan.items.append(HumanPhoto(photo, lm, splits[stem], stem))
    return plan


__all__ = ["MAX_PTS_BYTES", "HumanPhoto", "HumanPlan", "HumanSkip", "plan_human_photos", "read_pts"]
