"""Score face finders on the real development set (devset/labels.json): recall and precision at IoU 0.3.

    python devset/evaluate.py [--images /work/devset-images] [--detector NAME ...] [--out FILE]

Detectors (repeat --detector; default: single_pass and pipeline):

* ``single_pass``  animeface once on the whole image (f2a_studio.detect.finder.single_pass), the seed's way;
* ``pipeline``     today's pipeline as `f2a faces` runs it (detect_files, tiles, scales, calibration, NMS),
                   run once at threshold 0 and reported twice: at --threshold (default 0.3, the CLI's
                   default) and with every candidate kept (``pipeline_all``); the rows are exact because the
                   threshold is applied after NMS;
* ``jsonl:FILE``   saved output of ``f2a faces IMAGES --jsonl`` (matched to the images by file name);
* ``finder:MODULE:CLASS``  a FaceFinder plug-in (f2a_studio.detect.finders.base): ``CLASS()``, ``load()``,
                   then ``find(pixels)`` per image; hits with raw_score below --min-score are dropped;
* ``callable:MODULE:FUNC`` any ``FUNC(rgb uint8 array) -> boxes`` ([x, y, w, h], Box or objects with .box).

Faces flagged "back" (back of the head) are ignored: a detection on one is neither a hit nor a false
alarm, and they are not counted in recall. Matching is greedy one-to-one by IoU, best pairs first. Timing
is seconds per megapixel of image area (the pipeline's own per-image seconds, one worker unless told).
Prints one JSON object; when the pictures are absent it says so (and how to rebuild them) and exits 0
with {"skipped": ...}, so nothing ever depends on the pictures being here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_IMAGES = Path("/work/devset-images")
DEFAULT_LABELS = HERE / "labels.json"
IGNORED_FLAGS = frozenset({"back"})
HARD_FLAGS = frozenset({"profile", "partial", "occluded", "rotated"})
Box4 = tuple[float, float, float, float]


@dataclass
class Found:
    """One detector's output on one image."""

    boxes: list[Box4]
    scores: list[float] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # the detector failed on this image (e.g. the pipeline's time limit)


def iou(a: Box4, b: Box4) -> float:
    """Intersection over union of two [x, y, w, h] boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(truth: list[Box4], found: list[Box4], threshold: float) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (truth index, found index) with IoU >= threshold, best pairs first."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for value, i, j in pairs:
        if value < threshold:
            break
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        out.append((i, j))
    return out


@dataclass
class Tally:
    """Counts for one detector over a group of images."""

    faces: int = 0
    hard_faces: int = 0
    found: int = 0
    hits: int = 0
    hard_hits: int = 0
    ignored_hits: int = 0
    seconds: float = 0.0
    megapixels: float = 0.0

    def add(self, other: Tally) -> None:
        """Add OTHER's counts to these."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def report(self) -> dict[str, Any]:
        """Recall, precision and speed as a JSON-ready dict."""
        scored_found = self.found - self.ignored_hits
        easy = self.faces - self.hard_faces
        return {
            "faces": self.faces,
            "found": self.found,
            "true_positives": self.hits,
            "recall": round(self.hits / self.faces, 4) if self.faces else None,
            "precision": round(self.hits / scored_found, 4) if scored_found else None,
            "recall_plain": round((self.hits - self.hard_hits) / easy, 4) if easy else None,
            "recall_flagged": round(self.hard_hits / self.hard_faces, 4) if self.hard_faces else None,
            "s_per_mp": round(self.seconds / self.megapixels, 3) if self.megapixels and self.seconds else None,
        }


def score_image(faces: list[dict], found: Found, width: int, height: int, threshold: float) -> Tally:
    """Match one image's detections to its labelled faces."""
    boxes = [tuple(float(v) for v in f["box"]) for f in faces]
    ignored = [bool(IGNORED_FLAGS & set(f["flags"])) for f in faces]
    hard = [bool(HARD_FLAGS & set(f["flags"])) for f in faces]
    pairs = match(boxes, found.boxes, threshold)
    t = Tally(faces=sum(not g for g in ignored), found=len(found.boxes), seconds=found.seconds,
              megapixels=width * height / 1e6)
    t.hard_faces = sum(h and not g for h, g in zip(hard, ignored, strict=True))
    for i, _ in pairs:
        if ignored[i]:
            t.ignored_hits += 1
        else:
            t.hits += 1
            t.hard_hits += hard[i]
    return t


def as_box(item: Any) -> Box4:
    """[x, y, w, h] from a list, a Box or anything with a .box."""
    item = getattr(item, "box", item)
    if hasattr(item, "to_list"):
        item = item.to_list()
    elif hasattr(item, "w") and hasattr(item, "x"):
        item = (item.x, item.y, item.w, item.h)
    x, y, w, h = (float(v) for v in item)
    return (x, y, w, h)


