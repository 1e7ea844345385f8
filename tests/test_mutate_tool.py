"""tools/mutate.py, the mutation runner behind `make mutate`: it makes the mutants it says it makes, leaves
docstrings and annotations alone, and each mutant really differs from the source and compiles."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("mutate_tool", ROOT / "tools" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_tool"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


SOURCE = '''"""A docstring with 1 + 2."""


def f(a: int = 3, b: bool = True) -> int:
    """No mutants in here either: 5 < 6."""
    if a > 0 and b:
        log(a)
        return a + 1
    return None
'''


def test_mutants_of_a_small_function() -> None:
    tool = load_tool()
    mutants = tool.generate(SOURCE)
    found = {(m.line, m.kind, m.description) for m in mutants}
    assert found == {
        (4, "constant", "3 → 4"), (4, "constant", "True → False"),
        (6, "compare", "Gt → GtE"), (6, "constant", "0 → 1"), (6, "boolean", "And → Or"),
        (6, "condition", "condition negated"),
        (7, "statement", "`log(a)` deleted"),
        (8, "operator", "Add → Sub"), (8, "constant", "1 → 0"), (8, "return", "return None"),
    }
    for m in mutants:
        assert m.source != SOURCE
        ast.parse(m.source)
        assert m.source.splitlines()[0] == SOURCE.splitlines()[0]  # spliced: the rest of the file is untouched
    assert [m.index for m in mutants] == list(range(len(mutants)))


def test_every_mapped_module_and_test_file_exists() -> None:
    tool = load_tool()
    for key, (source, tests) in tool.MODULES.items():
        assert (ROOT / source).is_file(), key
        assert tests and all((ROOT / t).is_file() for t in tests), key


def _run_of(mutants, survived: set[int]) -> dict:
    return {"results": [{"module": "m", "mutants": [
        {"index": m.index, "line": m.line, "kind": m.kind, "description": m.description,
         "outcome": "survived" if m.index in survived else "killed"} for m in mutants]}]}


def test_only_re_tests_the_survivors_of_a_previous_run_and_refuses_a_changed_source() -> None:
    tool = load_tool()
    mutants = tool.generate(SOURCE)
    by_kind = {m.kind: m.index for m in mutants}
    previous = _run_of(mutants, {by_kind["statement"], by_kind["return"]})
    chosen = tool.survivors_of(mutants, previous, "m")
    # in source order: the deleted call on line 7, then the return on line 8
    assert [(m.line, m.description) for m in chosen] == [(7, "`log(a)` deleted"), (8, "return None")]
    assert all(m.source != SOURCE for m in chosen)  # the mutated module itself, ready to run
    changed = tool.generate(SOURCE.replace("log(a)\n", "log(a)\n        log(b)\n"))  # same numbers, other mutants
    with pytest.raises(SystemExit, match="is not in the source any more"):
        tool.survivors_of(changed, previous, "m")
    with pytest.raises(SystemExit, match="holds no run of this module"):
        tool.survivors_of(mutants, previous, "other")
