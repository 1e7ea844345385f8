"""Where models and their side files are looked for: one search path for every backend.

In order: for a cut of a title with models of its own, `checkpoints/titles/<title>/` (`f2a train-finder
--title`); the project's `checkpoints/` (models trained on this project's corrections win), `$F2A_MODELS`
(several folders joined by os.pathsep), `models/` of a source checkout, and the models shipped inside the
installed package. Folders that do not exist are left out, so a backend can simply try each in turn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # f2a_studio/
PACKAGE_MODELS = PACKAGE_ROOT / "resources" / "models"  # shipped with the wheel
CHECKOUT_MODELS = PACKAGE_ROOT.parent / "models"  # a source checkout's models/ (absent in a wheel install)


def title_models_dir(project: Path | str, title: str) -> Path:
    """Where `f2a train-finder --title T` writes that title's finder and verifier."""
    return Path(project) / "checkpoints" / "titles" / title


def model_search_path(project: Path | str | None = None, *, title: str | None = None,
                      existing_only: bool = True) -> list[Path]:
    """The folders to look for model files in, best first (see the module docstring); with ``title``, that
    title's own models (title_models_dir) come before the project's."""
    folders: list[Path] = []
    if project is not None:
        if title:
            folders.append(title_models_dir(project, title))
        folders.append(Path(project) / "checkpoints")
    env = os.environ.get("F2A_MODELS")
    if env:
        folders.extend(Path(p) for p in env.split(os.pathsep) if p)
    folders.extend([CHECKOUT_MODELS, PACKAGE_MODELS])
    unique = list(dict.fromkeys(folders))
    return [f for f in unique if f.is_dir()] if existing_only else unique


def find_model_file(name: str, search_path: Sequence[Path]) -> Path | None:
    """The first `name` (a file name, or a glob such as `2DFAN4*.pth*`) on the search path."""
    for folder in search_path:
        if any(c in name for c in "*?["):
            matches = sorted(p for p in Path(folder).glob(name) if p.is_file())
            if matches:
                return matches[0]
        elif (Path(folder) / name).is_file():
            return Path(folder) / name
    return None
