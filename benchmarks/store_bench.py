"""Store write latency: p50/p99 of single-edit transactions over 10,000 edits.

Side by side in one run: the project's store (WAL, synchronous=FULL, the default) against WAL with
synchronous=NORMAL (survives a killed process, not a power cut) and a plain rollback-journal SQLite file
written the naive way (the baseline a quick prototype would use).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.common import machine, percentiles
from f2a_studio.core.models import Box, Face
from f2a_studio.core.store import ProjectStore

N_EDITS = int(os.environ.get("F2A_BENCH_EDITS", "10000"))


def _landmarks(i: int) -> tuple:
    return tuple((float(i + k), float(k), 2) for k in range(68))


def bench_store(folder: Path, durability: str) -> dict:
    with ProjectStore.create(folder, durability=durability) as store:  # type: ignore[arg-type]
        image, _ = store.add_image(
            hash="h", cut_path="c.png", source_path="s", title_id="1", episode="1", width=100, height=100
        )
        face = store.add_face(Face(image_id=image.id, box=Box(0, 0, 10, 10), landmarks=_landmarks(0)))
        times = []
        for i in range(N_EDITS):
            edited = face.with_landmark(i % 68, float(i % 97), float(i % 89))
            start = time.perf_counter()
            face = store.update_face(replace(edited, box=Box(i % 50, 0, 10, 10)))
            times.append(time.perf_counter() - start)
        assert store.integrity_check() == "ok"
    return {**percentiles(times), "edits_per_s": round(N_EDITS / sum(times), 1)}


def bench_naive(folder: Path) -> dict:
    """Rollback journal, default synchronous, a row rewritten per edit and no log: the naive baseline."""
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / "naive.sqlite")
    conn.execute("CREATE TABLE faces (id INTEGER PRIMARY KEY, data TEXT)")
    conn.execute("INSERT INTO faces VALUES (1, '{}')")
    conn.commit()
    times = []
    for i in range(N_EDITS):
        payload = json.dumps({"box": [i % 50, 0, 10, 10], "landmarks": [list(p) for p in _landmarks(i)]})
        start = time.perf_counter()
        conn.execute("UPDATE faces SET data = ? WHERE id = 1", (payload,))
        conn.commit()
        times.append(time.perf_counter() - start)
    conn.close()
    return {**percentiles(times), "edits_per_s": round(N_EDITS / sum(times), 1)}


def run() -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("F2A_BENCH_DIR")) as tmp:
        root = Path(tmp)
        full = bench_store(root / "full", "full")
        normal = bench_store(root / "normal", "normal")
        naive = bench_naive(root / "naive")
    return {
        "edits": N_EDITS,
        "store_wal_full": full,
        "store_wal_normal": normal,
        "baseline_rollback_journal": naive,
        "p99_ratio_full_vs_baseline": round(full["p99_ms"] / naive["p99_ms"], 2),
        "p50_ratio_full_vs_normal": round(full["p50_ms"] / normal["p50_ms"], 2),
        "machine": machine(),
    }


if __name__ == "__main__":
    print(json.dumps(run()), file=sys.stdout)
