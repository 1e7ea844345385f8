"""Grid crops for hand-placing points on devset faces (devset/README.md, "Hand-placed points").

    python devset/point_crops.py --out DIR [--images DIR] [--points devset/points.json] FACE...

FACE is IMAGE_ID:FACE_INDEX. Each face is cropped from the picture with a margin, scaled up and drawn with a
pixel grid labelled in the ORIGINAL picture's pixels (so a point is read off directly in those pixels); two
faces go side by side per PNG. With --points, the points already in points.json are drawn on (the check pass).
The PNGs stay outside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DISPLAY = 520  # longer side of one scaled crop, pixels
MARGIN = 0.25  # of the box side, each way
COLORS = {"eye36_41": (0, 0, 255), "eye42_47": (255, 0, 0), "nose30": (0, 200, 0), "mouth48": (255, 0, 255),
          "mouth54": (0, 200, 255), "chin8": (0, 255, 255)}


def _step(side: float) -> int:
    for s in (5, 10, 20, 25, 50, 100, 200):
        if side / s <= 12:
            return s
    return 400


def crop_panel(pixels: np.ndarray, box: list[float], title: str, points: dict | None = None) -> np.ndarray:
    h, w = pixels.shape[:2]
    x, y, bw, bh = box
    m = MARGIN * max(bw, bh)
    x0, y0 = max(0, int(x - m)), max(0, int(y - m))
    x1, y1 = min(w, int(x + bw + m)), min(h, int(y + bh + m))
    k = DISPLAY / max(x1 - x0, y1 - y0)
    crop = cv2.resize(pixels[y0:y1, x0:x1], (round((x1 - x0) * k), round((y1 - y0) * k)),
                      interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)
    pad = 40
    img = np.full((crop.shape[0] + pad + 4, crop.shape[1] + pad + 4, 3), 255, np.uint8)
    img[pad:pad + crop.shape[0], pad:pad + crop.shape[1]] = crop
    step = _step(max(x1 - x0, y1 - y0))
    over = img.copy()
    for gx in range((x0 // step + 1) * step, x1, step):
        px = pad + round((gx - x0) * k)
        cv2.line(over, (px, pad), (px, img.shape[0]), (0, 160, 255), 1)
        cv2.putText(img, str(gx), (px - 14, pad - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    for gy in range((y0 // step + 1) * step, y1, step):
        py = pad + round((gy - y0) * k)
        cv2.line(over, (pad, py), (img.shape[1], py), (0, 160, 255), 1)
        cv2.putText(img, str(gy), (1, py + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    img[pad:, pad:] = cv2.addWeighted(over, 0.55, img, 0.45, 0)[pad:, pad:]
    bx0, by0 = pad + round((x - x0) * k), pad + round((y - y0) * k)
    cv2.rectangle(img, (bx0, by0), (bx0 + round(bw * k), by0 + round(bh * k)), (0, 255, 0), 1)
    for name, p in (points or {}).items():
        if p is None:
            continue
        q = (pad + round((p[0] - x0) * k), pad + round((p[1] - y0) * k))
        cv2.circle(img, q, 5, COLORS.get(name, (0, 0, 0)), 2)
        cv2.circle(img, q, 1, (0, 0, 0), -1)
    cv2.putText(img, title, (pad, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 0, 0), 1)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("faces", nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=Path("/work/devset-images"))
    ap.add_argument("--points", type=Path)
    ap.add_argument("--per-sheet", type=int, default=2)
    args = ap.parse_args(argv)
    labels = {im["id"]: im for im in json.loads((HERE / "labels.json").read_text())["images"]}
    placed = {}
    if args.points:
        for f in json.loads(args.points.read_text())["faces"]:
            placed[(f["image"], f["face"])] = {k: v for k, v in f["points"].items()}
    panels = []
    for spec in args.faces:
        image_id, _, idx = spec.rpartition(":")
        if image_id not in labels:
            raise SystemExit(f"unknown image id {image_id!r} in {spec!r}")
        im = labels[image_id]
        pixels = cv2.imread(str(args.images / im["file"]), cv2.IMREAD_COLOR)
        if pixels is None:
            raise SystemExit(f"cannot read {args.images / im['file']}")
        face = im["faces"][int(idx)]
        panels.append((spec, crop_panel(pixels, face["box"], spec, placed.get((image_id, int(idx))))))
    args.out.mkdir(parents=True, exist_ok=True)
    for n in range(0, len(panels), args.per_sheet):
        group = [p for _, p in panels[n:n + args.per_sheet]]
        hh = max(p.shape[0] for p in group)
        sheet = np.hstack([np.pad(p, ((0, hh - p.shape[0]), (0, 6), (0, 0)), constant_values=255) for p in group])
        name = args.out / f"sheet_{n // args.per_sheet:02d}.png"
        cv2.imwrite(str(name), sheet)
        print(name, " ".join(s for s, _ in panels[n:n + args.per_sheet]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
