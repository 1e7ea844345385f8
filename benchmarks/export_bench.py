"""Export throughput: faces per second written as a pix2pix dataset at 256², side by side in one run with
1 and 2 worker processes (and in-process rendering as the baseline), on the sample project (`f2a sample`)
with every true face added as an accepted face. Target: ≥ 100 faces/s with 2 workers.

The figures include starting the worker processes (what a user waits for). On a shared, busy machine the
wall-clock rates say little, so the in-process run also reports its CPU milliseconds per face: with C idle
cores the workers can reach at most about C × 1000 / cpu_ms_per_face (the workers are forked by a fork
server, not by this process, so their CPU time cannot be read here).
The three exports must be byte-identical; the benchmark checks that too. F2A_BENCH_SCENES sets the project
size (default 96).
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine
from f2a_studio.core.models import Box, Colors, Face, FaceStatus, Pose
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, plan_export, run_export
from f2a_studio.synth.sample_project import make_sample_project, read_truth
from f2a_studio.synth.truth import FaceTruth

N_SCENES = int(os.environ.get("F2A_BENCH_SCENES", "96"))
SEED = 7
SIZE = 256
RUNS = (("in_process", 0), ("1_worker", 1), ("2_workers", 2))


def accept_true_faces(root: Path) -> int:
    """The sample project holds cuts and truth.jsonl; add every true face as an accepted face."""
    with ProjectStore.open(root) as store:
        faces = []
        for line in read_truth(root):
            truth = FaceTruth.from_json(line)
            faces.append(Face(
                image_id=int(line["image_id"]), box=Box(*truth.box), status=FaceStatus.ACCEPTED, sex=truth.sex,
                colors=Colors(**truth.colors), landmarks=tuple(map(tuple, truth.keypoints().tolist())),
                pose=Pose(truth.yaw_deg, truth.pitch_deg, truth.roll_deg),
            ))
        store.add_faces(faces)
        return len(faces)


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def run() -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("F2A_BENCH_DIR")) as tmp:
        root = Path(tmp) / "sample"
        make_sample_project(root, scenes=N_SCENES, seed=SEED)
        n_faces = accept_true_faces(root)
        figures, digests = {}, set()
        with ProjectStore.open(root, read_only=True) as store:
            for name, workers in RUNS:
                plan = plan_export(store, ExportOptions(format="pix2pix", size=SIZE, workers=workers))
                out = Path(tmp) / f"out-{name}"
                cpu0, start = cpu_seconds(), time.perf_counter()
                run_export(plan, out)
                seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
                figures[name] = {"seconds": round(seconds, 3), "faces_per_s": round(len(plan.items) / seconds, 1)}
                if workers == 0:
                    figures[name]["cpu_ms_per_face"] = round(1000 * cpu / len(plan.items), 2)
                digests.add(digest(out))
            exported = len(plan.items)
    return {
        "format": "pix2pix",
        "size": SIZE,
        "scenes": N_SCENES,
        "faces": n_faces,
        "exported": exported,
        **figures,
        "speedup_2_vs_1_worker": round(figures["1_worker"]["seconds"] / figures["2_workers"]["seconds"], 2),
        "speedup_2_workers_vs_in_process": round(figures["in_process"]["seconds"] / figures["2_workers"]["seconds"], 2),
        "target_faces_per_s_2_workers": 100,
        "ceiling_faces_per_s_2_idle_cores": round(2000 / figures["in_process"]["cpu_ms_per_face"], 1),
        "outputs_identical": len(digests) == 1,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "machine": machine(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), ensure_ascii=False))
