"""Moved to detect/finders/animeface.py (animeface is one finder among several); kept for old imports."""

from f2a_studio.detect.finders.animeface import PILLOW_MAX_MAJOR, backend_problem, detect_raw
from f2a_studio.detect.finders.base import FinderHit as RawFace

__all__ = ["PILLOW_MAX_MAJOR", "RawFace", "backend_problem", "detect_raw"]
