"""What runs inside a detection worker process: load the image, analyse it, return an ImageResult.

`init_worker` runs once per process (imports the plug-ins, loads the finders and the landmark backend),
so none of that counts against an image's time limit.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from f2a_studio.core.errors import F2AError, ImageError
from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer
from f2a_studio.detect.results import ImageResult

_analyzer: Analyzer | None = None


@dataclass(frozen=True)
class ImageTask:
    key: object  # project image id, or a file's index
    path: str
    stored_cut: bool  # True: a project cut (fast reader); False: any file a user named (full checks)
    display: str = ""  # what to call it in results (the path as the user gave it)
    domain: str = "anime"  # the image's domain (core.models.Domain value): it chooses finders and landmarks


def init_worker(options: AnalyzeOptions) -> None:
    """Once per worker: one thread per process (the pool is the parallelism), Ctrl-C left to the parent
    (which stops the run cleanly), and everything slow to load loaded now."""
    global _analyzer
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import sys

    import cv2

    cv2.setNumThreads(1)
    _analyzer = Analyzer(options)  # loads every finder (animeface's C extension fails here, not on an image)
    if "torch" in sys.modules:  # a torch landmark backend or finder: one thread, the pool is the parallelism
        import torch

        torch.set_num_threads(1)


def run_task(task: ImageTask) -> ImageResult:
    from f2a_studio.core.imageio import load_image, read_image

    start = time.perf_counter()
    name = task.display or task.path
    try:
        pixels = read_image(task.path) if task.stored_cut else load_image(task.path).pixels
    except ImageError as exc:
        return ImageResult(task.key, name, error=exc.reason, seconds=time.perf_counter() - start)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        from f2a_studio.core.imageio import flatten_alpha

        pixels = flatten_alpha(pixels)
    height, width = pixels.shape[:2]
    if _analyzer is None:
        raise F2AError("the detection worker was not initialised")
    analysis = _analyzer.analyze(pixels, domain=task.domain)
    return ImageResult(
        task.key, name, width, height, time.perf_counter() - start, tuple(analysis.faces),
        notes=tuple(analysis.notes), landmark_backend=analysis.landmark_backend,
        detector_colors=tuple(analysis.detector_colors), finders=analysis.finders,
    )
