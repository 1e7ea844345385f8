"""A small mutation tester: break one line of a core module at a time and see whether its tests notice.

    python tools/mutate.py store atomic nms            # named modules (see MODULES), or "all"
    python tools/mutate.py --max 60 --seed 1 store     # a seeded sample of at most 60 mutants per module
    python tools/mutate.py --list store                # print the mutants without running anything
    python tools/mutate.py --only before.json store    # re-test only the survivors of an earlier run

Why not mutmut or cosmic-ray: mutmut 3 rewrites every function into a trampoline inside a copied
`mutants/` tree and first runs the *whole* suite to map tests to functions (minutes of GUI tests and
worker processes per pass on this machine); cosmic-ray needs a session database and a config per
module. Both are fine tools; this project needs something that runs a few *mapped* fast test files per
mutant, in a temp copy of the tree, with a hard timeout, and prints a score per module. That is this.

Mutants (AST level, each spliced into the original source so the rest of the file is unchanged):
  operator   + - * / // %  swapped (a + b → a - b, …)
  compare    < ↔ <=, > ↔ >=, == ↔ !=, in ↔ not in, is ↔ is not
  boolean    and ↔ or; `not x` → x
  condition  the test of an if / while / ternary negated
  constant   numbers n → n + 1 (0 → 1, 1 → 0 …), True ↔ False, None-returning defaults untouched
  return     `return X` → `return None`
  statement  a call statement, `raise`, augmented assignment or attribute assignment replaced by `pass`
Strings and docstrings are not mutated (messages and SQL: mostly noise).

Each mutant is written into a private copy of the tree (f2a_studio/, tests/, pyproject.toml, resources…);
the module's mapped tests run there with that copy first on PYTHONPATH, stopping at the first failure.
A mutant is *killed* when the tests fail or time out, *survived* when they pass. Results go to a JSON file
(every mutant with its line, description and outcome) and a summary table. Not part of CI: it takes long.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module key -> (source file, fast tests that exercise it). Kept small on purpose: each mutant runs these,
# stopping at the first failure, so the most targeted (and fastest) file comes first.
MODULES: dict[str, tuple[str, list[str]]] = {
    "store": ("f2a_studio/core/store.py", ["tests/test_store_contract.py", "tests/test_store.py",
                                         "tests/test_store_crash.py"]),
    "importer": ("f2a_studio/core/importer.py", ["tests/test_import_paths.py", "tests/test_import.py"]),
    "atomic": ("f2a_studio/export/atomic.py", ["tests/test_export_atomic_unit.py", "tests/test_export_atomic.py",
                                             "tests/test_export_safety.py"]),
    "runner": ("f2a_studio/export/runner.py", ["tests/test_export_runner.py", "tests/test_export_atomic.py",
                                              "tests/test_export_safety.py", "tests/test_export_formats.py"]),
    "coco_import": ("f2a_studio/export/coco_import.py", ["tests/test_export_coco.py"]),
    "nms": ("f2a_studio/detect/nms.py", ["tests/test_nms.py", "tests/test_detect_geometry.py"]),
    "navigator": ("f2a_studio/gui/navigator.py", ["tests/test_gui_navigator_state.py", "tests/test_gui_navigate.py",
                                                   "tests/test_gui_review.py"]),
    # the trainer, the preview and the learned finder: checkpoint, resume and dataset-checking paths
    "trainer_atomic": ("trainer/atomic.py", ["tests/test_trainer_atomic.py", "tests/test_trainer_checkpoint.py"]),
    "checkpoint": ("trainer/checkpoint.py", ["tests/test_trainer_checkpoint_files.py",
                                              "tests/test_trainer_checkpoint.py"]),
    "safeload": ("f2a_studio/preview/safeload.py", ["tests/test_preview_safeload.py", "tests/test_preview_engine.py"]),
    "data_layout": ("trainer/data/layout.py", ["tests/test_trainer_data_checks.py", "tests/test_trainer_data.py"]),
    "learned_io": ("f2a_studio/detect/finders/learned_io.py", ["tests/test_finder_learned_io.py",
                                                                   "tests/test_finder_learned.py"]),
}

COPIED = ("f2a_studio", "tests", "resources", "models", "pyproject.toml", "trainer", "benchmarks")

_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
           ast.Mod: ast.FloorDiv}
_CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass
class Mutant:
    index: int
    line: int
    kind: str
    description: str
    source: str = ""  # the whole mutated module (not stored in the JSON)
    outcome: str = ""  # killed | survived | timeout | error
    seconds: float = 0.0
    detail: str = ""


def _segment(lines: list[str], node: ast.AST) -> tuple[int, int, int, int]:
    return node.lineno - 1, node.col_offset, node.end_lineno - 1, node.end_col_offset  # type: ignore[attr-defined]


def _splice(source: str, node: ast.AST, text: str) -> str:
    lines = source.splitlines(keepends=True)
    l0, c0, l1, c1 = _segment(lines, node)
    # col offsets are in UTF-8 bytes
    head = lines[l0].encode()[:c0].decode()
    tail = lines[l1].encode()[c1:].decode()
    return "".join(lines[:l0]) + head + text + tail + "".join(lines[l1 + 1 :])


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0]))
    return out


def _in_annotation(tree: ast.AST) -> set[int]:
    """Nodes inside type annotations (mutating them changes nothing at run time)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
            args = node.args
            annotations += [a.annotation for a in args.args + args.kwonlyargs + args.posonlyargs]
            annotations += [a.annotation for a in (args.vararg, args.kwarg) if a is not None]
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for ann in annotations:
            if ann is not None:
                out.update(id(n) for n in ast.walk(ann))
    return out


