"""Memory the landmark training's project samples hold: each corrected face's region of its cut
(learned_train.project_samples, landmarks/regions.py) against the whole cuts the samples held before.

    python -m benchmarks landmark_memory      # LANDMARK_MEMORY_STRIPS=12 LANDMARK_MEMORY_HEIGHT=8000

A project of long strips (800 px wide, one character panel far down each, its landmarks corrected by a
person) is built in a temporary folder. Both ways are measured in the same run with tracemalloc (numpy's
arrays are traced): the peak while building the samples and what stays held after, for
``project_samples`` as shipped and for the baseline that kept each decoded cut (the code before this
change, rebuilt here from the same store calls). Ratios compare the two.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import machine


def _project(root: Path, strips: int, height: int):
    from f2a_studio.core.imageio import save_png_atomic
    from f2a_studio.core.importer import import_sources
    from f2a_studio.core.models import Box, Face
    from f2a_studio.core.store import ProjectStore
    from f2a_studio.core.strips import SplitOptions
    from f2a_studio.synth.scene import make_character_image

    store = ProjectStore.create(root / "p")
    top, left = height // 2, 200
    truths = {}
    for i in range(strips):
        panel = make_character_image(np.random.default_rng(i), 400, style="anime")
        strip = np.full((height, 800, 3), 255, np.uint8)
        strip[top:top + 400, left:left + 400] = panel.image
        path = root / "sources" / f"{900001 + i}_1_001.png"  # one title each: not stitched into one episode
        save_png_atomic(path, strip)
        truths[path.name] = panel.faces[0]
    import_sources(store, sorted((root / "sources").glob("*.png")), workers=1,
                   split=SplitOptions(min_aspect=1e9, trim=False))  # each strip one cut, as a long scene would be
    for record in store.images():
        truth = truths[Path(record.source_path).name]
        assert (record.width, record.height) == (800, height), (record.width, record.height, record.source_path)
        x, y, w, h = truth.box
        face = store.add_face(Face(record.id, Box(x + left, y + top, w, h)), actor="detector")
        points = truth.points() + np.array([left, top], float)
        store.update_face(replace(face, landmarks=tuple((float(px), float(py), 2) for px, py in points)),
                          actor="human")
    return store


def _whole_cuts(store) -> list:
    """The baseline: every corrected face's sample keeps its decoded cut (one array per cut)."""
    from f2a_studio.core.imageio import load_image
    from f2a_studio.core.models import Domain
    from f2a_studio.core.provenance import human_faces

    kept = {}
    for h in human_faces(store, Domain.ANIME):
        if h.image_id not in kept:
            kept[h.image_id] = load_image(store.cut_file(store.image(h.image_id))).pixels[:, :, :3]
    return list(kept.values())


def _measured(build: Callable[[], list]) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    held = build()
    seconds = time.perf_counter() - start
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    return {"held_mb": round(current / 2**20, 2), "peak_mb": round(peak / 2**20, 2), "seconds": round(seconds, 2)}


def run() -> dict:
    from f2a_studio.detect.landmarks.learned_train import project_samples

    strips = int(os.environ.get("LANDMARK_MEMORY_STRIPS", "12"))
    height = int(os.environ.get("LANDMARK_MEMORY_HEIGHT", "8000"))
    with tempfile.TemporaryDirectory(prefix="f2a-lm-memory-") as tmp:
        store = _project(Path(tmp), strips, height)
        with store:
            faces = project_samples(store)[2]["corrected_faces"]
            rows = {"whole_cuts_baseline": _measured(lambda: _whole_cuts(store)),
                    "face_regions": _measured(lambda: list(project_samples(store)[:2]))}
    base, new = rows["whole_cuts_baseline"], rows["face_regions"]
    return {"benchmark": "landmark_memory", "machine": machine(), "strips": strips,
            "strip_px": [800, height], "corrected_faces": faces, "rows": rows,
            "held_ratio": round(new["held_mb"] / max(base["held_mb"], 1e-9), 4),
            "peak_ratio": round(new["peak_mb"] / max(base["peak_mb"], 1e-9), 4)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
