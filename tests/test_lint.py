"""The code stays ruff-clean and keeps its layering: CI fails on either, not a reviewer's memory."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it comes with the dev extra)")
    paths = ["f2a_studio", "trainer", "tests", "benchmarks", "tools"]
    done = subprocess.run([ruff, "check", "--no-cache", *paths], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_gui_imports_qt() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "f2a_studio").rglob("*.py")
        if "gui" not in p.relative_to(ROOT / "f2a_studio").parts[:1]
        and _imported_roots(p) & {"PySide6", "shiboken6", "qtawesome", "PyQt5", "PyQt6"}
    ]
    assert offenders == []


def test_core_imports_nothing_above_it() -> None:
    bad = []
    for path in (ROOT / "f2a_studio" / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for above in ("f2a_studio.detect", "f2a_studio.export", "f2a_studio.gui", "f2a_studio.preview",
                      "f2a_studio.synth", "f2a_studio.cli", "torch"):
            if f"import {above}" in text or f"from {above}" in text:
                bad.append(f"{path.name} imports {above}")
    assert bad == []
