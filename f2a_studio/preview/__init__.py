"""Live translation preview: load a generator safely, pick the fastest runtime, render the newest request.

Qt-free (the studio's adapter is gui/panels/preview.py). Entry points: `Engine.load(path)` /
`Engine.from_module(module, spec)`, `Engine.render(PreviewRequest)`, and `LatestWinsWorker` to run renders
off the GUI thread with latest-request-wins.
"""

from f2a_studio.preview.engine import Engine, EngineOptions, LoadReport, PreviewRequest, PreviewResult
from f2a_studio.preview.errors import PreviewError, UnsafeCheckpointError
from f2a_studio.preview.spec import GeneratorKind, InputSpec, RuntimeInfo
from f2a_studio.preview.worker import LatestWinsWorker, WorkerStats

__all__ = [
    "Engine", "EngineOptions", "GeneratorKind", "InputSpec", "LatestWinsWorker", "LoadReport", "PreviewError",
    "PreviewRequest", "PreviewResult", "RuntimeInfo", "UnsafeCheckpointError", "WorkerStats",
]
