"""The studio's preferences (QSettings): recent projects, theme, threshold, layers, window layout.

Preferences are view state only, never project data. `F2A_SETTINGS_FILE` points them at an INI file
(tests and screenshots use a throw-away one so they neither read nor change the user's).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from f2a_studio.gui.canvas.layers import Layers

MAX_RECENT = 10
DEFAULT_FACE_FILL = 0.4  # a 30 px face shows at ~340 px in a 860 px high view: lids and lips can be placed
NO_PREVIEW_MODEL = "none"  # the user chose no generator: remembered, so the default does not come back
DEFAULT_THRESHOLD = 0.3  # detect.analyze.DEFAULT_THRESHOLD: by default the slider hides nothing the detector kept


@dataclass(frozen=True)
class ProjectPlace:
    """Where the user was in one project: reopened there (view state, so preferences, not project data)."""

    image_id: int | None = None
    face_id: int | None = None
    cut_filter: str = ""  # a CutFilter value; "" for the default
    search: str = ""


def _project_key(root: Path) -> str:
    # A hash of the resolved path: QSettings keys cannot hold every character a path can.
    return "projects/" + hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:16]


class StudioSettings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        if qsettings is None:
            path = os.environ.get("F2A_SETTINGS_FILE")
            qsettings = QSettings(path, QSettings.Format.IniFormat) if path else QSettings("F2A", "F2A Studio")
        self.q = qsettings

    @classmethod
    def in_file(cls, path: Path) -> StudioSettings:
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    # ------------------------------------------------------------ recent projects

    def recent_projects(self) -> list[Path]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [Path(p) for p in (value or [])]

    def add_recent(self, path: Path) -> None:
        path = Path(path).resolve()
        items = [p for p in self.recent_projects() if p != path]
        self.q.setValue("recent", [str(p) for p in [path, *items][:MAX_RECENT]])

    # ------------------------------------------------------------ view preferences

    def _get(self, key: str, default: object, kind: type) -> object:
        value = self.q.value(key, default)
        try:
            if kind is bool and isinstance(value, str):
                return value.lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    @property
    def theme(self) -> str:
        value = str(self._get("theme", "dark", str))
        return value if value in ("light", "dark") else "dark"

    @theme.setter
    def theme(self, value: str) -> None:
        self.q.setValue("theme", value)

    @property
    def threshold(self) -> float:
        return min(1.0, max(0.0, float(self._get("threshold", DEFAULT_THRESHOLD, float))))  # type: ignore[arg-type]

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.q.setValue("threshold", float(value))

    @property
    def advance_after_review(self) -> bool:
        return bool(self._get("advance", True, bool))

    @advance_after_review.setter
    def advance_after_review(self, value: bool) -> None:
        self.q.setValue("advance", bool(value))

    @property
    def zoom_to_face(self) -> bool:
        """Space zooms to the face it selects (and Esc returns to the view before)."""
        return bool(self._get("review/zoom_to_face", True, bool))

    @zoom_to_face.setter
    def zoom_to_face(self, value: bool) -> None:
        self.q.setValue("review/zoom_to_face", bool(value))

    @property
    def face_fill(self) -> float:
        """How much of the view's shorter side a face zoomed to by Space fills (0.05–1)."""
        value = float(self._get("review/face_fill", DEFAULT_FACE_FILL, float))  # type: ignore[arg-type]
        return min(1.0, max(0.05, value)) if value == value else DEFAULT_FACE_FILL

    @face_fill.setter
    def face_fill(self, value: float) -> None:
        self.q.setValue("review/face_fill", float(value))

    @property
    def layers(self) -> Layers:
        defaults = asdict(Layers())
        return Layers(**{k: bool(self._get(f"layers/{k}", v, bool)) for k, v in defaults.items()})

    @layers.setter
    def layers(self, value: Layers) -> None:
        for key, flag in asdict(value).items():
            self.q.setValue(f"layers/{key}", bool(flag))

    @property
    def preview_model(self) -> str:
        """The generator last picked in the preview dock: a path, NO_PREVIEW_MODEL for an explicit "none",
        or "" when the user never picked one (the dock then shows the shipped default)."""
        return str(self._get("preview/model", "", str))

    @preview_model.setter
    def preview_model(self, value: str) -> None:
        self.q.setValue("preview/model", str(value))

    # ------------------------------------------------------------ where the user was, per project

    def project_place(self, root: Path) -> ProjectPlace:
        key = _project_key(root)

        def number(name: str) -> int | None:
            value = self._get(f"{key}/{name}", -1, int)
            return value if isinstance(value, int) and value >= 0 else None

        return ProjectPlace(number("image"), number("face"), str(self._get(f"{key}/filter", "", str)),
                            str(self._get(f"{key}/search", "", str)))

    def save_project_place(self, root: Path, place: ProjectPlace) -> None:
        key = _project_key(root)
        self.q.setValue(f"{key}/image", -1 if place.image_id is None else int(place.image_id))
        self.q.setValue(f"{key}/face", -1 if place.face_id is None else int(place.face_id))
        self.q.setValue(f"{key}/filter", place.cut_filter)
        self.q.setValue(f"{key}/search", place.search)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.q.value("window/geometry"), self.q.value("window/state")  # type: ignore[return-value]

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def sync(self) -> None:
        self.q.sync()
