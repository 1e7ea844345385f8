"""What the preview's model picker offers: generator files on the search path, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from f2a_studio.preview.catalog import find_generators


def weights(path: Path, header: dict[str, str] | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"G.w": torch.zeros(2)}, str(path), metadata=header)
    return path


def test_picker_lists_trainer_checkpoints_and_onnx_files_in_search_order(tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "project" / "checkpoints"
    old = weights(project / "run-a" / "checkpoints" / "step-00000010.safetensors", {"f2a_trainer": "{}"})
    new = weights(project / "run-b" / "checkpoints" / "step-00000020.safetensors", {"f2a_trainer": "{}"})
    os.utime(old, (1_000_000, 1_000_000))
    weights(project / "finder" / "learned.safetensors", {"kind": "finder"})  # another backend's model
    weights(project / ".run-c.f2a-partial-1" / "step-1.safetensors", {"f2a_trainer": "{}"})  # being written
    (project / "broken.safetensors").write_bytes(b"junk")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "g.onnx").write_bytes(b"")  # listed by name: loading says what is wrong with it
    monkeypatch.setenv("F2A_MODELS", str(extra))
    entries = [e for e in find_generators(project) if e.origin != "shipped"]
    assert [(e.path, e.origin) for e in entries] == [(new, "project"), (old, "project"), (extra / "g.onnx",
                                                                                            "F2A_MODELS")]
    assert entries[0].label == "run-b/step-00000020.safetensors (project)"
    monkeypatch.delenv("F2A_MODELS")
    assert all(e.origin in ("project", "shipped") for e in find_generators(project))
    assert [e for e in find_generators(None) if e.origin == "project"] == []


def test_the_studio_starts_and_lists_models_without_importing_torch(tmp_path: Path) -> None:
    """torch takes seconds to import: the window and the model picker must not need it (loading a model does)."""
    import subprocess
    import sys

    weights(tmp_path / "run" / "checkpoints" / "step-00000001.safetensors", {"f2a_trainer": "{}"})
    code = ("import sys; import f2a_studio.gui.main_window; from f2a_studio.preview.catalog import find_generators; "
            f"found = find_generators(__import__('pathlib').Path({str(tmp_path)!r})); "
            "assert any(e.origin == 'project' for e in found), found; "
            "print(sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_first_model_is_the_projects_own_else_the_shipped_keypoints_demo(tmp_path: Path, monkeypatch) -> None:
    from f2a_studio.preview.catalog import DEFAULT_MODEL, default_entry

    extra = weights(tmp_path / "extra" / "other.safetensors", {"f2a_trainer": "{}"})
    monkeypatch.setenv("F2A_MODELS", str(extra.parent))
    project = tmp_path / "project" / "checkpoints"
    project.mkdir(parents=True)
    entries = find_generators(project)
    assert entries[0].path == extra  # F2A_MODELS comes before the shipped folder...
    chosen = default_entry(entries)
    assert chosen is not None and chosen.origin == "shipped" and chosen.path.name == DEFAULT_MODEL  # ...not first
    own = weights(project / "run" / "checkpoints" / "step-00000005.safetensors", {"f2a_trainer": "{}"})
    assert default_entry(find_generators(project)).path == own  # trained for this project: it wins
    assert default_entry([]) is None


def test_a_model_card_names_the_model_in_the_picker(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "extra"
    carded = weights(folder / "a.safetensors", {"f2a_trainer": "{}"})
    carded.with_suffix(".md").write_text("# a (sketch → colour, 64²)\n\nbody\n", encoding="utf-8")
    weights(folder / "b.safetensors", {"f2a_trainer": "{}"}).with_suffix(".md").write_text("no heading\n")
    monkeypatch.setenv("F2A_MODELS", str(folder))
    labels = {e.path.name: e.label for e in find_generators(None) if e.origin == "F2A_MODELS"}
    assert labels["a.safetensors"] == "sketch → colour, 64² (F2A_MODELS)"
    assert labels["b.safetensors"].endswith("/extra/b.safetensors (F2A_MODELS)")  # no heading: its path
