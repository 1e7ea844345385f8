"""Regenerate f2a_studio/resources/detector_parts.json: where animeface reports each part, relative to the mean face.

Run from the repository root: ``python tools/fit_detector_parts.py [N]``. Draws N synthetic
characters per sex (seed 100; the detection benchmark uses other seeds), runs animeface on each, and for
every face it finds measures, in canonical units (jaw width = 1, the face's roll undone), the offset of
each reported part from the matching mean-face point posed with the true pose: its median is the part's
offset, its robust spread (1.4826 × MAD, x and y pooled) the part's weight in the landmark fit. The spread
therefore holds both the detector's scatter and how much characters differ from the mean face.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from f2a_studio.detect.animeface_backend import detect_raw
from f2a_studio.detect.face_model import ANCHOR_POINTS, BOX_CENTER_Y, load_face_model
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose


def collect(sex: str, n: int, rng: np.random.Generator) -> dict[str, list]:
    model = load_face_model().for_sex(sex)
    rows: dict[str, list] = {name: [] for name in (*ANCHOR_POINTS, "box_center")}
    rows["box_side"] = []
    for _ in range(n):
        size = float(np.exp(rng.uniform(math.log(50), math.log(260))))
        img = np.empty((int(size * 3.6), int(size * 3.6), 3), np.uint8)
        img[:] = rng.integers(170, 256, 3)
        pose = Pose(size * 1.8, size * 1.5, size, yaw_deg=rng.uniform(-25, 25), pitch_deg=rng.uniform(-12, 12),
                    roll_deg=rng.uniform(-12, 12))
        truth = draw_character(img, sample_character(rng, sex), pose)
        hits = [f for f in detect_raw(img) if _iou(f.box.to_list(), truth.box) > 0.3]
        if not hits:
            continue
        hit = max(hits, key=lambda f: _iou(f.box.to_list(), truth.box))
        c, s = math.cos(math.radians(-pose.roll_deg)), math.sin(math.radians(-pose.roll_deg))
        unroll = np.array([[c, -s], [s, c]])

        p = hit.parts
        observed = {"left_eye": p.left_eye.center, "right_eye": p.right_eye.center, "mouth": p.mouth.center,
                    "nose": p.nose, "chin": p.chin, "box_center": hit.box.center}
        for name, obs in observed.items():
            if name == "box_center":
                base = np.array([0.0, BOX_CENTER_Y, model.points[30, 2] * 0.5])
            else:
                base = model.points[list(ANCHOR_POINTS[name])].mean(axis=0)
            d = np.asarray(obs) - pose.project(base[None, :])[0]
            rows[name].append((unroll @ d / size).tolist())
        rows["box_side"].append(max(hit.box.w, hit.box.h) / size)
    return rows


def _iou(a: list[float], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def summarize(rows: dict[str, list]) -> dict:
    anchors = {}
    for name, values in rows.items():
        if name == "box_side":
            continue
        v = np.asarray(values)
        med = np.median(v, axis=0)
        mad = np.median(np.abs(v - med))
        anchors[name] = {"dx": round(float(med[0]), 4), "dy": round(float(med[1]), 4),
                         "sigma": round(float(1.4826 * mad), 4)}
    side = np.log(np.asarray(rows["box_side"]))
    return {
        "faces": len(rows["box_side"]),
        "anchors": anchors,
        "box_side_per_width": round(float(np.exp(np.median(side))), 4),
        "box_side_sigma": round(float(1.4826 * np.median(np.abs(side - np.median(side)))), 4),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rng = np.random.default_rng(100)
    data = {"about": __doc__.split("\n\n")[0] + " See tools/fit_detector_parts.py.", "seed": 100, "per_sex": n}
    for sex in ("female", "male"):
        data[sex] = summarize(collect(sex, n, rng))
        print(sex, data[sex]["faces"], "faces found")
    out = Path(__file__).resolve().parents[1] / "f2a_studio" / "resources" / "detector_parts.json"
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
