"""What a detection run hands back: per image, its faces or the reason it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from f2a_studio.core.models import Colors, Face


@dataclass(frozen=True)
class ImageResult:
    """One image's outcome. `faces` are in the image's original pixels; their `image_id` is the project
    image id (0 for loose files). `error` is set, and `faces` empty, when the image could not be done."""

    key: Any  # the project image id, or the index of a loose file
    path: str
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    faces: tuple[Face, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "small-face pass skipped on 2 of 5 tiles (time budget)"
    landmark_backend: str = ""
    detector_colors: tuple[Colors, ...] = ()  # the finders' own colours, parallel to `faces` (diagnostics)
    finders: tuple[str, ...] = ()  # the finders that ran

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The `f2a faces` schema: one object per image, boxes and points in original pixels."""
        out: dict[str, Any] = {
            "image": self.path,
            "width": self.width,
            "height": self.height,
            "seconds": round(self.seconds, 3),
            "finders": list(self.finders),  # which ran: the project's own finder shows here (--project)
        }
        if self.error is not None:
            out["error"] = self.error
            out["faces"] = []
            return out
        out["faces"] = [face_json(f) for f in self.faces]
        return out


def face_json(face: Face) -> dict[str, Any]:
    return {
        "box": [round(v, 2) for v in face.box.to_list()],
        "score": round(face.score, 4),
        "parts": _rounded(face.parts.to_json()),
        "colors": face.colors.to_json(),
        "landmarks": [[round(x, 2), round(y, 2), int(v)] for x, y, v in face.landmarks],
        "pose": {k: round(v, 2) for k, v in face.pose.to_json().items()} if face.pose else None,
        "sex": face.sex.value,  # predicted (the sex classifier) unless a person set it
        "sex_prob": face.sex_prob,
        "finder": face.finder,
        "model": {"name": face.finder_model, "sha256": face.finder_sha256} if face.finder_model else None,
    }


def _rounded(parts: dict[str, Any]) -> dict[str, Any]:
    return {k: [round(float(v), 2) for v in val] if val is not None else None for k, val in parts.items()}


@dataclass
class DetectReport:
    """A run over a project: what was done, what failed and why, whether it was stopped."""

    total: int = 0  # images this run was asked to do
    done: int = 0  # images with a result written (faces or none)
    skipped: int = 0  # already detected earlier (resume)
    faces: int = 0  # faces written
    failed: list[tuple[int, str]] = field(default_factory=list)  # (image id, reason)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (image id, note), e.g. a pass cut short
    stopped: bool = False
    seconds: float = 0.0
    landmark_backend: str = ""
    # set by the callers that adapt the landmark model afterwards (landmarks.auto_adapt.adapt_if_due)
    landmark_adaptation: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "total": self.total,
            "done": self.done,
            "skipped": self.skipped,
            "faces": self.faces,
            "failed": [{"image_id": i, "error": e} for i, e in self.failed],
            "notes": [{"image_id": i, "note": n} for i, n in self.notes],
            "stopped": self.stopped,
            "seconds": round(self.seconds, 2),
            "landmark_backend": self.landmark_backend,
        }
        return out | ({"landmark_adaptation": self.landmark_adaptation} if self.landmark_adaptation else {})
