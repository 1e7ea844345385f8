"""Rebuild the real development set's pictures from the repositories' fetched snapshots.

The pictures are never committed. devset/sources.json names, for each picture, a public GitHub repository, a
commit and a path (or, for a stitched webtoon strip, the consecutive slices to stack top to bottom) and the sha256
of the bytes. The session's `fetch` tool brings a repository's snapshot to <mirror>/<owner>+<name>/repo (a bare
git directory, history included); this script reads each file with `git show COMMIT:PATH`, checks its sha256 and
writes it to the output folder (default /work/devset-images, outside any git worktree).

    python devset/rebuild.py [--mirror /work/.mirror] [--out /work/devset-images] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources.json"
DEFAULT_MIRROR = Path("/work/.mirror")
DEFAULT_OUT = Path("/work/devset-images")


def git_dir(mirror: Path, repo: str) -> Path:
    """The bare git directory `fetch` makes for owner/name."""
    return mirror / repo.replace("/", "+") / "repo"


def read_blob(gdir: Path, commit: str, path: str) -> bytes:
    """Bytes of PATH at COMMIT in the bare repository GDIR."""
    res = subprocess.run(["git", f"--git-dir={gdir}", "show", f"{commit}:{path}"], capture_output=True, check=False)
    if res.returncode != 0:
        raise LookupError(f"{gdir}: cannot read {commit[:12]}:{path}: {res.stderr.decode(errors='replace').strip()}")
    return res.stdout


def checked(data: bytes, want: str, what: str) -> bytes:
    """DATA if its sha256 is WANT, else an error naming WHAT."""
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise ValueError(f"{what}: sha256 {got} differs from sources.json ({want})")
    return data


def stitch_vertical(parts: list[bytes]) -> bytes:
    """PNG bytes of the pictures PARTS stacked top to bottom (a webtoon strip from its consecutive slices)."""
    from PIL import Image

    ims = [Image.open(io.BytesIO(b)).convert("RGB") for b in parts]
    width = max(im.width for im in ims)
    strip = Image.new("RGB", (width, sum(im.height for im in ims)), "white")
    y = 0
    for im in ims:
        strip.paste(im, (0, y))
        y += im.height
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    return buf.getvalue()


def build_one(entry: dict, mirror: Path) -> bytes:
    """The picture ENTRY describes, read from the mirror and checked."""
    gdir = git_dir(mirror, entry["repository"])
    commit = entry["commit"]
    if "parts" in entry:
        parts = [checked(read_blob(gdir, commit, p["path"]), p["sha256"], p["path"]) for p in entry["parts"]]
        return stitch_vertical(parts)
    return checked(read_blob(gdir, commit, entry["path"]), entry["sha256"], entry["path"])


def missing_mirrors(entries: list[dict], mirror: Path) -> list[str]:
    """Repositories whose snapshot is not under MIRROR."""
    return sorted({e["repository"] for e in entries if not git_dir(mirror, e["repository"]).is_dir()})


def main(argv: list[str] | None = None) -> int:
    """Write every picture of sources.json to --out; report what is missing."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="root of the fetch mirrors")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write the pictures to")
    ap.add_argument("--sources", type=Path, default=SOURCES)
    ap.add_argument("--check", action="store_true", help="only check that the pictures in --out are complete")
    args = ap.parse_args(argv)
    entries = json.loads(args.sources.read_text(encoding="utf-8"))["images"]
    if args.check:
        absent = [e["file"] for e in entries if not (args.out / e["file"]).is_file()]
        print(f"{len(entries) - len(absent)}/{len(entries)} pictures present in {args.out}")
        for f in absent:
            print(f"  missing: {f}")
        return 1 if absent else 0
    lacking = missing_mirrors(entries, args.mirror)
    if lacking:
        print(f"These repository snapshots are not under {args.mirror}; bring each with the session's fetch tool "
              "(fetch github:OWNER/NAME), then run this again:", file=sys.stderr)
        for repo in lacking:
            print(f"  fetch github:{repo}    -> {git_dir(args.mirror, repo)}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    written = failed = 0
    for e in entries:
        if e["repository"] in lacking:
            failed += 1
            continue
        try:
            data = build_one(e, args.mirror)
        except (LookupError, ValueError) as exc:
            print(f"{e['id']}: {exc}", file=sys.stderr)
            failed += 1
            continue
        (args.out / e["file"]).write_bytes(data)
        written += 1
    print(f"wrote {written} picture(s) to {args.out}; {failed} not written")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