def generate(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    skip = _docstring_nodes(tree) | _in_annotation(tree)
    found: list[Mutant] = []

    def add(node: ast.AST, replacement: ast.AST | str, kind: str, what: str) -> None:
        text = replacement if isinstance(replacement, str) else ast.unparse(replacement)
        if isinstance(node, ast.expr) and not isinstance(replacement, str):
            text = f"({text})"
        try:
            mutated = _splice(source, node, text)
            ast.parse(mutated)
        except (SyntaxError, UnicodeDecodeError):
            return
        found.append(Mutant(0, node.lineno, kind, what, mutated))

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            new = copy.deepcopy(node)
            new.op = _BINOPS[type(node.op)]()
            add(node, new, "operator", f"{type(node.op).__name__} → {type(new.op).__name__}")
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _CMPOPS:
                    new = copy.deepcopy(node)
                    new.ops[k] = _CMPOPS[type(op)]()
                    add(node, new, "compare", f"{type(op).__name__} → {type(new.ops[k]).__name__}")
        elif isinstance(node, ast.BoolOp):
            new = copy.deepcopy(node)
            new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            add(node, new, "boolean", f"{type(node.op).__name__} → {type(new.op).__name__}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, copy.deepcopy(node.operand), "boolean", "drop `not`")
        elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
            test = node.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                continue  # `drop not` covers it
            add(test, ast.UnaryOp(ast.Not(), copy.deepcopy(test)), "condition", "condition negated")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
            value = node.value
            if isinstance(value, bool):
                add(node, ast.Constant(not value), "constant", f"{value} → {not value}")
            elif isinstance(value, int):
                new_value = {0: 1, 1: 0}.get(value, value + 1)
                add(node, ast.Constant(new_value), "constant", f"{value} → {new_value}")
            elif isinstance(value, float):
                new_value = value + 1.0 if value == 0 else value * 1.5
                add(node, ast.Constant(new_value), "constant", f"{value} → {new_value}")
        elif isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Constant) and node.value.value is None:
                continue
            add(node, "return None", "return", "return None")
        elif isinstance(node, (ast.Expr, ast.Raise, ast.AugAssign, ast.Assign)):
            if isinstance(node, ast.Assign) and not all(isinstance(t, ast.Attribute) for t in node.targets):
                continue  # deleting a local's assignment is a NameError: trivially killed, only noise
            if isinstance(node, ast.Expr) and not isinstance(node.value, (ast.Call, ast.Await)):
                continue
            add(node, "pass", "statement", f"`{ast.unparse(node).splitlines()[0][:60]}` deleted")
    found.sort(key=lambda m: (m.line, m.kind, m.description))
    for k, m in enumerate(found):
        m.index = k
    return found


def _copy_tree(src: Path, dst: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "*.egg-info", ".git")
    for name in COPIED:
        path = src / name
        if path.is_dir():
            shutil.copytree(path, dst / name, ignore=ignore)
        elif path.is_file():
            shutil.copy2(path, dst / name)


def _drop_pyc(module: Path) -> None:
    cache = module.parent / "__pycache__"
    for pyc in cache.glob(f"{module.stem}.*.pyc") if cache.is_dir() else []:
        pyc.unlink(missing_ok=True)


def _run_tests(tree: Path, tests: list[str], timeout: float, extra: list[str]) -> tuple[str, float, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen", F2A_MUTATION="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
           "--timeout", str(int(timeout)), *extra, *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout + 30,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, ""
    seconds = time.monotonic() - started
    lines = (done.stdout + done.stderr).strip().splitlines()
    # the test that failed, so a "kill" by a flaky test can be told from a real one
    last = next((line for line in lines if line.startswith(("FAILED", "ERROR"))), lines[-1] if lines else "")
    if done.returncode == 0:
        return "survived", seconds, last
    if done.returncode == 1:
        return ("timeout" if "Timeout" in done.stdout else "killed"), seconds, last
    return "error", seconds, last  # collection error, no tests, internal error: counted apart


def survivors_of(mutants: list[Mutant], previous: dict, key: str) -> list[Mutant]:
    """The mutants that survived in `previous` (a JSON written by --json), matched by index, line, kind and
    description: a source that changed since then makes other mutants under the same numbers, so that is an
    error, not a silent re-test of something else."""
    runs = [r for r in previous.get("results", []) if r.get("module") == key]
    if not runs:
        raise SystemExit(f"{key}: the --only file holds no run of this module")
    by_index = {m.index: m for m in mutants}
    chosen = []
    for old in runs[0]["mutants"]:
        if old["outcome"] != "survived":
            continue
        now = by_index.get(old["index"])
        if now is None or (now.line, now.kind, now.description) != (old["line"], old["kind"], old["description"]):
            raise SystemExit(f"{key}: mutant #{old['index']} (line {old['line']} {old['kind']}: "
                             f"{old['description']}) is not in the source any more; it changed since that run")
        chosen.append(now)
    return chosen


def mutate_module(key: str, args: argparse.Namespace, source_root: Path) -> dict:
    relpath, tests = MODULES[key]
    tests = [t for t in tests if (source_root / t).is_file()]
    source = (source_root / relpath).read_text(encoding="utf-8")
    mutants = generate(source)
    total = len(mutants)
    if args.only is not None:
        mutants = survivors_of(mutants, args.only, key)
    elif args.max and total > args.max:
        mutants = sorted(random.Random(f"{args.seed}:{key}").sample(mutants, args.max), key=lambda m: m.index)
    if args.list:
        for m in mutants:
            print(f"{key} #{m.index} line {m.line}: {m.kind}: {m.description}")
        return {"module": key, "total": total, "sampled": len(mutants)}
    work = Path(tempfile.mkdtemp(prefix=f"f2a-mutate-{key}-"))
    try:
        _copy_tree(source_root, work)
        target = work / relpath
        started = time.monotonic()
        outcome, base_seconds, last = _run_tests(work, tests, args.baseline_timeout, args.pytest_arg)
        if outcome != "survived":
            raise SystemExit(f"{key}: the unmutated tests do not pass ({outcome}: {last})")
        timeout = max(args.min_timeout, args.timeout_factor * base_seconds)
        print(f"[{key}] {len(mutants)}/{total} mutants; tests {tests} take {base_seconds:.0f} s unmutated; "
              f"timeout {timeout:.0f} s", flush=True)
        for n, m in enumerate(mutants, 1):
            target.write_text(m.source, encoding="utf-8")
            _drop_pyc(target)
            try:
                m.outcome, m.seconds, m.detail = _run_tests(work, tests, timeout, args.pytest_arg)
            finally:
                target.write_text(source, encoding="utf-8")
                _drop_pyc(target)
            print(f"[{key}] {n}/{len(mutants)} #{m.index} line {m.line} {m.kind}: {m.description}: "
                  f"{m.outcome} ({m.seconds:.0f} s)", flush=True)
        elapsed = time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counted = [m for m in mutants if m.outcome != "error"]
    killed = sum(m.outcome in ("killed", "timeout") for m in counted)
    return {
        "module": key,
        "file": relpath,
        "tests": tests,
        "total_mutants": total,
        "run": len(mutants),
        "killed": killed,
        "errors": len(mutants) - len(counted),
        "score": killed / len(counted) if counted else None,
        "seconds": round(elapsed, 1),
        "mutants": [{k: v for k, v in asdict(m).items() if k != "source"} for m in mutants],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=["all"], help=f"{', '.join(MODULES)} or all")
    parser.add_argument("--max", type=int, default=0, help="at most this many mutants per module (seeded sample)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--root", type=Path, default=ROOT, help="tree to mutate (default: this checkout)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--only", type=Path, default=None,
                        help="re-test only the survivors of the run in this JSON (same source; --max ignored)")
    parser.add_argument("--timeout-factor", type=float, default=3.0)
    parser.add_argument("--min-timeout", type=float, default=60.0)
    parser.add_argument("--baseline-timeout", type=float, default=900.0)
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed on to pytest")
    args = parser.parse_args(argv)
    if args.only is not None:
        try:
            args.only = json.loads(args.only.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            parser.error(f"--only {args.only}: not a readable JSON of a previous run ({exc})")
    keys = list(MODULES) if args.modules == ["all"] else args.modules
    unknown = [k for k in keys if k not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}")
    results = []
    for key in keys:
        results.append(mutate_module(key, args, args.root.resolve()))
        if args.json and not args.list:
            args.json.write_text(json.dumps({"root": str(args.root), "seed": args.seed, "results": results},
                                            indent=1))
    if args.list:
        return 0
    print(f"\n{'module':<12} {'killed':>7} {'run':>5} {'total':>6} {'score':>6}")
    for r in results:
        score = f"{100 * r['score']:.0f}%" if r["score"] is not None else "-"
        print(f"{r['module']:<12} {r['killed']:>7} {r['run'] - r['errors']:>5} {r['total_mutants']:>6} {score:>6}")
        for m in r["mutants"]:
            if m["outcome"] == "survived":
                print(f"    survived: line {m['line']} {m['kind']}: {m['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