def read_rgb(path: Path) -> Any:
    """The picture as an H×W×3 uint8 RGB array (the project's reader)."""
    from f2a_studio.core.imageio import read_image

    return read_image(path)[:, :, :3]


def run_single_pass(paths: list[Path]) -> dict[str, list[Found]]:
    """animeface once per whole image, in this process."""
    from f2a_studio.detect.finder import single_pass

    out = []
    for p in paths:
        pixels = read_rgb(p)
        start = time.perf_counter()
        hits = single_pass(pixels)
        seconds = time.perf_counter() - start
        out.append(Found([as_box(h) for h in hits], [float(h.likelihood) for h in hits], seconds))
    return {"single_pass": out}


def run_pipeline(paths: list[Path], threshold: float, workers: int, timeout: float) -> dict[str, list[Found]]:
    """The `f2a faces` pipeline at threshold 0, reported at THRESHOLD and with every candidate kept."""
    from f2a_studio.detect import DetectOptions, detect_files

    everything = []
    for result in detect_files(paths, DetectOptions(threshold=0.0, workers=workers, timeout_s=timeout)):
        if result.error:
            print(f"pipeline: {result.path}: {result.error}", file=sys.stderr)
        everything.append(Found([as_box(f) for f in result.faces], [float(f.score) for f in result.faces],
                                float(result.seconds), result.error))
    kept = [Found([b for b, s in zip(f.boxes, f.scores, strict=True) if s >= threshold],
                  [s for s in f.scores if s >= threshold], f.seconds, f.error) for f in everything]
    return {"pipeline": kept, "pipeline_all": everything}


def run_jsonl(paths: list[Path], source: Path, name: str) -> dict[str, list[Found]]:
    """Detections saved by `f2a faces --jsonl`, matched to the pictures by file name."""
    by_name: dict[str, Found] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            by_name[Path(obj["image"]).name] = Found([as_box(f["box"]) for f in obj.get("faces", [])],
                                                     [float(f.get("score", 1.0)) for f in obj.get("faces", [])],
                                                     float(obj.get("seconds", 0.0)), obj.get("error"))
    missing = [p.name for p in paths if p.name not in by_name]
    if missing:
        print(f"{name}: no result for {len(missing)} picture(s), counted as finding nothing: {missing[:5]}",
              file=sys.stderr)
    return {name: [by_name.get(p.name, Found([])) for p in paths]}


