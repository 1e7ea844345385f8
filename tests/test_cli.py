from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from conftest import noise_image, strip_with_panels, write_png
from typer.testing import CliRunner

from f2a_studio.cli import app

runner = CliRunner()


def test_import_then_info_json(tmp_path: Path) -> None:
    strip, spans = strip_with_panels([200, 300], width=200, gutter=60)
    write_png(tmp_path / "src" / "555_3_strip.png", strip)
    (tmp_path / "src" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    project = tmp_path / "proj"
    result = runner.invoke(app, ["import", str(project), str(tmp_path / "src"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == len(spans) and report["files"] == 2
    assert report["problems"][0]["path"].endswith("broken.png")
    info = runner.invoke(app, ["info", str(project), "--json"])
    assert info.exit_code == 0
    stats = json.loads(info.stdout)
    assert stats["images"] == 2 and stats["titles"] == ["555"]
    assert stats["episodes"] == [{"title_id": "555", "episode": "3", "images": 2, "faces": 0}]


def test_import_exits_nonzero_when_every_file_failed(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("text")
    result = runner.invoke(app, ["import", str(tmp_path / "proj"), str(tmp_path / "a.png")])
    assert result.exit_code == 1
    assert "a.png" in result.output and "text" in result.output


def test_info_on_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an F2A project" in result.output


def test_info_works_while_another_program_writes(tmp_path: Path) -> None:
    from f2a_studio.core.store import ProjectStore

    write_png(tmp_path / "x.png", noise_image(np.random.default_rng(0), 30, 30))
    with ProjectStore.create(tmp_path / "p") as writer:
        from f2a_studio.core.importer import import_sources

        import_sources(writer, [tmp_path / "x.png"])
        result = runner.invoke(app, ["info", str(tmp_path / "p"), "--json"])
        assert result.exit_code == 0 and json.loads(result.stdout)["images"] == 1


def test_console_scripts_are_installed() -> None:
    exe = shutil.which("f2a") or str(Path(__import__("sys").executable).parent / "f2a")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for command in ("import", "info", "sample", "studio"):
        assert command in out.stdout
