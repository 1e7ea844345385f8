"""Filters and the dry run: which faces an export takes, and the reason for each one it leaves out."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from test_export_data import build_project

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.models import FaceStatus, Pose, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, FaceFilter, plan_export


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    """12 faces, then edited so each filter has something to leave out."""
    built = build_project(tmp_path_factory.mktemp("filters") / "project", titles=("5", "6"), episodes=2, cuts=1,
                          faces_per_cut=3, seed=9)
    with ProjectStore.open(built.root) as store:
        faces = store.all_faces()
        edits = {
            0: {"status": FaceStatus.UNREVIEWED},
            1: {"status": FaceStatus.REJECTED},
            2: {"score": 0.3},
            3: {"sex": Sex.MALE},
            4: {"sex": Sex.FEMALE},
            5: {"pose": Pose(45.0, 0.0, 0.0)},
            6: {"pose": None},
            7: {"landmarks": ()},
        }
        for index, change in edits.items():
            store.update_face(replace(faces[index], **change))
        # not alignable: both eyes not labelled
        face = store.face(faces[8].id)
        points = [(x, y, 0 if 36 <= i < 48 else v) for i, (x, y, v) in enumerate(face.landmarks)]
        store.update_face(replace(face, landmarks=tuple(points)))
        return built.root, [store.face(f.id) for f in faces]


def plan(root, **filters):
    with ProjectStore.open(root, read_only=True) as store:
        return plan_export(store, ExportOptions(filters=FaceFilter(**filters)))


def codes(p) -> dict[int, str]:
    return {e.face_id: e.code for e in p.excluded}


def test_default_takes_accepted_alignable_faces_and_says_why_others_are_out(varied):
    root, faces = varied
    p = plan(root)
    assert codes(p) == {faces[0].id: "status", faces[1].id: "status", faces[7].id: "no_landmarks",
                        faces[8].id: "not_alignable"}
    assert len(p.items) == 8
    lines = "\n".join(p.dry_run_lines())
    assert "status unreviewed (wanted accepted)" in lines and "status rejected" in lines
    assert "no landmarks" in lines and "left eye landmarks are not labelled" in lines
    assert "left out by reason: no_landmarks 1, not_alignable 1, status 2" in lines
    with ProjectStore.open(root, read_only=True) as store:
        coco = plan_export(store, ExportOptions(format="coco"))
    assert faces[7].id in {it.face.id for it in coco.items}  # coco needs no landmarks


def test_each_filter_leaves_out_its_faces(varied):
    root, faces = varied
    assert faces[2].id in codes(plan(root, min_score=0.5)) and codes(plan(root, min_score=0.5))[faces[2].id] == "score"
    small = min(min(f.box.w, f.box.h) for f in faces[2:7])
    assert "size" in codes(plan(root, min_size=small + 0.5)).values()
    by_sex = codes(plan(root, sexes=("female",)))
    assert by_sex[faces[3].id] == "sex" and faces[4].id not in by_sex
    by_pose = codes(plan(root, max_abs_yaw=30))
    assert by_pose[faces[5].id] == "pose" and by_pose[faces[6].id] == "no_pose"
    assert "|yaw| 45° > 30°" in "\n".join(plan(root, max_abs_yaw=30).dry_run_lines())
    only5 = plan(root, titles=("5",))
    assert {it.image.title_id for it in only5.items} == {"5"} and "title" in codes(only5).values()
    ep = plan(root, episodes=("6_2",))
    assert {(it.image.title_id, it.image.episode) for it in ep.items} == {("6", "2")}
    any_title = plan(root, episodes=("2",))
    assert {(it.image.title_id, it.image.episode) for it in any_title.items} == {("5", "2"), ("6", "2")}
    both = plan(root, statuses=("accepted", "unreviewed", "rejected"))
    assert faces[0].id in {it.face.id for it in both.items} and faces[1].id in {it.face.id for it in both.items}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statuses": ("maybe",)}, "statuses"),
        ({"statuses": ()}, "at least one status"),
        ({"sexes": ("other",)}, "sexes"),
        ({"min_score": 2.0}, "min_score"),
        ({"min_size": -1}, "min_size"),
        ({"max_abs_yaw": float("nan")}, "max_abs_yaw"),
    ],
)
def test_bad_filters_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        FaceFilter(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "png"}, "unknown export format 'png'"),
        ({"size": 300}, "power of two"),
        ({"margin": -0.1}, "margin"),
        ({"ratios": (1, -1, 0)}, "ratios"),
        ({"background": "green"}, "background"),
        ({"split_by": "cut"}, "split_by"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        ExportOptions(**kwargs)


def test_filters_round_trip_through_json():
    f = FaceFilter(statuses=("rejected", "accepted"), min_score=0.2, sexes=("male",), max_abs_roll=10,
                   episodes=("1_2",))
    assert FaceFilter.from_json(json.loads(json.dumps(f.to_json()))) == f
    assert f.statuses == ("accepted", "rejected")  # sorted: the manifest does not depend on the order given


def test_cli_dry_run_lists_faces_and_reasons_and_writes_nothing(varied, tmp_path):
    root, faces = varied
    out = tmp_path / "never"
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(root), str(out), "--dry-run",
                           "--sex", "female", "--min-score", "0.5"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"- face {faces[3].id}" in done.stdout and "sex male (wanted female)" in done.stdout
    assert "score 0.30 < 0.50" in done.stdout and "split by episode (seed 0)" in done.stdout
    assert not out.exists()
    done = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(root), str(out), "--dry-run",
                           "--json"], capture_output=True, text=True, timeout=120)
    data = json.loads(done.stdout)
    assert data["counts"]["faces"] == 8 and data["counts"]["excluded_by_reason"]["status"] == 2
    bad = subprocess.run([sys.executable, "-m", "f2a_studio.cli", "export", str(root), str(out), "--size", "100"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "power of two" in bad.stderr
