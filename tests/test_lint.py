"""The code stays ruff-clean and keeps its layering: CI fails on either, not a reviewer's memory."""

from __future__ import annotations

import ast
import os
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


def _imported_modules(path: Path) -> set[str]:
    """Full dotted names of absolute imports (`from a.b import c` gives a.b and a.b.c)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# The one exception: the landmark-error quality figure is defined as the studio's detector's error, so
# trainer/landmarker.py (and only it, lazily) loads the landmark backend registry.
TRAINER_REACHES_DETECT = {"trainer/landmarker.py": {"f2a_studio.detect.landmarks",
                                                    "f2a_studio.detect.landmarks.load_backend",
                                                    "f2a_studio.detect.landmarks.REGISTRY"}}


def test_trainer_imports_nothing_of_f2a_studio_but_core() -> None:
    bad = []
    for path in (ROOT / "trainer").rglob("*.py"):
        allowed = TRAINER_REACHES_DETECT.get(path.relative_to(ROOT).as_posix(), set())
        for name in _imported_modules(path):
            parts = name.split(".")
            if parts[0] == "f2a_studio" and (len(parts) < 2 or parts[1] != "core") and name not in allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert sorted(set(bad)) == []


def test_trainer_reaches_detect_only_lazily() -> None:
    """Importing the trainer (and its landmarker module) loads no detector: training never needs it."""
    code = ("import sys, trainer.cli, trainer.loop, trainer.quality, trainer.landmarker\n"
            "print(sorted(m for m in sys.modules if m.startswith('f2a_studio.detect')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_studio_reaches_preview_only_through_its_qt_adapter() -> None:
    adapter = ROOT / "f2a_studio" / "gui" / "panels" / "preview.py"
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "f2a_studio" / "gui").rglob("*.py")
        if path != adapter
        for name in _imported_modules(path)
        if name == "f2a_studio.preview" or name.startswith("f2a_studio.preview.")
    ]
    assert sorted(set(bad)) == []


def test_detect_and_preview_never_load_qt() -> None:
    """Not just no `import PySide6` in their files (test_only_gui_imports_qt): importing every module of
    detect and preview, in a fresh interpreter, loads no Qt binding through any dependency either."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("detect", "preview")
        for p in (ROOT / "f2a_studio" / package).rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6', "
        "'qtawesome'))\n"
        "print(','.join(qt))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
