"""How long one anchor refit takes (detect.anchors.corrected_face), per number of anchors: decides whether the
studio's Place Anchors mode may fit on the GUI thread. Prints the first call (reads the mean face) and the
median / max of 20 calls. Run: `python benchmarks/anchor_fit_speed.py`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.anchors import ANCHORS, corrected_face
from f2a_studio.gui.demo import make_demo_project


def main() -> None:
    root = Path(tempfile.mkdtemp())
    project = make_demo_project(root / "p", cuts=1, faces_per_cut=(1, 1), size=(600, 800), durability="normal")
    with ProjectStore.open(project, read_only=True) as store:
        face = store.faces(store.images()[0].id)[0]
    pts = np.asarray(face.landmarks)[:, :2]
    spots = [pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54], pts[8]]
    anchors = {name: (float(p[0]), float(p[1])) for name, p in zip(ANCHORS, spots, strict=True)}
    t = time.perf_counter()
    corrected_face(face, {"left_eye": anchors["left_eye"]})
    print(f"first fit: {1000 * (time.perf_counter() - t):.0f} ms")
    for k in range(1, 7):
        sub = dict(list(anchors.items())[:k])
        times = []
        for _ in range(20):
            t = time.perf_counter()
            corrected_face(face, sub)
            times.append(time.perf_counter() - t)
        print(f"{k} anchor(s): median {1000 * np.median(times):.0f} ms, max {1000 * max(times):.0f} ms")


if __name__ == "__main__":
    main()
