from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.errors import ProjectError
from f2a_studio.core.imageio import content_hash, read_image
from f2a_studio.core.store import ProjectStore
from f2a_studio.synth.sample_project import make_sample_project, read_truth


def test_sample_project_is_deterministic_and_truth_maps_onto_cuts(tmp_path: Path) -> None:
    a = make_sample_project(tmp_path / "a", scenes=6, seed=3)
    b = make_sample_project(tmp_path / "b", scenes=6, seed=3)
    assert a.faces > 0 and a.cuts >= 6
    truth_a, truth_b = read_truth(a.project), read_truth(b.project)
    assert truth_a == truth_b
    with ProjectStore.open(a.project, read_only=True) as store:
        records = {r.name: r for r in store.images()}
        assert sorted(records) == sorted(r.name for r in ProjectStore.open(b.project, read_only=True).images())
        for line in truth_a:
            record = records[line["cut"]]
            x, y, w, h = line["box"]
            cx, cy = x + w / 2, y + h / 2
            assert 0 <= cx <= record.width and 0 <= cy <= record.height
            assert len(line["landmarks"]) == 68 and line["sex"] in ("female", "male")
        for record in records.values():  # cut files hold exactly the hashed pixels
            assert content_hash(read_image(store.cut_file(record))) == record.hash


def test_sample_refuses_an_existing_project(tmp_path: Path) -> None:
    make_sample_project(tmp_path / "p", scenes=1, seed=0)
    with pytest.raises(ProjectError, match="already holds a project"):
        make_sample_project(tmp_path / "p", scenes=1, seed=0)


def test_sample_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "s"), "--scenes", "2", "--seed", "5", "--no-detect"])
    assert result.exit_code == 0, result.output
    stats = json.loads(CliRunner().invoke(app, ["info", str(tmp_path / "s"), "--json"]).stdout)
    assert stats["images"] >= 2
    bad = CliRunner().invoke(app, ["sample", str(tmp_path / "t"), "--scenes", "0"])
    assert bad.exit_code == 2 and "--scenes" in bad.output
