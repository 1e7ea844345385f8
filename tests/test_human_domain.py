"""Human face photos as domain A: import, detection by domain, .pts override, cyclegan export of both domains."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png
from skimage.data import astronaut

from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Domain, FaceStatus
from f2a_studio.core.pts import write_pts
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders import FINDERS, finders_for_domain
from f2a_studio.detect.pipeline import DetectOptions, detect_images


def photos(folder: Path) -> Path:
    write_png(folder / "astronaut.png", astronaut())
    write_png(folder / "wall.png", np.full((200, 300, 3), 120, np.uint8))  # no face
    small = astronaut()[::2, ::2].copy()  # other pixels, with a person's landmarks beside it
    write_png(folder / "small.png", small)
    write_pts(folder / "small.pts", [(60 + i % 17 * 4, 40 + i // 17 * 10) for i in range(68)])
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
    assert store.faces(by_name["small.png"].id) == [pts_face]  # the .pts face is kept, nothing added
    assert any("from its .pts file" in note for image_id, note in result.notes if image_id == by_name["small.png"].id)
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


FACE_KEYS = {"box", "score", "parts", "colors", "landmarks", "pose", "finder", "model", "sex", "sex_prob"}


def test_cli_import_and_detect_a_folder_of_photos(tmp_path: Path) -> None:
    """`f2a import --domain human` then `f2a detect`: the face is found, the photo without one is reported
    (a note, exit 0), and the .pts face stays as the person placed it."""
    import json

    from typer.testing import CliRunner

    from f2a_studio.cli import app

    project = tmp_path / "p"
    runner = CliRunner()
    res = runner.invoke(app, ["import", str(project), str(photos(tmp_path / "photos")), "--domain", "human",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["added"] == 3
    res = runner.invoke(app, ["detect", str(project), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["done"] == 3 and report["failed"] == []
    with ProjectStore.open(project, read_only=True) as store:
        by_name = {Path(r.source_path).name: r for r in store.images()}
        assert all(r.domain is Domain.HUMAN for r in by_name.values())
        (face,) = store.faces(by_name["astronaut.png"].id)
        assert face.finder == "photo" and face.status is FaceStatus.UNREVIEWED
        (pts_face,) = store.faces(by_name["small.png"].id)
        assert pts_face.landmarks[0][:2] == (60.0, 40.0) and pts_face.finder != "photo"  # the .pts wins
        assert store.faces(by_name["wall.png"].id) == []
        wall_id = by_name["wall.png"].id
    assert any(n["image_id"] == wall_id and "no face found" in n["note"] for n in report["notes"])
    assert report["faces"] == 1  # detection added the astronaut's face only


def test_cli_faces_runs_the_human_backend_on_photos_and_stays_anime_by_default(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from f2a_studio.cli import app

    folder = photos(tmp_path / "photos")
    files = [str(folder / "astronaut.png"), str(folder / "wall.png")]
    runner = CliRunner()
    res = runner.invoke(app, ["faces", *files, "--domain", "human", "--workers", "1"])
    assert res.exit_code == 0, res.output
    astro, wall = json.loads(res.stdout)
    (face,) = astro["faces"]
    assert set(face) == FACE_KEYS and face["finder"] == "photo" and len(face["landmarks"]) == 68
    assert Box(*face["box"]).iou(Box(176.0, 68.0, 99.0, 99.0)) > 0.5
    assert face["sex"] == "unknown" and face["sex_prob"] is None  # the anime sex classifier is not run on photos
    assert wall["faces"] == [] and "error" not in wall
    assert "no face found" in " ".join(res.stderr.split())  # the note goes to stderr, stdout stays JSON
    res = runner.invoke(app, ["faces", files[0], "--domain", "human", "--workers", "1", "--jsonl"])
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[0])["faces"][0]["finder"] == "photo"
    res = runner.invoke(app, ["faces", files[0], "--workers", "1"])  # the default: the anime finders
    assert res.exit_code == 0, res.output
    assert all(f["finder"] != "photo" for f in json.loads(res.stdout)[0]["faces"])
    res = runner.invoke(app, ["faces", files[0], "--domain", "photo"])
    assert res.exit_code == 2 and "unknown domain 'photo'" in res.output
