"""Face detection: animeface in worker processes, tiles and scales merged by NMS, calibrated scores,
colours, 68 landmarks with visibility, head pose. See pipeline.py for the entry points."""

from f2a_studio.detect.pipeline import DetectOptions, detect_files, detect_images
from f2a_studio.detect.results import DetectReport, ImageResult

__all__ = ["DetectOptions", "DetectReport", "ImageResult", "detect_files", "detect_images"]
