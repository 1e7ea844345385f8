"""Test data for the export tests (no tests here): small projects of synthetic faces with exact truth.

Panels are drawn with f2a_studio.synth, saved as PNG named like webtoon cuts, imported with the real
importer, and their faces added from the ground truth as accepted faces with landmarks. Test modules
import the fixtures by their function names (`project_fixture`, `big_project_fixture`) and request
them as `project` / `big_project`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Colors, Face, FaceStatus, Pose
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import SplitOptions
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose as SynthPose

PANEL_W, PANEL_H = 480, 360


@dataclass(frozen=True)
class BuiltProject:
    root: Path
    faces: list[Face]


def draw_panel(rng: np.random.Generator, n_faces: int, *, alpha: bool = False) -> tuple[np.ndarray, list]:
    """One panel with `n_faces` characters side by side; RGBA with a transparent background if `alpha`."""
    bg = np.array([int(v) for v in rng.integers(150, 240, size=3)], np.uint8)
    img = np.empty((PANEL_H, PANEL_W, 3), np.uint8)
    img[:] = bg
    truths = []
    step = PANEL_W / n_faces
    for k in range(n_faces):
        pose = SynthPose(
            cx=step * (k + 0.5) + rng.uniform(-8, 8),
            cy=150 + rng.uniform(-10, 10),
            scale=float(rng.uniform(70, 95)) * min(1.0, 2.2 / n_faces),
            yaw_deg=float(rng.uniform(-20, 20)),
            pitch_deg=float(rng.uniform(-8, 8)),
            roll_deg=float(rng.uniform(-12, 12)),
        )
        truths.append(draw_character(img, sample_character(rng), pose))
    if not alpha:
        return img, truths
    a = np.where(np.any(img != bg, axis=2), 255, 0).astype(np.uint8)
    return np.dstack([img, a]), truths


def face_from_truth(truth, image_id: int, status: FaceStatus = FaceStatus.ACCEPTED, score: float = 0.9) -> Face:
    return Face(
        image_id=image_id,
        box=Box(*truth.box),
        score=score,
        status=status,
        sex=truth.sex,
        sex_prob=0.8,
        colors=Colors(**truth.colors),
        landmarks=tuple((float(x), float(y), int(v)) for x, y, v in truth.keypoints()),
        pose=Pose(truth.yaw_deg, truth.pitch_deg, truth.roll_deg),
    )


def build_project(
    root: Path,
    *,
    titles: tuple[str, ...] = ("111", "222"),
    episodes: int = 3,
    cuts: int = 2,
    faces_per_cut: int = 2,
    seed: int = 0,
    alpha: bool = False,
) -> BuiltProject:
    rng = np.random.default_rng(seed)
    sources = root.parent / f"{root.name}-sources"
    sources.mkdir(parents=True, exist_ok=True)
    truth_by_name: dict[str, list] = {}
    for title in titles:
        for ep in range(1, episodes + 1):
            for cut in range(1, cuts + 1):
                name = f"{title}_{ep}_cut_{cut:03d}"
                pixels, truths = draw_panel(rng, faces_per_cut, alpha=alpha)
                code = cv2.COLOR_RGBA2BGRA if alpha else cv2.COLOR_RGB2BGR
                cv2.imwrite(str(sources / f"{name}.png"), cv2.cvtColor(pixels, code))
                truth_by_name[name] = truths
    faces: list[Face] = []
    with ProjectStore.create(root, durability="normal") as store:
        report = import_sources(store, [sources], split=SplitOptions(min_aspect=float("inf")))
        assert not report.problems, report.problems
        for record in store.images():
            added = store.add_faces([face_from_truth(t, record.id) for t in truth_by_name[record.name]])
            faces.extend(added)
    return BuiltProject(root, faces)


_BUILT: dict[str, BuiltProject] = {}  # one build per test session, shared by every module importing this


def _shared(factory: pytest.TempPathFactory, key: str, **options) -> BuiltProject:
    if key not in _BUILT:
        _BUILT[key] = build_project(factory.mktemp(key) / "project", **options)
    return _BUILT[key]


@pytest.fixture(scope="module", name="project")
def project_fixture(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """24 accepted faces: titles 111 and 222, 3 episodes each, 2 cuts of 2 faces. Do not modify."""
    return _shared(tmp_path_factory, "export")


@pytest.fixture(scope="module", name="big_project")
def big_project_fixture(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """48 faces: enough for the export to start worker processes. Do not modify."""
    return _shared(tmp_path_factory, "export-big", cuts=4, seed=1)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path (to compare two exports byte for byte)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
