"""Face detection: animeface in worker processes, tiles and scales merged by NMS, calibrated scores,
colours, 68 landmarks with visibility, head pose. See pipeline.py for the entry points.

The names below are imported on first use, so `import f2a_studio.detect.pool` (what every worker does)
does not drag in cv2, scipy and the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from f2a_studio.detect.pipeline import DetectOptions, detect_files, detect_images
    from f2a_studio.detect.results import DetectReport, ImageResult

_EXPORTS = {
    "DetectOptions": "f2a_studio.detect.pipeline",
    "detect_files": "f2a_studio.detect.pipeline",
    "detect_images": "f2a_studio.detect.pipeline",
    "DetectReport": "f2a_studio.detect.results",
    "ImageResult": "f2a_studio.detect.results",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'f2a_studio.detect' has no attribute {name!r}")


__all__ = ["DetectOptions", "DetectReport", "ImageResult", "detect_files", "detect_images"]
