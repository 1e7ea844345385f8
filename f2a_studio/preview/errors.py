"""Errors the preview raises on purpose; each names the file it is about."""

from __future__ import annotations

from f2a_studio.core.errors import F2AError


class PreviewError(F2AError):
    """A generator that cannot be loaded or run in the preview."""


class UnsafeCheckpointError(PreviewError):
    """A checkpoint that would run arbitrary code when unpickled: refused, never loaded."""

    def __init__(self, path: object, detail: str) -> None:
        self.path = str(path)
        super().__init__(
            f"{path}: refused: this checkpoint holds arbitrary Python objects (a full pickle), which could run "
            f"code when loaded. The preview reads only safetensors files or plain tensor state dicts "
            f"(torch.load weights_only=True). Re-save the weights with safetensors. ({detail})"
        )
