"""Run benchmarks and print one JSON object per benchmark.

    python -m benchmarks              # every *_bench.py here
    python -m benchmarks import store # only these
    python -m benchmarks --list
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(p.stem.removesuffix("_bench") for p in HERE.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    if "--list" in argv:
        print("\n".join(available()))
        return 0
    names = [a for a in argv if not a.startswith("-")] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}_bench")
        start = time.perf_counter()
        result = module.run()
        result.setdefault("benchmark", name)
        result.setdefault("wall_s", round(time.perf_counter() - start, 2))
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
