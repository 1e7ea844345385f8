"""`f2a sample`: a ready project of synthetic webtoon strips, imported the way a user would import real ones,
with the exact ground truth of every face (in cut coordinates) in PROJECT/truth.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import ProjectError
from f2a_studio.core.imageio import content_hash, save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.store import ProjectStore, is_project
from f2a_studio.core.strips import SplitOptions, find_cuts
from f2a_studio.synth.strip import make_strip

SOURCES_DIR = "sources"
TRUTH_NAME = "truth.jsonl"
PANELS_PER_STRIP = 4
TITLES = ("700101", "700202", "700303")  # NAVER-style numeric title ids

SampleProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SampleSummary:
    project: Path
    strips: int
    cuts: int
    faces: int
    truth_path: Path


def episode_plan(n_strips: int) -> list[tuple[str, int]]:
    """(title, episode) per strip: titles take turns, so every title gets several episodes for the splits."""
    return [(TITLES[i % len(TITLES)], i // len(TITLES) + 1) for i in range(n_strips)]


def make_sample_project(
    project: Path | str,
    *,
    scenes: int = 24,
    seed: int = 0,
    width: int = 690,
    progress: SampleProgress | None = None,
) -> SampleSummary:
    root = Path(project)
    if is_project(root):
        raise ProjectError(f"{root} already holds a project; choose a new folder")
    rng = np.random.default_rng(seed)
    n_strips = max(1, -(-scenes // PANELS_PER_STRIP))
    panel_counts = [PANELS_PER_STRIP] * (n_strips - 1) + [scenes - PANELS_PER_STRIP * (n_strips - 1)]
    truth_lines: list[dict] = []
    sources = root / SOURCES_DIR
    with ProjectStore.create(root) as store:
        for i, ((title, episode), n_panels) in enumerate(
            zip(episode_plan(n_strips), panel_counts, strict=True)
        ):
            name = f"{title}_{episode}_strip"
            if progress:
                progress(i, n_strips, name)
            strip = make_strip(rng, width=width, n_panels=n_panels)
            path = sources / f"{name}.png"
            save_png_atomic(path, strip.image)
            import_sources(store, [path], workers=1)
            truth_lines.extend(_truth_for_strip(store, strip))
        if progress:
            progress(n_strips, n_strips, "done")
        truth_path = root / TRUTH_NAME
        truth_path.write_text("".join(json.dumps(line) + "\n" for line in truth_lines), encoding="utf-8")
        return SampleSummary(root, n_strips, store.image_count(), len(truth_lines), truth_path)


def _truth_for_strip(store: ProjectStore, strip) -> list[dict]:
    """Map strip-coordinate truth onto the cuts the importer made (same split, recomputed here)."""
    lines = []
    for span in find_cuts(strip.image, SplitOptions()):
        record = store.image_by_hash(content_hash(strip.image[span.top : span.bottom]))
        if record is None:
            continue
        for face in strip.faces:
            cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
            if span.top <= cy < span.bottom and 0 <= cx < strip.image.shape[1]:
                lines.append(
                    {
                        "cut": record.name,
                        "image_id": record.id,
                        "image_hash": record.hash,
                        **face.translated(0, -span.top).to_json(),
                    }
                )
    return lines


def read_truth(project: Path | str) -> list[dict]:
    path = Path(project) / TRUTH_NAME
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
