"""Human face photos as domain A: import, detection by domain, .pts override, cyclegan export of both domains."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png
from skimage.data import astronaut

from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Domain, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders import FINDERS, finders_for_domain
from f2a_studio.detect.pipeline import DetectOptions, detect_images


def photos(folder: Path) -> Path:
    write_png(folder / "astronaut.png", astronaut())
    write_png(folder / "wall.png", np.full((200, 300, 3), 120, np.uint8))  # no face
    small = astronaut()[::2, ::2].copy()  # other pixels, with a person's landmarks beside it
    write_png(folder / "small.png", small)
    pts = "\n".join(f"{60 + i % 17 * 4} {40 + i // 17 * 10}" for i in range(68))
    (folder / "small.pts").write_text(f"version: 1\nn_points: 68\n{{\n{pts}\n}}\n")
    return folder


def test_the_domain_chooses_the_finders() -> None:
    assert finders_for_domain(list(FINDERS), "human") == ["photo"]
    assert "photo" not in finders_for_domain(list(FINDERS), "anime")
    assert "animeface" in finders_for_domain(list(FINDERS), "anime")


def test_photos_import_as_domain_a_are_found_and_pts_wins(tmp_path: Path) -> None:
    store = ProjectStore.create(tmp_path / "p")
    report = import_sources(store, [photos(tmp_path / "photos")], domain="human")
    assert len(report.added) == 3 and all(r.domain is Domain.HUMAN for r in store.images())
    by_name = {r.source_path.split("/")[-1]: r for r in store.images()}
    (pts_face,) = store.faces(by_name["small.png"].id)
    assert pts_face.landmarks[0][:2] == (60.0, 40.0) and "landmarks" in pts_face.human_fields
    result = detect_images(store, None, DetectOptions(workers=1))
    assert not result.failed
    (face,) = store.faces(by_name["astronaut.png"].id)
    assert face.finder == "photo" and len(face.landmarks) == 68
    assert face.box.iou(replace(face.box, x=176.0, y=68.0, w=99.0, h=99.0)) > 0.5
    assert store.faces(by_name["small.png"].id)[0].landmarks == pts_face.landmarks  # the .pts face is kept
    assert store.faces(by_name["wall.png"].id) == []
    assert any("no face found" in note for image_id, note in result.notes if image_id == by_name["wall.png"].id)
    store.close()


def test_cyclegan_export_has_both_domains_with_equal_geometry(tmp_path: Path) -> None:
    from PIL import Image

    from f2a_studio.export.plan import ExportOptions, plan_export
    from f2a_studio.export.runner import run_export
    from f2a_studio.gui.demo import make_demo_project

    project = make_demo_project(tmp_path / "p", cuts=2, faces_per_cut=(1,), size=(300, 400), durability="normal")
    store = ProjectStore.open(project)
    import_sources(store, [photos(tmp_path / "photos")], domain="human")
    for face in store.all_faces():
        store.update_face(replace(face, status=FaceStatus.ACCEPTED))
    plan = plan_export(store, ExportOptions(format="cyclegan", size=128, ratios=(1, 0, 0)))
    run_export(plan, tmp_path / "out")
    a = sorted((tmp_path / "out" / "trainA").glob("*.png"))
    b = sorted((tmp_path / "out" / "trainB").glob("*.png"))
    assert a and b
    assert {Image.open(p).size for p in a + b} == {(128, 128)}
    assert plan_export(store, ExportOptions(format="pix2pix")).counts()["excluded_by_reason"].get("domain") == 1
    store.close()


def test_mediapipe_landmarks_when_installed() -> None:
    from f2a_studio.detect.landmarks.mediapipe_mesh import MediaPipeBackend, model_file

    if model_file() is None:
        pytest.skip("mediapipe<=0.10.21 (with its face mesh model) is not installed: " + MediaPipeBackend.problem())
    from f2a_studio.core.models import Box, Parts

    backend = MediaPipeBackend()
    backend.load()
    points = backend.predict(astronaut(), Box(176, 68, 99, 99), Parts()).points
    assert points.shape == (68, 2) and 190 < points[36, 0] < points[45, 0] < 265
