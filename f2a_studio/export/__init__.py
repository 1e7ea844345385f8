"""Dataset export: curated, reproducible datasets from a project's faces.

    plan = plan_export(store, ExportOptions(format="pix2pix", size=256))   # filters, split, dry run
    print("\\n".join(plan.dry_run_lines()))
    result = run_export(plan, "out/")                                      # atomic, deterministic

Formats (one module each under formats/): pix2pix, cyclegan, coco, concat4. Shared pieces: align
(similarity crops), keypoints (the one keypoint drawing), masks (foreground), split, atomic, manifest.
"""

from f2a_studio.core.keypoints import aligned_keypoint_image, draw_keypoints
from f2a_studio.core.manifest import read_manifest, verify_export
from f2a_studio.export.errors import ExportCancelled, ExportError
from f2a_studio.export.filters import Exclusion, FaceFilter
from f2a_studio.export.formats import FORMATS, get_format
from f2a_studio.export.plan import ExportOptions, ExportPlan, PlannedFace, plan_export
from f2a_studio.export.runner import ExportResult, run_export

__all__ = [
    "FORMATS",
    "Exclusion",
    "ExportCancelled",
    "ExportError",
    "ExportOptions",
    "ExportPlan",
    "ExportResult",
    "FaceFilter",
    "PlannedFace",
    "aligned_keypoint_image",
    "draw_keypoints",
    "get_format",
    "plan_export",
    "read_manifest",
    "run_export",
    "verify_export",
]
