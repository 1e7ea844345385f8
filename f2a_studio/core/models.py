"""Domain dataclasses: what a project holds. Plain data, no Qt, no torch, no SQL.

Everything is immutable; an edit is `dataclasses.replace(face, ...)` handed to the store, which
bumps `revision` and logs the before/after pair.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from f2a_studio.core.box_overlap import iou
from f2a_studio.core.errors import ValidationError

_HEX_COLOR = re.compile(r"^#[0-9a-f]{6}$")


class FaceStatus(str, Enum):
    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Sex(str, Enum):
    UNKNOWN = "unknown"
    FEMALE = "female"
    MALE = "male"


class FaceSource(str, Enum):
    DETECTOR = "detector"
    HUMAN = "human"
    MODEL = "model"


# The fields whose provenance is recorded per face (see core/provenance.py).
HUMAN_FIELDS = ("box", "landmarks", "sex", "colors", "status")


class Domain(str, Enum):
    """What an image shows: anime/webtoon art (CycleGAN's B side) or human face photos (its A side)."""

    ANIME = "anime"
    HUMAN = "human"

    @classmethod
    def parse(cls, value: str | Domain) -> Domain:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown domain {value!r}; known: {', '.join(d.value for d in cls)}") from None


class Visibility(int, Enum):
    """COCO keypoint visibility."""

    NOT_LABELED = 0
    OCCLUDED = 1
    VISIBLE = 2


def normalize_color(value: str | None) -> str | None:
    """'#ABC', 'abcdef', '#AbCdEf' -> '#abcdef'; None stays None; anything else is an error."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text.startswith("#"):
        text = "#" + text
    if len(text) == 4:
        text = "#" + "".join(c * 2 for c in text[1:])
    if not _HEX_COLOR.match(text):
        raise ValidationError(f"colour {value!r} is not of the form #rrggbb")
    return text


def rgb_to_hex(rgb: tuple[int, int, int] | list[int]) -> str:
    r, g, b = (max(0, min(255, round(float(c)))) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    text = normalize_color(color)
    assert text is not None
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in image pixels: top-left corner plus size."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        for name in ("x", "y", "w", "h"):
            if not math.isfinite(getattr(self, name)):
                raise ValidationError(f"box {name} must be finite, got {getattr(self, name)!r}")
        if self.w < 0 or self.h < 0:
            raise ValidationError(f"box size must be non-negative, got {self.w}×{self.h}")

    @property
    def area(self) -> float:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    def iou(self, other: Box) -> float:
        return iou((self.x, self.y, self.w, self.h), (other.x, other.y, other.w, other.h))

    def translated(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def clipped(self, width: float, height: float) -> Box:
        x1, y1 = max(0.0, self.x), max(0.0, self.y)
        x2, y2 = min(float(width), self.x2), min(float(height), self.y2)
        return Box(x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))

    def to_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_list(cls, values: list[float] | tuple[float, ...]) -> Box:
        if len(values) != 4:
            raise ValidationError(f"a box needs 4 numbers [x, y, w, h], got {len(values)}")
        return cls(*(float(v) for v in values))


Point = tuple[float, float]


@dataclass(frozen=True)
class Parts:
    """The detector's coarse parts (animeface): eye and mouth boxes, nose and chin points."""

    left_eye: Box | None = None
    right_eye: Box | None = None
    mouth: Box | None = None
    nose: Point | None = None
    chin: Point | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("left_eye", "right_eye", "mouth"):
            box = getattr(self, name)
            out[name] = box.to_list() if box else None
        for name in ("nose", "chin"):
            point = getattr(self, name)
            out[name] = list(point) if point else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Parts:
        if not data:
            return cls()

        def box(key: str) -> Box | None:
            return Box.from_list(data[key]) if data.get(key) else None

        def point(key: str) -> Point | None:
            value = data.get(key)
            return (float(value[0]), float(value[1])) if value else None

        return cls(box("left_eye"), box("right_eye"), box("mouth"), point("nose"), point("chin"))


@dataclass(frozen=True)
class Colors:
    """#rrggbb swatches. left_eye is the eye on the image's left (iBUG points 36–41)."""

    skin: str | None = None
    hair: str | None = None
    left_eye: str | None = None
    right_eye: str | None = None

    def __post_init__(self) -> None:
        for name in ("skin", "hair", "left_eye", "right_eye"):
            object.__setattr__(self, name, normalize_color(getattr(self, name)))

    def to_json(self) -> dict[str, str | None]:
        return {"skin": self.skin, "hair": self.hair, "left_eye": self.left_eye, "right_eye": self.right_eye}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Colors:
        data = data or {}
        return cls(data.get("skin"), data.get("hair"), data.get("left_eye"), data.get("right_eye"))


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees."""

    yaw: float
    pitch: float
    roll: float

    def to_json(self) -> dict[str, float]:
        return {"yaw": self.yaw, "pitch": self.pitch, "roll": self.roll}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Pose | None:
        if not data:
            return None
        return cls(float(data["yaw"]), float(data["pitch"]), float(data["roll"]))


Landmark = tuple[float, float, int]


def validate_landmarks(points: Any) -> tuple[Landmark, ...]:
    """68 × [x, y, v] (v in 0/1/2, COCO) → an immutable tuple; clear error otherwise."""
    if points is None:
        return ()
    fast = _validate_landmarks_fast(points)
    if fast is not None:
        return fast
    rows = [tuple(p) for p in points]
    if len(rows) == 0:
        return ()
    if len(rows) != 68:
        raise ValidationError(f"landmarks must be 68 points (iBUG-68), got {len(rows)}")
    out: list[Landmark] = []
    for i, row in enumerate(rows):
        if len(row) not in (2, 3):
            raise ValidationError(f"landmark {i} must be [x, y] or [x, y, v], got {list(row)!r}")
        x, y = float(row[0]), float(row[1])
        v = int(row[2]) if len(row) == 3 else int(Visibility.VISIBLE)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValidationError(f"landmark {i} is not finite: {list(row)!r}")
        if v not in (0, 1, 2):
            raise ValidationError(f"landmark {i} visibility must be 0, 1 or 2, got {v}")
        out.append((x, y, v))
    return tuple(out)


def _validate_landmarks_fast(points: Any) -> tuple[Landmark, ...] | None:
    """The common case (68 well-formed [x, y, v] rows) checked in one numpy pass: ~10× faster than the
    per-point loop, which matters because every `replace()` of a Face validates again. None: let the loop
    below find and name the problem."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (68, 3) or not np.isfinite(arr).all():
        return None
    v = arr[:, 2]
    if not ((v == 0) | (v == 1) | (v == 2)).all():
        return None
    return tuple(zip(arr[:, 0].tolist(), arr[:, 1].tolist(), v.astype(np.int64).tolist(), strict=True))


@dataclass(frozen=True)
class ImageRecord:
    """One imported cut. `cut_path` is relative to the project folder; originals are never touched."""

    id: int
    hash: str
    cut_path: str
    source_path: str
    title_id: str
    episode: str
    cut_index: int
    width: int
    height: int
    has_alpha: bool = False
    imported_at: str = ""
    domain: Domain = Domain.ANIME

    @property
    def name(self) -> str:
        return cut_name(self.title_id, self.episode, self.cut_index)


def cut_name(title_id: str, episode: str, cut_index: int) -> str:
    """The webtoon naming convention `<titleId>_<episode>_cut_<NNN>`."""
    return f"{title_id}_{episode}_cut_{cut_index:03d}"


def parse_score_features(data: Any) -> tuple[tuple[str, float], ...]:
    """{"name": value} (JSON) or pairs → the immutable pairs a Face keeps."""
    if not data:
        return ()
    items = data.items() if isinstance(data, dict) else data
    return tuple((str(k), float(v)) for k, v in items)


@dataclass(frozen=True)
class Face:
    """One face on one cut, in the cut's pixel coordinates."""

    image_id: int
    box: Box
    id: int | None = None
    score: float = 1.0
    source: FaceSource = FaceSource.DETECTOR
    status: FaceStatus = FaceStatus.UNREVIEWED
    sex: Sex = Sex.UNKNOWN
    sex_prob: float | None = None
    colors: Colors = field(default_factory=Colors)
    parts: Parts = field(default_factory=Parts)
    landmarks: tuple[Landmark, ...] = ()
    pose: Pose | None = None
    revision: int = 0
    updated_at: str = ""
    # Which finder proposed the face and from which model file (provenance; "" for hand-drawn faces and
    # faces detected before finders were recorded), its raw score on the finder's own scale and the
    # features its calibration used, kept so the calibration can be refitted from review decisions.
    finder: str = ""
    finder_model: str = ""
    finder_sha256: str = ""
    raw_score: float | None = None
    score_features: tuple[tuple[str, float], ...] = ()
    # Provenance, written by the store's edit methods (core/provenance.py): the fields a person set or
    # confirmed, and the landmark indices a person placed.
    human_fields: frozenset[str] = frozenset()
    human_points: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", FaceSource(self.source))
        object.__setattr__(self, "human_fields", frozenset(self.human_fields))
        object.__setattr__(self, "human_points", frozenset(int(i) for i in self.human_points))
        if not self.human_fields <= set(HUMAN_FIELDS):
            unknown = sorted(self.human_fields - set(HUMAN_FIELDS))
            raise ValidationError(f"unknown provenance field(s) {unknown}; known: {', '.join(HUMAN_FIELDS)}")
        object.__setattr__(self, "status", FaceStatus(self.status))
        object.__setattr__(self, "sex", Sex(self.sex))
        object.__setattr__(self, "landmarks", validate_landmarks(self.landmarks))
        if not (0.0 <= float(self.score) <= 1.0) or math.isnan(float(self.score)):
            raise ValidationError(f"face score must be within [0, 1], got {self.score!r}")
        if self.sex_prob is not None and not (0.0 <= float(self.sex_prob) <= 1.0):
            raise ValidationError(f"sex probability must be within [0, 1], got {self.sex_prob!r}")

    @property
    def edited_by_human(self) -> bool:
        """A person drew it or set/confirmed a field (recorded provenance, not the revision count)."""
        return self.source is FaceSource.HUMAN or bool(self.human_fields)

    def with_landmark(self, index: int, x: float, y: float, v: int | None = None) -> Face:
        if not self.landmarks:
            raise ValidationError("this face has no landmarks to move")
        if not 0 <= index < 68:
            raise ValidationError(f"landmark index must be 0–67, got {index}")
        points = list(self.landmarks)
        old = points[index]
        points[index] = (float(x), float(y), old[2] if v is None else int(v))
        return replace(self, landmarks=tuple(points))

    def to_json(self) -> dict[str, Any]:
        """A plain dict: what the edit log and exports store."""
        return {
            "id": self.id,
            "image_id": self.image_id,
            "box": self.box.to_list(),
            "score": self.score,
            "source": self.source.value,
            "status": self.status.value,
            "sex": self.sex.value,
            "sex_prob": self.sex_prob,
            "colors": self.colors.to_json(),
            "parts": self.parts.to_json(),
            "landmarks": [list(p) for p in self.landmarks],
            "pose": self.pose.to_json() if self.pose else None,
            "revision": self.revision,
            "updated_at": self.updated_at,
            "finder": self.finder,
            "finder_model": self.finder_model,
            "finder_sha256": self.finder_sha256,
            "raw_score": self.raw_score,
            "score_features": dict(self.score_features),
            "human_fields": sorted(self.human_fields),
            "human_points": sorted(self.human_points),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Face:
        try:
            return cls(
                id=data.get("id"),
                image_id=int(data["image_id"]),
                box=Box.from_list(data["box"]),
                score=float(data.get("score", 1.0)),
                source=FaceSource(data.get("source", "detector")),
                status=FaceStatus(data.get("status", "unreviewed")),
                sex=Sex(data.get("sex", "unknown")),
                sex_prob=data.get("sex_prob"),
                colors=Colors.from_json(data.get("colors")),
                parts=Parts.from_json(data.get("parts")),
                landmarks=validate_landmarks(data.get("landmarks")),
                pose=Pose.from_json(data.get("pose")),
                revision=int(data.get("revision", 0)),
                updated_at=str(data.get("updated_at", "")),
                finder=str(data.get("finder") or ""),
                finder_model=str(data.get("finder_model") or ""),
                finder_sha256=str(data.get("finder_sha256") or ""),
                raw_score=None if data.get("raw_score") is None else float(data["raw_score"]),
                score_features=parse_score_features(data.get("score_features")),
                human_fields=frozenset(data.get("human_fields") or ()),
                human_points=frozenset(data.get("human_points") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"not a valid face record: {exc}") from exc