def load_attr(spec: str) -> Any:
    """MODULE:NAME → the object."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise SystemExit(f"expected MODULE:NAME, got {spec!r}")
    return getattr(importlib.import_module(module), attr)


def run_callable(paths: list[Path], fn: Callable[[Any], Iterable[Any]], name: str) -> dict[str, list[Found]]:
    """Any function from RGB pixels to boxes, timed in this process."""
    out = []
    for p in paths:
        pixels = read_rgb(p)
        start = time.perf_counter()
        hits = list(fn(pixels))
        seconds = time.perf_counter() - start
        out.append(Found([as_box(h) for h in hits], [float(getattr(h, "raw_score", 1.0)) for h in hits], seconds))
    return {name: out}


def run_finder(paths: list[Path], spec: str, min_score: float) -> dict[str, list[Found]]:
    """A FaceFinder plug-in: CLASS(), load(), find(pixels) per image."""
    finder = load_attr(spec)()
    finder.load()
    try:
        name = f"finder:{getattr(finder, 'name', spec)}"
        found = run_callable(paths, lambda px: [h for h in finder.find(px) if h.raw_score >= min_score], name)
    finally:
        finder.unload()
    return found


def run_detector(spec: str, paths: list[Path], args: argparse.Namespace) -> dict[str, list[Found]]:
    """The rows one --detector value produces."""
    if spec == "single_pass":
        return run_single_pass(paths)
    if spec == "pipeline":
        return run_pipeline(paths, args.threshold, args.workers, args.timeout)
    kind, _, rest = spec.partition(":")
    if kind == "jsonl" and rest:
        return run_jsonl(paths, Path(rest), f"jsonl:{Path(rest).name}")
    if kind == "finder" and rest:
        return run_finder(paths, rest, args.min_score)
    if kind == "callable" and rest:
        return run_callable(paths, load_attr(rest), f"callable:{rest}")
    raise SystemExit(f"unknown --detector {spec!r}: single_pass, pipeline, jsonl:FILE, finder:MOD:CLS, callable:MOD:FN")


def evaluate(images: list[dict], rows: dict[str, list[Found]], threshold: float) -> dict[str, Any]:
    """Per detector: overall, per kind and per title."""
    out: dict[str, Any] = {}
    for name, founds in rows.items():
        total, by_kind, by_title = Tally(), {}, {}
        for im, found in zip(images, founds, strict=True):
            t = score_image(im["faces"], found, im["width"], im["height"], threshold)
            total.add(t)
            by_kind.setdefault(im["kind"], Tally()).add(t)
            by_title.setdefault(im["title"], Tally()).add(t)
        entry = total.report()
        entry["failed_images"] = [im["id"] for im, f in zip(images, founds, strict=True) if f.error]
        entry["by_kind"] = {k: v.report() for k, v in sorted(by_kind.items())}
        entry["by_title"] = {k: {f: v.report()[f] for f in ("faces", "recall", "precision")}
                             for k, v in sorted(by_title.items())}
        out[name] = entry
    return out


def save_rows(folder: Path, paths: list[Path], images: list[dict], rows: dict[str, list[Found]]) -> None:
    """Each detector's boxes as `f2a faces --jsonl`-like lines (image, width, height, seconds, faces)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, founds in rows.items():
        lines = []
        for p, im, f in zip(paths, images, founds, strict=True):
            faces = [{"box": [round(v, 2) for v in b], "score": round(s, 4)}
                     for b, s in zip(f.boxes, f.scores or [1.0] * len(f.boxes), strict=True)]
            line = {"image": p.name, "width": im["width"], "height": im["height"], "seconds": round(f.seconds, 3),
                    "faces": faces}
            if f.error:
                line["error"] = f.error
            lines.append(json.dumps(line))
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        (folder / f"{safe}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen detectors over the development set and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="folder made by devset/rebuild.py")
    ap.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    ap.add_argument("--detector", action="append", help="repeatable; default: single_pass and pipeline")
    ap.add_argument("--threshold", type=float, default=0.3, help="pipeline's calibrated-score threshold")
    ap.add_argument("--workers", type=int, default=1, help="pipeline worker processes (1: comparable s/MP)")
    ap.add_argument("--timeout", type=float, default=120.0, help="pipeline time limit per image (the CLI's 120 s; "
                    "the up-scaled pass stops at half of it, so raise it on a loaded machine)")
    ap.add_argument("--id", action="append", help="only the image with this id (repeatable)")
    ap.add_argument("--min-score", type=float, default=0.0, help="finder plug-ins: drop hits scoring less")
    ap.add_argument("--iou", type=float, default=0.3)
    ap.add_argument("--kind", action="append", help="only images of this kind (repeatable)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--save", type=Path, help="write each detector's boxes to DIR/NAME.jsonl (re-score later with "
                    "--detector jsonl:DIR/NAME.jsonl, no detector run needed)")
    args = ap.parse_args(argv)
    labels = json.loads(args.labels.read_text(encoding="utf-8"))
    images = [im for im in labels["images"]
              if (not args.kind or im["kind"] in args.kind) and (not args.id or im["id"] in args.id)]
    absent = [im["file"] for im in images if not (args.images / im["file"]).is_file()]
    if absent:
        msg = (f"{len(absent)} of {len(images)} development-set pictures are not in {args.images}; rebuild them "
               "with `python devset/rebuild.py` (it lists the repositories to fetch)")
        print(msg, file=sys.stderr)
        print(json.dumps({"skipped": msg}))
        return 0
    paths = [args.images / im["file"] for im in images]
    load_at_start = [round(v, 1) for v in os.getloadavg()]
    rows: dict[str, list[Found]] = {}
    wall: dict[str, float] = {}
    for spec in args.detector or ["single_pass", "pipeline"]:
        start = time.perf_counter()
        got = run_detector(spec, paths, args)
        for name in got:
            wall[name] = round(time.perf_counter() - start, 1)
        rows.update(got)
    if args.save:
        save_rows(args.save, paths, images, rows)
    faces = [f for im in images for f in im["faces"]]
    report = {
        "benchmark": "devset",
        "images": len(images),
        "faces_scored": sum(not (IGNORED_FLAGS & set(f["flags"])) for f in faces),
        "faces_ignored": sum(bool(IGNORED_FLAGS & set(f["flags"])) for f in faces),
        "images_by_kind": {k: sum(im["kind"] == k for im in images) for k in sorted({im["kind"] for im in images})},
        "iou": args.iou,
        "pipeline_threshold": args.threshold,
        "pipeline_workers": args.workers,
        "pipeline_timeout_s": args.timeout,
        "load_average_at_start": load_at_start,
        "megapixels": round(sum(im["width"] * im["height"] for im in images) / 1e6, 2),
        "wall_s": wall,
        "detectors": evaluate(images, rows, args.iou),
    }
    text = json.dumps(report, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
