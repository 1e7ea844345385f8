"""Guards on the installed environment: the traps named in DESIGN.md fail loudly here, not silently later."""

from __future__ import annotations

import importlib.metadata as md
import os

import cv2
import PIL


def test_pillow_is_the_pinned_version() -> None:
    # animeface silently finds no faces with Pillow >= 12 (DESIGN.md)
    major = int(PIL.__version__.split(".")[0])
    assert major < 12, f"Pillow {PIL.__version__} installed: animeface finds nothing with Pillow >= 12; pin 11.3.0"


def test_opencv_is_the_headless_wheel() -> None:
    installed = {d.metadata["Name"].lower() for d in md.distributions()}
    assert "opencv-python" not in installed, (
        "the non-headless opencv-python bundles its own Qt and clashes with PySide6"
    )
    assert "opencv-python-headless" in installed
    assert not os.path.isdir(os.path.join(os.path.dirname(cv2.__file__), "qt"))


def test_face_alignment_is_importable_without_downloads() -> None:
    # installed with --no-deps; its real needs come from pyproject.toml
    import face_alignment

    assert hasattr(face_alignment, "FaceAlignment")
