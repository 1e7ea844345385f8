"""Regenerate f2a_studio/resources/mean_face_3d.json: the mean 3D cartoon face used for landmark fitting and pose.

Run from the repository root: ``python tools/make_mean_face.py``. The face is the average of
4,000 characters per sex drawn from the synthetic character model (f2a_studio/synth/template.py),
which encodes how drawn characters usually differ from photographed faces: female characters with
bigger eyes and a shorter, rounder jaw, male ones with smaller eyes and a longer jaw. The file is
committed; nothing reads the synth package at run time.

Canonical frame: unit = face width (jaw point 0 to 16), origin midway between the eye centres,
x to the image right, y down, z towards the viewer (iBUG-68 order, "left" = image-left).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from f2a_studio.synth.template import canonical_landmarks, sample_params

N = 4000


def mean_face(sex: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.mean([canonical_landmarks(sample_params(rng, sex)) for _ in range(N)], axis=0)


def main() -> None:
    female, male = mean_face("female", 1), mean_face("male", 2)
    data = {
        "about": __doc__.split("\n\n")[0] + " See tools/make_mean_face.py.",
        "frame": "unit = jaw width (points 0-16); origin between eye centres; x right, y down, z to viewer",
        "female": np.round(female, 5).tolist(),
        "male": np.round(male, 5).tolist(),
        "mean": np.round((female + male) / 2, 5).tolist(),
    }
    out = Path(__file__).resolve().parents[1] / "f2a_studio" / "resources" / "mean_face_3d.json"
    out.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
