"""Export options and the plan: which faces go where (split and file name), and why the rest stay out.

Planning only reads the project (fast: no pixels), so the studio can recompute counts live as filters
change and the CLI can print a dry run; `runner.run_export` then carries a plan out.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from f2a_studio.core.align import (
    DEFAULT_MARGIN,
    DEFAULT_SIZE,
    AlignmentError,
    anchor_points,
    check_margin,
    check_size,
)
from f2a_studio.core.errors import ValidationError
from f2a_studio.core.models import Domain, Face, ImageRecord
from f2a_studio.core.store import ProjectStore
from f2a_studio.export.filters import Exclusion, FaceFilter, episode_key
from f2a_studio.export.formats import get_format
from f2a_studio.export.human import HumanPlan, plan_human_photos
from f2a_studio.export.masks import BACKGROUNDS
from f2a_studio.export.split import SPLIT_BY, SPLITS, SplitPlan, assign_splits, check_ratios


@dataclass(frozen=True)
class ExportOptions:
    format: str = "pix2pix"
    size: int = DEFAULT_SIZE
    margin: float = DEFAULT_MARGIN
    foreground: bool = False
    background: str = "white"  # white | transparent (transparent: RGBA files)
    seed: int = 0
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_by: str = "episode"  # episode | title
    filters: FaceFilter = field(default_factory=FaceFilter)
    human_photos: str | None = None  # cyclegan: folder of human face photos for trainA/testA
    workers: int = 2  # worker processes (0: render in this process); does not change the output

    def __post_init__(self) -> None:
        fmt = get_format(self.format)  # unknown format → ValidationError listing the known ones
        try:
            check_size(int(self.size))
            check_margin(float(self.margin))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        object.__setattr__(self, "ratios", check_ratios(self.ratios))
        if self.background not in BACKGROUNDS:
            raise ValidationError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if self.split_by not in SPLIT_BY:
            raise ValidationError(f"split_by must be one of {', '.join(SPLIT_BY)}, got {self.split_by!r}")
        if self.workers < 0:
            raise ValidationError(f"workers must be 0 or more, got {self.workers}")
        if self.human_photos is not None and self.format != "cyclegan":
            raise ValidationError("human photos are only used by the cyclegan format (trainA/testA)")
        fmt.check(self)

    def to_json(self) -> dict[str, Any]:
        """What goes into the manifest: everything that shapes the output (not `workers`)."""
        return {
            "format": self.format,
            "size": self.size,
            "margin": self.margin,
            "foreground": self.foreground,
            "background": self.background,
            "seed": self.seed,
            "ratios": [round(r, 6) for r in self.ratios],
            "split_by": self.split_by,
            "human_photos": self.human_photos,
        }

    def with_filters(self, **changes: Any) -> ExportOptions:
        return replace(self, filters=replace(self.filters, **changes))


@dataclass(frozen=True)
class PlannedFace:
    face: Face
    image: ImageRecord
    split: str

    @property
    def stem(self) -> str:
        return f"{self.image.name}_face{self.face.id}"

    @property
    def key(self) -> tuple[int, int]:
        return int(self.face.id or 0), int(self.face.revision)

    @property
    def domain(self) -> Domain:
        return self.image.domain


@dataclass
class ExportPlan:
    project: Path
    options: ExportOptions
    items: list[PlannedFace]
    excluded: list[Exclusion]
    split: SplitPlan
    cut_files: dict[int, Path]  # image id → cut file
    human: HumanPlan | None = None

    def counts(self) -> dict[str, Any]:
        by_split = Counter(item.split for item in self.items)
        out: dict[str, Any] = {
            "faces": len(self.items),
            **{s: by_split.get(s, 0) for s in SPLITS},
            "excluded": len(self.excluded),
            "excluded_by_reason": dict(sorted(Counter(e.code for e in self.excluded).items())),
        }
        n_human = sum(1 for item in self.items if item.domain is Domain.HUMAN)
        if n_human:  # faces of the project's human photos (cyclegan's A side)
            out["human_faces"] = {s: sum(1 for it in self.items if it.domain is Domain.HUMAN and it.split == s)
                                  for s in SPLITS}
        if self.human is not None:
            out["human_photos"] = dict(sorted(Counter(h.split for h in self.human.items).items()))
            out["human_photos_skipped"] = len(self.human.skipped)
        return out

    def by_image(self) -> list[list[PlannedFace]]:
        """The planned faces grouped by cut, in cut-name order (a cut is read once for all its faces)."""
        groups: dict[int, list[PlannedFace]] = {}
        for item in self.items:  # items are sorted by cut name, then face id
            groups.setdefault(item.image.id, []).append(item)
        return list(groups.values())

    def split_json(self) -> dict[str, Any]:
        return {"by": self.options.split_by, "ratios": [round(r, 6) for r in self.options.ratios],
                "seed": self.options.seed, "groups": self.split.groups()}

    def dry_run_lines(self, *, per_face: bool = True) -> list[str]:
        """What would be exported and why faces were left out, for people."""
        fmt = get_format(self.options.format)
        c = self.counts()
        lines = [
            f"{self.options.format} export of {self.project}: {c['faces']} face(s) → "
            + ", ".join(f"{s} {c[s]}" for s in SPLITS)
            + f"; {c['excluded']} left out",
        ]
        groups = self.split.groups()
        lines.append(f"split by {self.options.split_by} (seed {self.options.seed}): "
                     + " | ".join(f"{s}: {', '.join(groups[s]) or '-'}" for s in SPLITS))
        if per_face:
            for item in self.items:
                target = (fmt.human_path(item.split, item.stem) if item.domain is Domain.HUMAN else None) \
                    or fmt.face_path(item.split, item.stem)
                lines.append(f"  + face {item.face.id:<6} {item.image.name:<32} → {target}")
            for ex in self.excluded:
                lines.append(f"  - face {ex.face_id:<6} {ex.image:<32} {ex.detail}")
        if c["excluded_by_reason"]:
            lines.append("left out by reason: " + ", ".join(f"{k} {v}" for k, v in c["excluded_by_reason"].items()))
        if self.human is not None:
            lines.extend(self.human.summary_lines(per_photo=per_face))
        if len(self.split.by_group) == 1 and self.items:
            lines.append(f"note: only one {self.options.split_by} selected, so every face is in "
                         f"{self.items[0].split}; add more to get a test split")
        return lines


def plan_export(store: ProjectStore, options: ExportOptions) -> ExportPlan:
    """Apply the filters, check each face can be exported in this format, and split by episode/title."""
    fmt = get_format(options.format)
    images = {img.id: img for img in store.images()}
    passed: list[tuple[Face, ImageRecord]] = []
    excluded: list[Exclusion] = []
    takes_human = fmt.human_path("train", "x") is not None
    for face in store.all_faces():
        image = images[face.image_id]
        why = (domain_problem(face, image, options.format) if not takes_human else None) \
            or options.filters.reason(face, image) or (alignment_problem(face, image) if fmt.aligned else None)
        if why is None:
            passed.append((face, image))
        else:
            excluded.append(why)
    split = _split(passed, options)
    items = [PlannedFace(face, img, split.by_group[_group_of(img, options.split_by)]) for face, img in passed]
    items.sort(key=lambda it: (it.image.name, it.face.id or 0))
    excluded.sort(key=lambda e: (e.image, e.face_id))
    cut_files = {img.id: store.cut_file(img) for _, img in passed}
    human = None
    if options.format == "cyclegan" and options.human_photos:
        human = plan_human_photos(Path(options.human_photos), options.seed, options.ratios)
    return ExportPlan(store.root, options, items, excluded, split, cut_files, human)


def _group_of(image: ImageRecord, split_by: str) -> str:
    """The split group: an episode or title of anime cuts; one photo of the human domain (a photo's faces
    stay together, and photos have no episodes)."""
    if image.domain is Domain.HUMAN:
        return f"photo:{image.name}"
    return episode_key(image) if split_by == "episode" else image.title_id


def _split(passed: list[tuple[Face, ImageRecord]], options: ExportOptions) -> SplitPlan:
    """Each domain is split to the ratios on its own, so trainA/testA and trainB/testB both get their share."""
    by_group: dict[str, str] = {}
    for domain in Domain:
        counts = Counter(_group_of(img, options.split_by) for _, img in passed if img.domain is domain)
        if counts:
            by_group.update(assign_splits(counts, options.ratios, options.seed).by_group)
    return SplitPlan(by_group)


def domain_problem(face: Face, image: ImageRecord, fmt: str) -> Exclusion | None:
    if image.domain is Domain.HUMAN:
        return Exclusion(int(face.id or 0), image.name, "domain",
                         f"a human photo's face ({fmt} exports anime faces; cyclegan puts photos in trainA/testA)")
    return None


def alignment_problem(face: Face, image: ImageRecord) -> Exclusion | None:
    if not face.landmarks:
        return Exclusion(int(face.id or 0), image.name, "no_landmarks", "no landmarks (aligned crops need them)")
    try:
        anchors = anchor_points(face.landmarks)
    except AlignmentError as exc:
        return Exclusion(int(face.id or 0), image.name, "not_alignable", f"cannot align: {exc}")
    if not all(math.isfinite(v) for v in anchors.ravel()):
        return Exclusion(int(face.id or 0), image.name, "not_alignable", "cannot align: landmarks not finite")
    return None
