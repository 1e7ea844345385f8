"""The shipped demo generators: each loads through the preview engine from the package's models folder and
draws a face of its size; the style model really maps one drawing style to the other."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from f2a_studio.preview import Engine, EngineOptions, GeneratorKind, PreviewRequest
from f2a_studio.preview.catalog import DEFAULT_MODEL, CatalogEntry, find_generators
from f2a_studio.preview.loader import is_generator_file
from f2a_studio.synth.background import draw_background
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose

ROOT = Path(__file__).resolve().parents[1]
TORCH_ONLY = EngineOptions(runtimes=("torch",), warmup=1, measure=1)


def shipped() -> list[CatalogEntry]:
    return [e for e in find_generators(None) if e.origin == "shipped"]


def header_metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return json.loads((handle.metadata() or {})["f2a_trainer"]).get("metadata", {})


def style_models() -> list[CatalogEntry]:
    """Shipped models whose header names the two drawing styles they were trained on (tools/ship_generator.py
    --meta source_style=… --meta target_style=…)."""
    return [e for e in shipped() if {"source_style", "target_style"} <= set(header_metadata(e.path))]


def make_style_pairs():
    spec = importlib.util.spec_from_file_location("make_style_pairs", ROOT / "tools" / "make_style_pairs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cut_face() -> tuple[np.ndarray, np.ndarray]:
    """A synthetic anime character on a background: (cut pixels, 68 [x, y, v] landmarks)."""
    rng = np.random.default_rng(5)
    image = np.empty((400, 340, 3), np.uint8)
    draw_background(rng, image)
    truth = draw_character(image, sample_character(rng), Pose(170, 180, 130))
    return image, np.column_stack([np.array(truth.landmarks), np.array(truth.visibility, float)])


def test_the_catalog_ships_two_demo_generators_each_with_a_card() -> None:
    entries = shipped()
    names = [e.path.name for e in entries]
    assert DEFAULT_MODEL in names and len(entries) >= 2, names
    assert style_models(), "no shipped style model names its drawing styles"
    for entry in entries:
        assert is_generator_file(entry.path)
        assert entry.path.with_suffix(".md").is_file(), f"{entry.path.name} has no model card"
        assert entry.title and entry.title in entry.label  # the picker says what it does, not just a file name
    assert len({e.label for e in entries}) == len(entries)


@pytest.mark.parametrize("entry", shipped(), ids=lambda e: e.path.stem)
def test_each_shipped_generator_runs_in_the_engine_at_its_size(entry: CatalogEntry, cut_face) -> None:
    engine = Engine.load(entry.path, TORCH_ONLY)
    try:
        image, landmarks = cut_face
        # what the dock sends: the landmarks, plus the cut for a face → anime model
        image_in = image if engine.spec.kind is GeneratorKind.FACE else None
        result = engine.render(PreviewRequest(landmarks=landmarks, image=image_in))
    finally:
        engine.unload()
    size = engine.spec.size
    assert result.error is None
    assert result.input.shape == (size, size, 3) and result.output.shape == (size, size, 3)
    assert result.output.dtype == np.uint8
    assert result.output.std() > 5  # a drawn face, not a flat fill


@pytest.mark.parametrize("entry", style_models(), ids=lambda e: e.path.stem)
def test_the_style_model_draws_the_target_style_of_the_same_character(entry: CatalogEntry) -> None:
    """On characters it never saw, the output is nearer the target-style drawing of that character than the
    source drawing it was given: it learned the mapping, not the identity."""
    meta = header_metadata(entry.path)
    engine = Engine.load(entry.path, TORCH_ONLY)
    style_pair = make_style_pairs().style_pair
    rng = np.random.default_rng(2026)  # not the training seed (11)
    to_target, to_source, unchanged = [], [], []
    try:
        assert engine.spec.kind is GeneratorKind.FACE
        for _ in range(12):
            source, target = style_pair(rng, meta["source_style"], meta["target_style"], engine.spec.size)
            out = engine.render(PreviewRequest(image=source)).output.astype(np.float64)
            to_target.append(np.abs(out - target).mean())
            to_source.append(np.abs(out - source).mean())
            unchanged.append(np.abs(source.astype(np.float64) - target).mean())
    finally:
        engine.unload()
    assert np.mean(to_target) < np.mean(to_source), (to_target, to_source)
    # a blur of the source also drifts towards the flatter target: beating the unchanged input rules that out
    assert np.mean(to_target) < np.mean(unchanged), (to_target, unchanged)
