"""Import throughput: megapixels of webtoon strips per second, split into cuts and stored.

Side by side in one run, on the same synthetic strips (fixed seed): a naive baseline (Pillow decode, split,
Pillow's default PNG encoder, one file after another) against `core.importer.import_sources` with 1 and 2
worker threads (OpenCV PNG encoder, decode/split/encode overlapped with the writes).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import machine
from f2a_studio.core.imageio import content_hash, save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.store import ProjectStore
from f2a_studio.core.strips import find_cuts
from f2a_studio.synth.strip import make_strip

N_STRIPS = int(os.environ.get("F2A_BENCH_STRIPS", "6"))
SEED = 1234


def make_sources(folder: Path) -> float:
    rng = np.random.default_rng(SEED)
    megapixels = 0.0
    for i in range(N_STRIPS):
        strip = make_strip(rng, width=690, n_panels=6)
        save_png_atomic(folder / f"800{i % 3}_{i + 1}_strip.png", strip.image)
        megapixels += strip.image.shape[0] * strip.image.shape[1] / 1e6
    return megapixels


def naive_import(store: ProjectStore, files: list[Path]) -> None:
    for path in files:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for k, span in enumerate(find_cuts(pixels), start=1):
            cut = pixels[span.top : span.bottom]
            digest = content_hash(cut)
            rel = f"cuts/{digest[:2]}/{digest}.png"
            (store.root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(cut).save(store.root / rel)
            store.add_image(hash=digest, cut_path=rel, source_path=str(path), title_id=path.stem.split("_")[0],
                            episode=path.stem.split("_")[1], width=cut.shape[1], height=cut.shape[0], cut_index=k)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run() -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("F2A_BENCH_DIR")) as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        megapixels = make_sources(root / "src")
        files = sorted((root / "src").glob("*.png"))
        results = {}
        with ProjectStore.create(root / "naive") as store:
            results["baseline_naive"] = timed(lambda: naive_import(store, files))
            cuts = store.image_count()
        for workers in (1, 2):
            with ProjectStore.create(root / f"w{workers}") as store:
                results[f"importer_{workers}_workers"] = timed(
                    lambda s=store, w=workers: import_sources(s, files, workers=w)
                )
                assert store.image_count() == cuts
    figures = {name: {"seconds": round(t, 3), "mp_per_s": round(megapixels / t, 2)} for name, t in results.items()}
    return {
        "strips": N_STRIPS,
        "megapixels": round(megapixels, 2),
        "cuts": cuts,
        **figures,
        "speedup_1_worker_vs_baseline": round(results["baseline_naive"] / results["importer_1_workers"], 2),
        "speedup_2_workers_vs_baseline": round(results["baseline_naive"] / results["importer_2_workers"], 2),
        "machine": machine(),
    }
