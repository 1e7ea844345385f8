"""The data the shipped demo generators are trained on: a synthetic project whose faces are the drawn truth.

`f2a sample --no-detect` draws and imports strips the way a user would and writes the exact truth of every
face; this script stores those truths as accepted, hand-set faces (so no detector error enters the demo
data) and exports them, e.g. as pix2pix 128² pairs:

    python tools/make_demo_data.py /tmp/demo-project /tmp/demo-export --scenes 160 --format pix2pix --size 128

Then train (the exact command is in each shipped model's card, models/*.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from f2a_studio.core.models import Box, Colors, Face, FaceSource, FaceStatus, Sex
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, plan_export, run_export
from f2a_studio.synth.sample_project import make_sample_project, read_truth


def truth_face(line: dict) -> Face:
    landmarks = tuple((float(x), float(y), int(v)) for (x, y), v in zip(line["landmarks"], line["visibility"],
                                                                          strict=True))
    colors = line["colors"]
    return Face(
        image_id=int(line["image_id"]),
        box=Box(*(float(v) for v in line["box"])),
        source=FaceSource.HUMAN,
        status=FaceStatus.ACCEPTED,
        sex=Sex(line["sex"]),
        sex_prob=1.0,
        colors=Colors(colors.get("skin"), colors.get("hair"), colors.get("left_eye"), colors.get("right_eye")),
        landmarks=landmarks,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=160)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="pix2pix")
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    make_sample_project(args.project, scenes=args.scenes, seed=args.seed)
    with ProjectStore.open(args.project) as store:
        store.add_faces([truth_face(line) for line in read_truth(args.project)], actor="human")
        plan = plan_export(store, ExportOptions(format=args.format, size=args.size, workers=2))
        result = run_export(plan, args.out)
    print(f"{store.root}: {len(plan.items)} faces exported to {args.out} ({result})")


if __name__ == "__main__":
    main()
