"""Which faces go into an export, and why the others stay out.

A `FaceFilter` is plain data (it goes into manifest.json as is); `FaceFilter.reason` says why one face
is left out, or None when it passes. Episodes are named like the webtoon files, `<titleId>_<episode>`;
an entry without `_` means that episode number of any title.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.models import Face, FaceStatus, ImageRecord, Sex


def episode_key(image: ImageRecord) -> str:
    return f"{image.title_id}_{image.episode}"


@dataclass(frozen=True)
class Exclusion:
    """One face left out of an export: `code` for counting, `detail` for people."""

    face_id: int
    image: str  # cut name
    code: str
    detail: str


@dataclass(frozen=True)
class FaceFilter:
    statuses: tuple[str, ...] = (FaceStatus.ACCEPTED.value,)
    min_score: float = 0.0
    min_size: float = 0.0  # pixels, the shorter side of the face box
    sexes: tuple[str, ...] = ()  # empty: any
    max_abs_yaw: float | None = None  # degrees
    max_abs_pitch: float | None = None
    max_abs_roll: float | None = None
    titles: tuple[str, ...] = ()  # empty: all
    episodes: tuple[str, ...] = ()  # "<title>_<episode>" or "<episode>"; empty: all

    def __post_init__(self) -> None:
        try:
            statuses = tuple(sorted({FaceStatus(s).value for s in self.statuses}))
            sexes = tuple(sorted({Sex(s).value for s in self.sexes}))
        except ValueError as exc:
            raise ValidationError(f"filter: {exc} (statuses: accepted, unreviewed, rejected; "
                                  f"sexes: female, male, unknown)") from exc
        if not statuses:
            raise ValidationError("filter: at least one status must be selected")
        object.__setattr__(self, "statuses", statuses)
        object.__setattr__(self, "sexes", sexes)
        object.__setattr__(self, "titles", tuple(sorted({str(t) for t in self.titles})))
        object.__setattr__(self, "episodes", tuple(sorted({str(e) for e in self.episodes})))
        for name in ("min_score", "min_size"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise ValidationError(f"filter: {name} must be a non-negative number, got {value}")
            object.__setattr__(self, name, value)
        if self.min_score > 1:
            raise ValidationError(f"filter: min_score must be within 0–1, got {self.min_score}")
        for name in ("max_abs_yaw", "max_abs_pitch", "max_abs_roll"):
            value = getattr(self, name)
            if value is not None:
                value = float(value)
                if not math.isfinite(value) or value < 0:
                    raise ValidationError(f"filter: {name} must be a non-negative angle in degrees, got {value}")
                object.__setattr__(self, name, value)

    @property
    def needs_pose(self) -> bool:
        return any(v is not None for v in (self.max_abs_yaw, self.max_abs_pitch, self.max_abs_roll))

    def reason(self, face: Face, image: ImageRecord) -> Exclusion | None:
        """Why `face` is left out, or None when it passes."""

        def out(code: str, detail: str) -> Exclusion:
            return Exclusion(int(face.id or 0), image.name, code, detail)

        if face.status.value not in self.statuses:
            return out("status", f"status {face.status.value} (wanted {', '.join(self.statuses)})")
        if face.score < self.min_score:
            return out("score", f"score {face.score:.2f} < {self.min_score:.2f}")
        size = min(face.box.w, face.box.h)
        if size < self.min_size:
            return out("size", f"face {size:.0f} px < {self.min_size:.0f} px")
        if self.sexes and face.sex.value not in self.sexes:
            return out("sex", f"sex {face.sex.value} (wanted {', '.join(self.sexes)})")
        if self.titles and image.title_id not in self.titles:
            return out("title", f"title {image.title_id} not selected")
        if self.episodes and not (episode_key(image) in self.episodes or image.episode in self.episodes):
            return out("episode", f"episode {episode_key(image)} not selected")
        if self.needs_pose:
            if face.pose is None:
                return out("no_pose", "no head pose estimated (a pose filter is set)")
            for axis, limit in (("yaw", self.max_abs_yaw), ("pitch", self.max_abs_pitch),
                                ("roll", self.max_abs_roll)):
                angle = getattr(face.pose, axis)
                if limit is not None and abs(angle) > limit:
                    return out("pose", f"|{axis}| {abs(angle):.0f}° > {limit:.0f}°")
        return None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaceFilter:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("statuses", "sexes", "titles", "episodes"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)
